// Pins each HTTP-edge defect of issue 9 (nesting depth, the exact body limit, __proto__,
// pipelined ordering, timeouts, connection and header limits, the rate limit, problem+json
// for Node's own refusals) on real nodes, through inject() and through raw loopback sockets.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { configProblems, nodeConfigDefaults, type NodeConfig } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { jsonDepthExceeds } from './json-depth.js';
import { rawProblemResponse, upgradeRefusedProblem } from './problems.js';

const started: Array<{ running: RunningNode; dataDir: string }> = [];

async function nodeWith(overrides: Partial<NodeConfig>): Promise<RunningNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringkv-edge-'));
  const running = await startNode(
    { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir, clusterSecret: 'edge-test-secret', ...overrides },
    pino({ level: 'silent' }),
  );
  started.push({ running, dataDir });
  return running;
}

after(async () => {
  for (const { running, dataDir } of started) {
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

function portOf(running: RunningNode): number {
  return (running.app.server.address() as AddressInfo).port;
}

/** Writes `bytes` in one write and collects everything until the server closes, or `waitMs` passes. */
function exchange(port: number, bytes: string, waitMs = 3000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByServer: false });
    }, waitMs);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
  });
}

/** The status and parsed problem of a raw HTTP answer, checking it is problem+json. */
function rawProblem(text: string): { status: number; type: string; detail: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  assert.match(head, /content-type: application\/problem\+json/i, text);
  const problem = JSON.parse(body) as { status: number; type: string; detail: string };
  assert.equal(problem.status, status);
  assert.ok(problem.type.startsWith('urn:ringkv:problem:'), problem.type);
  return problem;
}

function nested(depth: number, inner = '1'): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth);
}

async function keysOf(running: RunningNode): Promise<string[]> {
  return ((await running.app.inject({ method: 'GET', url: '/keys' })).json() as { keys: string[] }).keys;
}

describe('JSON nesting depth', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({ jsonDepthMax: 100 })));
  const put = (key: string, payload: string) => running.app.inject({ method: 'PUT', url: `/store/${key}`, payload, headers: { 'content-type': 'application/json' } });

  it('counts brackets outside strings only, without recursion', () => {
    assert.equal(jsonDepthExceeds(nested(3), 3), false);
    assert.equal(jsonDepthExceeds(nested(4), 3), true);
    assert.equal(jsonDepthExceeds(`{"a":"${'['.repeat(50)}\\"${'{'.repeat(50)}"}`, 3), false);
    assert.equal(jsonDepthExceeds(nested(1_000_000), 100), true, 'a million levels cannot overflow the scan');
  });

  it('agrees with the depth of the parsed value on any JSON, strings full of brackets, quotes and backslashes included', () => {
    const depthOf = (value: unknown): number =>
      value !== null && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf)) : 0;
    const text = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ') });
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(text, tie('value'), { maxKeys: 3 })),
    })).value;
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 6 }), (value, depthMax) => {
        const body = JSON.stringify(value);
        assert.equal(jsonDepthExceeds(body, depthMax), depthOf(value) > depthMax, body);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a value nested 3,000 deep with 400 before any replica sees it', async () => {
    const response = await put('deep', `{"value":${nested(3000)}}`);
    assert.equal(response.statusCode, 400, response.body);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    assert.match(response.json<{ detail: string }>().detail, /100 levels.*--json-depth-max/);
    assert.deepEqual(await keysOf(running), []);
  });

  it('accepts exactly the limit (the envelope is one level) and refuses one more', async () => {
    assert.equal((await put('at-limit', `{"value":${nested(99)}}`)).statusCode, 200);
    assert.equal((await put('over-limit', `{"value":${nested(100)}}`)).statusCode, 400);
    assert.equal((await put('in-string', JSON.stringify({ value: '['.repeat(5000) }))).statusCode, 200);
    assert.deepEqual((await keysOf(running)).sort(), ['at-limit', 'in-string']);
  });
});

describe('body limit', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({ maxValueBytes: 1000 })));

  it('accepts a body of exactly --max-value-bytes and refuses one byte more with 413', async () => {
    const bodyOf = (bytes: number) => `{"value":"${'x'.repeat(bytes - 12)}"}`;
    assert.equal(bodyOf(1000).length, 1000);
    const atLimit = await running.app.inject({ method: 'PUT', url: '/store/fits', payload: bodyOf(1000), headers: { 'content-type': 'application/json' } });
    assert.equal(atLimit.statusCode, 200, atLimit.body);
    const over = await running.app.inject({ method: 'PUT', url: '/store/too-big', payload: bodyOf(1001), headers: { 'content-type': 'application/json' } });
    assert.equal(over.statusCode, 413, over.body);
    assert.match(over.json<{ detail: string }>().detail, /limit of 1000 bytes.*--max-value-bytes/);
    assert.deepEqual(await keysOf(running), ['fits']);
  });
});

describe('__proto__ and constructor keys', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({})));

  it('stores them as plain data, round-trips them and pollutes no prototype', async () => {
    const text = '{"value":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"a":[{"__proto__":1}]}}';
    const put = await running.app.inject({ method: 'PUT', url: '/store/proto', payload: text, headers: { 'content-type': 'application/json' } });
    assert.equal(put.statusCode, 200, put.body);
    const read = await running.app.inject({ method: 'GET', url: '/store/proto' });
    assert.equal(read.statusCode, 200);
    // Compared as text: JSON.parse makes "__proto__" an own key, which deepEqual would see too.
    assert.equal(JSON.stringify((JSON.parse(read.body) as { value: unknown }).value), JSON.stringify((JSON.parse(text) as { value: unknown }).value));
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });
});

describe('pipelined requests on one connection', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({})));

  it('take effect in the order sent: PUT then DELETE leaves no key (20 trials)', async () => {
    const port = portOf(running);
    for (let trial = 0; trial < 20; trial++) {
      const key = `pipelined-${trial}`;
      const body = JSON.stringify({ value: 'x'.repeat(trial * 500) });
      const putRequest = `PUT /store/${key} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const deleteRequest = `DELETE /store/${key} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;
      const { text } = await exchange(port, putRequest + deleteRequest);
      assert.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 2, text);
      const read = await running.app.inject({ method: 'GET', url: `/store/${key}` });
      assert.equal(read.statusCode, 404, `trial ${trial}: the key survived its DELETE`);
    }
  });
});

describe('timeouts, connection and header limits', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({ httpHeadersTimeoutMs: 200, httpRequestTimeoutMs: 400, httpConnectionsMax: 3, httpHeaderBytesMax: 2048 })));

  it('cuts off a stalled body with 408 problem+json and stores nothing', async () => {
    const startedMs = Date.now();
    const stalled = 'PUT /store/stalled HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"value":"';
    const { text, closedByServer } = await exchange(portOf(running), stalled, 5000);
    assert.ok(closedByServer, 'the node closes the connection');
    assert.ok(Date.now() - startedMs < 2500, `cut after ${Date.now() - startedMs} ms`);
    assert.equal(rawProblem(text).status, 408);
    assert.deepEqual(await keysOf(running), []);
  });

  it('answers headers over --http-header-bytes-max with 431 problem+json', async () => {
    const { text } = await exchange(portOf(running), `GET /status HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(3000)}\r\n\r\n`);
    const problem = rawProblem(text);
    assert.equal(problem.status, 431);
    assert.match(problem.detail, /2048 bytes.*--http-header-bytes-max/);
  });

  it('answers bytes that are not HTTP with 400 problem+json', async () => {
    const { text } = await exchange(portOf(running), 'HELLO\r\n\r\n');
    assert.equal(rawProblem(text).status, 400);
  });

  it('closes connections beyond --http-connections-max at once, and accepts again once one ends', async () => {
    const port = portOf(running);
    const open: Socket[] = [];
    try {
      for (let index = 0; index < 3; index++) {
        const socket = connect(port, '127.0.0.1');
        open.push(socket);
        // A request answered on each proves the node has accepted it.
        const answered = new Promise((resolve) => socket.once('data', resolve));
        socket.write('GET /health HTTP/1.1\r\nHost: t\r\n\r\n');
        await answered;
      }
      const extra = await exchange(port, 'GET /health HTTP/1.1\r\nHost: t\r\n\r\n', 2000);
      assert.ok(extra.closedByServer, 'the extra connection is closed');
      assert.equal(extra.text, '', 'and gets no answer');
    } finally {
      for (const socket of open) socket.destroy();
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const again = await exchange(port, 'GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n', 2000);
      if (again.text.startsWith('HTTP/1.1 200')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail('the node did not accept connections again');
  });
});

describe('problem+json for errors Fastify and Node answer themselves', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({})));

  it('answers bad percent-encoding in the path with 400 problem+json', async () => {
    const { text } = await exchange(portOf(running), 'GET /store/%E0%A4%A HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    const problem = rawProblem(text);
    assert.equal(problem.status, 400);
    assert.match(problem.detail, /percent-encoding.*encodeURIComponent/);
  });

  it('serves a plain request that merely carries an Upgrade header', async () => {
    const { text } = await exchange(portOf(running), 'GET /health HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 200/);
  });

  it('answers an upgrade to anything but the peer protocol with 400 problem+json', async () => {
    const { text } = await exchange(portOf(running), 'GET /status HTTP/1.1\r\nHost: t\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n');
    // Refused by the peer server (packages/server/src/transport/peer-server.ts), which owns every upgrade.
    assert.match(text, /^HTTP\/1\.1 400[^]*content-type: application\/problem\+json/i);
    // The refusal the peer server may send for a consistent problem type.
    assert.equal(rawProblem(rawProblemResponse(upgradeRefusedProblem('h2c', '/status'))).status, 400);
  });
});

describe('rate limit', () => {
  let running: RunningNode;
  before(async () => (running = await nodeWith({ rateLimitPerMinute: 3 })));

  it('answers a caller over its budget with 429 problem+json and Retry-After; probes are exempt', async () => {
    for (let index = 0; index < 3; index++) assert.equal((await running.app.inject({ method: 'GET', url: '/status' })).statusCode, 200);
    const refused = await running.app.inject({ method: 'GET', url: '/status' });
    assert.equal(refused.statusCode, 429, refused.body);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    assert.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After in seconds');
    assert.match(refused.json<{ detail: string }>().detail, /3 requests a minute.*--rate-limit-per-minute/);
    const write = await running.app.inject({ method: 'PUT', url: '/store/limited', payload: '{"value":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(write.statusCode, 429, 'a refused write stores nothing');
    assert.equal((await running.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    assert.equal((await running.node.coordinator.read('limited', 1)).record, undefined);
  });
});

describe('HTTP limit flags', () => {
  it('refuses limits out of range, naming the flag', () => {
    const base: NodeConfig = { ...nodeConfigDefaults, id: 'n1', dataDir: 'data' };
    const ownFlags = /--json-depth-max|--http-|--rate-limit-per-minute/;
    assert.deepEqual(configProblems(base).filter((problem) => ownFlags.test(problem)), []);
    const problems = configProblems({ ...base, jsonDepthMax: 1, httpHeadersTimeoutMs: 5000, httpRequestTimeoutMs: 1000, httpConnectionsMax: 0, httpHeaderBytesMax: 10, rateLimitPerMinute: -1 });
    for (const flag of ['--json-depth-max', '--http-headers-timeout-ms must not exceed', '--http-connections-max', '--http-header-bytes-max', '--rate-limit-per-minute']) {
      assert.ok(problems.some((problem) => problem.includes(flag)), `${flag} in ${problems.join('; ')}`);
    }
  });
});
