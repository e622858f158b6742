// Checks Idempotency-Key on PUT and DELETE /store/{key} end to end on a real 3-node cluster
// in this process (peers over TCP, N=3, LMDB): a retry through another node answers the
// first status, body and version with Idempotent-Replayed and writes nothing; 422 for the
// same key on another request; conditions replayed rather than re-judged; every malformed
// key and ?w= refused with 400 and nothing stored; a node restarted on its data still
// remembers; and the OpenAPI document names the header and the 409 and 422 answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster('idempotency', () => ({ corsOrigins: ['http://app.example'] }));
});

after(() => cluster.close());

function node(index: number): RunningNode {
  return cluster.nodes[index % cluster.nodes.length] as RunningNode;
}

type Answer = Awaited<ReturnType<RunningNode['app']['inject']>>;

function put(via: number, key: string, value: unknown, headers: Record<string, string | string[]> = {}, query = ''): Promise<Answer> {
  return node(via).app.inject({
    method: 'PUT',
    url: `/store/${encodeURIComponent(key)}${query}`,
    payload: JSON.stringify({ value }),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function del(via: number, key: string, headers: Record<string, string> = {}): Promise<Answer> {
  return node(via).app.inject({ method: 'DELETE', url: `/store/${encodeURIComponent(key)}`, headers });
}

async function current(via: number, key: string): Promise<Answer> {
  return node(via).app.inject({ method: 'GET', url: `/store/${encodeURIComponent(key)}?r=all` });
}

describe('Idempotency-Key', () => {
  it('answers a retry through any node with the first outcome, and writes nothing new', async () => {
    const first = await put(0, 'idem/a', { n: 1 }, { 'idempotency-key': 'order-1' }, '?ttl=3600');
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    for (const via of [1, 2, 0]) {
      const retry = await put(via, 'idem/a', { n: 1 }, { 'idempotency-key': 'order-1' }, '?ttl=3600');
      assert.equal(retry.statusCode, 200, retry.body);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.equal(retry.headers.etag, first.headers.etag);
      assert.deepEqual(retry.json(), first.json(), 'the same body: key, value, version, expiresAt');
    }
    const newer = await put(1, 'idem/a', 'overwritten');
    assert.equal(newer.statusCode, 200);
    const late = await put(2, 'idem/a', { n: 1 }, { 'idempotency-key': 'order-1' }, '?ttl=3600');
    assert.deepEqual([late.statusCode, late.headers.etag], [200, first.headers.etag]);
    assert.equal((await current(0, 'idem/a')).json().value, 'overwritten', 'the late retry wrote nothing');
  });

  it('refuses the same Idempotency-Key on a different request with 422, writing nothing', async () => {
    assert.equal((await put(0, 'idem/b', 1, { 'idempotency-key': 'k-b' })).statusCode, 200);
    for (const [answer, what] of [
      [await put(1, 'idem/b', 2, { 'idempotency-key': 'k-b' }), 'another value'],
      [await put(1, 'idem/b', 1, { 'idempotency-key': 'k-b' }, '?ttl=60'), 'a ttl'],
      [await del(2, 'idem/b', { 'idempotency-key': 'k-b' }), 'a delete'],
    ] as const) {
      assert.equal(answer.statusCode, 422, `${what}: ${answer.body}`);
      assert.match(answer.headers['content-type'] as string, /application\/problem\+json/);
      assert.match(answer.json().type, /idempotency-key-reused$/);
      assert.match(answer.json().detail, /different request/);
    }
    assert.equal((await current(0, 'idem/b')).json().value, 1);
    const elsewhere = await put(0, 'idem/other-key', 2, { 'idempotency-key': 'k-b' });
    assert.equal(elsewhere.statusCode, 200, 'an Idempotency-Key is scoped to the store key it is sent with');
    assert.equal(elsewhere.headers['idempotent-replayed'], undefined);
  });

  it('replays deletes and conditional writes instead of judging them again', async () => {
    const created = await put(0, 'idem/c', 'v1', { 'if-none-match': '*', 'idempotency-key': 'create-c' });
    assert.equal(created.statusCode, 200, created.body);
    const again = await put(1, 'idem/c', 'v1', { 'if-none-match': '*', 'idempotency-key': 'create-c' });
    assert.deepEqual([again.statusCode, again.headers.etag, again.headers['idempotent-replayed']], [200, created.headers.etag, 'true']);
    const withoutKey = await put(1, 'idem/c', 'v1', { 'if-none-match': '*' });
    assert.equal(withoutKey.statusCode, 412, 'without the key the same request is judged again');
    const deleted = await del(2, 'idem/c', { 'if-match': created.headers.etag as string, 'idempotency-key': 'del-c' });
    assert.equal(deleted.statusCode, 200, deleted.body);
    const retried = await del(0, 'idem/c', { 'if-match': created.headers.etag as string, 'idempotency-key': 'del-c' });
    assert.deepEqual([retried.statusCode, retried.json(), retried.headers['idempotent-replayed']], [200, deleted.json(), 'true']);
  });

  it('refuses a malformed Idempotency-Key, or one with ?w=, with 400 and stores nothing', async () => {
    for (const [headers, query, why] of [
      [{ 'idempotency-key': 'x'.repeat(256) }, '', /256 characters long/],
      [{ 'idempotency-key': 'has space' }, '', /visible ASCII/],
      [{ 'idempotency-key': 'caf\u00e9' }, '', /visible ASCII/],
      // Node joins a repeated header with ", ", which no key holds.
      [{ 'idempotency-key': ['one', 'two'] }, '', /visible ASCII/],
      [{ 'idempotency-key': 'fine' }, '?w=all', /drop \?w=/],
    ] as const) {
      const answer = await put(0, 'idem/bad', 1, headers as Record<string, string | string[]>, query);
      assert.equal(answer.statusCode, 400, answer.body);
      assert.match(answer.json().detail, why);
    }
    assert.equal((await put(0, 'idem/bad', 1, { 'idempotency-key': 'x'.repeat(255) })).statusCode, 200, '255 characters are taken');
    assert.equal((await current(1, 'idem/bad')).json().value, 1);
  });

  it('describes the header and the 409 and 422 answers in the OpenAPI document, and lets browsers send and read them', async () => {
    const spec = (await node(0).app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, unknown> }>>;
    };
    for (const method of ['put', 'delete']) {
      const operation = spec.paths['/store/{key}']?.[method];
      assert.ok(operation?.parameters?.some((parameter) => parameter.in === 'header' && parameter.name === 'idempotency-key'), `${method} names Idempotency-Key`);
      assert.ok(operation?.responses['409'] !== undefined && operation.responses['422'] !== undefined, `${method} lists 409 and 422`);
    }
    const preflight = await node(0).app.inject({
      method: 'OPTIONS',
      url: '/store/idem%2Fa',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'idempotency-key' },
    });
    assert.match(String(preflight.headers['access-control-allow-headers']), /Idempotency-Key/i);
    const answered = await put(0, 'idem/a', { n: 1 }, { 'idempotency-key': 'order-1', origin: 'http://app.example' }, '?ttl=3600');
    assert.match(String(answered.headers['access-control-expose-headers']), /Idempotent-Replayed/);
  });
});
