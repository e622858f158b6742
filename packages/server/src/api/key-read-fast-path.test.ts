// Checks the key-read fast path on a real 3-node cluster: over a socket a plain GET
// /store/{key} answers byte for byte what Fastify's route answers (inject() always takes
// the route), it never runs a Fastify route while anything else does, and it keeps
// pipelined requests in order, the load bound and the metrics, and a failure while answering
// cuts the connection, not the node.
import assert from 'node:assert/strict';
import { subscribe } from 'node:diagnostics_channel';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, type TestCluster } from './test-cluster.js';
import { pino } from 'pino';
import { UnavailableError, type ReadResult } from '@ringkv/core';
import { KeyReadFastPath, plainKeyRead, type AnswerObserver } from './key-read-fast-path.js';
import { LoadShedder } from './load-shedding.js';
import { ConnectionTurns } from './request-order.js';

let cluster: TestCluster;
let hooked = 0;

before(async () => {
  cluster = await startTestCluster('fast-read');
  const app = cluster.nodes[0]?.app;
  // Fastify announces every route handler it runs on this channel (all nodes share the process).
  subscribe('tracing:fastify.request.handler:start', () => hooked++);
  const put = (url: string, value: unknown) =>
    app?.inject({ method: 'PUT', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ value }) });
  await put('/store/plain', 'v'.repeat(100));
  await put('/store/users/42', { name: 'Zoë', tags: ['a', 'b'], nested: { deep: [1, 2.5, null, true] } });
  await put('/store/proto', JSON.parse('{"__proto__": {"polluted": 1}, "x": "\\u2028"}'));
  await put('/store/with-ttl?ttl=3600', 7);
  await put('/store/gone', 1);
  await app?.inject({ method: 'DELETE', url: '/store/gone' });
});

after(async () => {
  await cluster.close();
});

function url(path: string): string {
  return `${cluster.nodes[0]?.url}${path}`;
}

/** Status, headers (but the date) and body of an answer. */
function comparable(status: number, headers: Record<string, unknown>, body: string) {
  const kept = Object.fromEntries(
    Object.entries(headers)
      .map(([name, value]) => [name.toLowerCase(), String(value)])
      .filter(([name]) => !['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name as string))
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
  return { status, headers: kept, body };
}

describe('the key-read fast path', () => {
  it('tells a plain key read from everything else', () => {
    assert.deepEqual(plainKeyRead('GET', '/store/users/42'), { key: 'users/42', level: undefined });
    assert.deepEqual(plainKeyRead('GET', '/store/k?r=one'), { key: 'k', level: 'one' });
    assert.deepEqual(plainKeyRead('GET', '/store/k?r=2'), { key: 'k', level: '2' });
    for (const [method, path] of [
      ['HEAD', '/store/k'],
      ['PUT', '/store/k'],
      ['GET', '/store/'],
      ['GET', '/store/a%2Fb'],
      ['GET', '/store/a;b'],
      ['GET', '/store/k?r=serial'],
      ['GET', '/store/k?r=SERIAL'],
      ['GET', '/store/k?r=one&r=all'],
      ['GET', '/store/k?x=1'],
      ['GET', '/store/k?r='],
      ['GET', `/store/${'k'.repeat(1025)}`],
      ['GET', '/storefront'],
    ] as const) {
      assert.equal(plainKeyRead(method, path), undefined, `${method} ${path}`);
    }
  });

  it('answers exactly what the route answers', async () => {
    const app = cluster.nodes[0]?.app;
    for (const path of [
      '/store/plain',
      '/store/plain?r=one',
      '/store/plain?r=quorum',
      '/store/plain?r=ALL',
      '/store/plain?r=2',
      '/store/users/42?r=one',
      '/store/proto?r=one',
      '/store/with-ttl',
      '/store/gone?r=one',
      '/store/absent?r=one',
      '/store/plain?r=7',
      '/store/plain?r=most',
    ]) {
      const routed = await app?.inject({ method: 'GET', url: path });
      assert.ok(routed !== undefined);
      const fast = await fetch(url(path));
      const fastAnswer = comparable(fast.status, Object.fromEntries(fast.headers), await fast.text());
      assert.deepEqual(fastAnswer, comparable(routed.statusCode, routed.headers, routed.body), path);
    }
  });

  it('never runs a Fastify route for a plain read; an Origin, a serial read, a HEAD, an escaped key or a body do', async () => {
    const before = hooked;
    for (const path of ['/store/plain', '/store/users/42?r=one', '/store/absent?r=quorum']) await (await fetch(url(path))).text();
    assert.equal(hooked, before, 'plain reads took the fast path');
    await (await fetch(url('/store/plain'), { headers: { origin: 'http://elsewhere.example' } })).text();
    await (await fetch(url('/store/plain?r=serial'))).text();
    await (await fetch(url('/store/plain'), { method: 'HEAD' })).text();
    await (await fetch(url('/store/users%2F42'))).text();
    // fetch() sends no body with a GET; node:http does.
    await new Promise<void>((resolve, reject) => {
      const sent = request(url('/store/plain'), { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '2' } }, (answer) => answer.resume().on('end', resolve));
      sent.on('error', reject);
      sent.end('{}');
    });
    assert.equal(hooked, before + 5);
  });

  it('keeps pipelined requests in order around a fast read', async () => {
    const address = new URL(url('/')).host.split(':');
    const socket = connect(Number(address[1]), address[0]);
    await cluster.nodes[0]?.app.inject({ method: 'PUT', url: '/store/ordered', headers: { 'content-type': 'application/json' }, payload: '{"value":"first"}' });
    const body = JSON.stringify({ value: 'second' });
    // The first read takes the fast path with the turn; the PUT behind it must wait for
    // it, the routed read behind the PUT must see it, and so on down the line.
    const requests =
      'GET /store/ordered?r=one HTTP/1.1\r\nHost: x\r\n\r\n' +
      `PUT /store/ordered HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}` +
      'GET /store/ordered?r=one HTTP/1.1\r\nHost: x\r\n\r\n' +
      'DELETE /store/ordered HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /store/ordered?r=one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(requests);
    });
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    assert.deepEqual(statuses, [200, 200, 200, 200, 404]);
    const values = [...answer.matchAll(/"key":"ordered","value":"(\w+)"/g)].map((match) => match[1]);
    assert.deepEqual(values, ['first', 'second', 'second'], 'the first read, the PUT echo, the read after it');
  });

  it('counts its answers in the metrics as the route does', async () => {
    const metrics = async () => (await cluster.nodes[0]?.app.inject({ method: 'GET', url: '/metrics' }))?.body ?? '';
    const count = (text: string, status: number) =>
      Number(new RegExp(`ringkv_http_requests_total\\{method="GET",route="/store/:key",status="${status}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const before = await metrics();
    await (await fetch(url('/store/plain?r=one'))).text();
    await (await fetch(url('/store/absent?r=one'))).text();
    const afterReads = await metrics();
    assert.equal(count(afterReads, 200), count(before, 200) + 1);
    assert.equal(count(afterReads, 404), count(before, 404) + 1);
  });

  /** A fast path alone on a server of its own, over `read` and `observe`; the rest answers 404. */
  async function alonePath(read: () => Promise<ReadResult>, observe: AnswerObserver, ask: string) {
    const shedder = new LoadShedder();
    const fastPath = new KeyReadFastPath();
    fastPath.enable({
      api: { coordinator: { read } as never, replicas: 3, admitClients: () => true, maxValueBytes: 1024 },
      security: { tokens: () => undefined } as never,
      shedder,
      turns: new ConnectionTurns(),
      observe,
      log: pino({ level: 'silent' }),
    });
    const server = createServer((incoming, outgoing) => {
      if (!fastPath.serve(incoming, outgoing)) outgoing.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}${ask}`).then(
        async (response) => ({ status: response.status, text: await response.text() }),
        (error: unknown) => ({ status: 0, text: `cut: ${String(error)}` }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { answer, inflight: shedder.inflightRequests() };
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('survives a failure while answering: the connection is cut, the node and its load bound are not', async () => {
    const record = { value: 'v', hlc: 1024, nodeId: 'n1', tombstone: false };
    // A fault injected where the answer's bookkeeping runs.
    const { answer, inflight } = await alonePath(
      async () => ({ record, replies: 1 }),
      () => {
        throw new Error('injected');
      },
      '/store/k?r=one',
    );
    assert.ok(answer.text.includes('"value":"v"') || answer.status === 0, answer.text);
    assert.equal(inflight, 0, 'its place in the load bound was given back');
  });

  it('answers a read refused at once (too few replicas up) with its problem, as the route does', async () => {
    // Coordinator.read refuses such a read before asking anyone, as a rejection.
    const refused = () => Promise.reject(new UnavailableError('the read needs 2 of the key\'s replicas [n1, n2, n3] but n2 and n3 are down; nothing was read', 2, []));
    const { answer, inflight } = await alonePath(refused, () => undefined, '/store/k?r=quorum');
    assert.equal(answer.status, 503);
    assert.equal((JSON.parse(answer.text) as { type: string }).type, 'urn:ringkv:problem:unavailable');
    assert.equal(inflight, 0);
  });
});
