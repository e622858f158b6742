// Drives one real node's API through inject() (no socket) for every bad-input case, and
// checks each answer is problem+json that names the fix and that nothing was stored.
// The last test writes garbage to the node's real socket and checks it keeps serving.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { pino } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let running: RunningNode;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringkv-api-'));
  running = await startNode(
    { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir, maxValueBytes: 1000 },
    pino({ level: 'silent' }),
  );
});

after(async () => {
  await running.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function put(url: string, payload: string, contentType = 'application/json') {
  return running.app.inject({ method: 'PUT', url, payload, headers: { 'content-type': contentType } });
}

async function assertProblem(response: Awaited<ReturnType<typeof put>>, status: number, detailPattern: RegExp) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json() as { type: string; title: string; status: number; detail: string };
  assert.equal(body.status, status);
  assert.ok(body.type.startsWith('urn:ringkv:problem:'));
  assert.ok(body.title.length > 0);
  assert.match(body.detail, detailPattern);
  assert.doesNotMatch(response.body, /at .*\.js:\d+/, 'no stack traces');
}

async function assertNothingStored() {
  const keys = await running.app.inject({ method: 'GET', url: '/keys' });
  assert.deepEqual(keys.json(), { keys: [], nextCursor: null });
}

describe('API bad input', () => {
  it('refuses malformed JSON with 400', async () => {
    await assertProblem(await put('/store/k', '{"value": '), 400, /not valid JSON|JSON/);
    await assertNothingStored();
  });

  it('refuses a body without value, or with unknown fields, with 400', async () => {
    await assertProblem(await put('/store/k', '{"val": 1}'), 400, /value/);
    await assertProblem(await put('/store/k', '{"value": 1, "ttl": 5}'), 400, /additional|value/);
    await assertProblem(await put('/store/k', '[1,2]'), 400, /value/);
    await assertProblem(await put('/store/k', ''), 400, /empty|value/);
    await assertNothingStored();
  });

  it("advises each route's own body after a bad one, not a key's", async () => {
    await assertProblem(await put('/store/k', '{"val": 1}'), 400, /; send \{"value": <any JSON>\}$/);
    const pace = /; send \{"transferMbPerSecond"\?: <number 0\.\.100000>, "backgroundShareMin"\?: <number 0\.01\.\.1>\}$/;
    await assertProblem(await put('/jobs/pace', '{"value": 1}'), 400, pace);
    await assertProblem(await put('/jobs/pace', '{"backgroundShareMin": '), 400, pace);
    await assertProblem(await put('/jobs/pace', ''), 400, pace);
    const join = await running.app.inject({ method: 'POST', url: '/cluster/join', payload: '{"oops', headers: { 'content-type': 'application/json' } });
    await assertProblem(join, 400, /; this request takes no body$/);
    const empty = await running.app.inject({ method: 'POST', url: '/cluster/join', headers: { 'content-type': 'application/json' } });
    await assertProblem(empty, 400, /^the body is empty; this request takes no body: send it without Content-Type: application\/json$/);
    await assertNothingStored();
  });

  it('refuses a key over 1024 bytes with 414, and an empty key with 400', async () => {
    const longKey = 'é'.repeat(513); // 1026 UTF-8 bytes
    await assertProblem(await put(`/store/${encodeURIComponent(longKey)}`, '{"value": 1}'), 414, /1026 UTF-8 bytes.*1024/);
    const get = await running.app.inject({ method: 'GET', url: `/store/${'k'.repeat(1025)}` });
    await assertProblem(get, 414, /1024/);
    await assertProblem(await put('/store/', '{"value": 1}'), 400, /empty/);
    await assertNothingStored();
  });

  it('refuses a body over the value limit with 413 naming the limit and the flag', async () => {
    const response = await put('/store/big', JSON.stringify({ value: 'x'.repeat(2000) }));
    await assertProblem(response, 413, /1000 bytes.*--max-value-bytes/);
    await assertNothingStored();
  });

  it('refuses unknown consistency levels and counts above N with 400', async () => {
    await assertProblem(await put('/store/k?w=most', '{"value": 1}'), 400, /unknown consistency level.*one, quorum, all/);
    await assertProblem(await put('/store/k?w=2', '{"value": 1}'), 400, /from 1 to 1/);
    await assertProblem(await running.app.inject({ method: 'GET', url: '/store/k?r=0' }), 400, /from 1 to 1/);
    await assertProblem(await running.app.inject({ method: 'DELETE', url: '/store/k?w=all-of-them' }), 400, /consistency/);
    await assertNothingStored();
  });

  it('refuses a body that is not JSON with 415', async () => {
    await assertProblem(await put('/store/k', '{"value": 1}', 'text/plain'), 415, /application\/json/);
    await assertProblem(await put('/store/k', 'value=1', 'application/x-www-form-urlencoded'), 415, /application\/json/);
    await assertNothingStored();
  });

  it('answers unknown routes and bad cursors with problems', async () => {
    await assertProblem(await running.app.inject({ method: 'GET', url: '/nowhere' }), 404, /\/docs/);
    await assertProblem(await running.app.inject({ method: 'POST', url: '/store/k' }), 404, /POST/);
    await assertProblem(await running.app.inject({ method: 'GET', url: '/keys?cursor=garbage' }), 400, /cursor/);
    await assertProblem(await running.app.inject({ method: 'GET', url: '/keys?limit=0' }), 400, /limit/);
  });

  it('answers 404 for an absent key and stores valid writes', async () => {
    await assertProblem(await running.app.inject({ method: 'GET', url: '/store/absent' }), 404, /does not exist/);
    const ok = await put('/store/a%2Fb', JSON.stringify({ value: { nested: [1, null, 'x'] } }));
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['x-ringkv-acks'], '1');
    const body = ok.json() as { version: string };
    assert.equal(ok.headers.etag, `"${body.version}"`);
    const read = await running.app.inject({ method: 'GET', url: '/store/a%2Fb' });
    assert.deepEqual(read.json(), { key: 'a/b', value: { nested: [1, null, 'x'] }, version: body.version });
    const deleted = await running.app.inject({ method: 'DELETE', url: '/store/a%2Fb' });
    assert.equal(deleted.statusCode, 200);
    await assertProblem(await running.app.inject({ method: 'GET', url: '/store/a%2Fb' }), 404, /deleted/);
  });

  it('documents every route in OpenAPI 3', async () => {
    const spec = (await running.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    assert.match(spec.openapi, /^3\./);
    for (const path of ['/store/{key}', '/status', '/keys', '/node-info', '/cluster', '/cluster/owners/{key}', '/metrics', '/health']) {
      assert.ok(spec.paths[path], `${path} is documented`);
    }
    assert.ok(spec.paths['/store/{key}']?.put?.responses['413'], 'error responses are documented');
    const docs = await running.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });

  it('keeps serving after garbage on its HTTP socket and on the peer stream', async () => {
    const port = (running.app.server.address() as import('node:net').AddressInfo).port;
    const send = (bytes: string | Buffer) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('close', () => resolve(answer));
        socket.on('error', () => resolve(answer));
      });
    await send(Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]));
    await send('GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n');
    // A peer upgrade without authentication, then junk frames.
    await send('GET /peer/v1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ringkv-peer\r\nX-Ringkv-Nonce: ab\r\n\r\n\u0000\u0000\u0000\u0005junk!');
    await send('GET /peer/v1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ringkv-peer\r\nX-Ringkv-Nonce: ab\r\n\r\n\u00ff\u00ff\u00ff\u00ff');
    const status = await fetch(`http://127.0.0.1:${port}/status`);
    assert.equal(status.status, 200);
  });
});
