// Checks expiring keys (?ttl=) end to end on a real 3-node cluster in this process (peers
// over TCP, N=3): the expiry in every answer, a key that reads as absent at every
// consistency level and leaves /keys once its ttl passes (waiting out a real 1 s ttl),
// conditions that see it as gone, a later write without ttl making a key permanent, ttls in
// batches, and every bad ttl refused with 400 and nothing stored.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ttlSecondsMax } from '@ringkv/core';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster('ttl');
});

after(() => cluster.close());

function node(index: number): RunningNode {
  return cluster.nodes[index % cluster.nodes.length] as RunningNode;
}

type Answer = Awaited<ReturnType<RunningNode['app']['inject']>>;

function put(via: number, key: string, value: unknown, query = '', headers: Record<string, string> = {}): Promise<Answer> {
  return node(via).app.inject({
    method: 'PUT',
    url: `/store/${encodeURIComponent(key)}${query}`,
    payload: JSON.stringify({ value }),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function get(via: number, key: string, r: string): Promise<Answer> {
  return node(via).app.inject({ method: 'GET', url: `/store/${encodeURIComponent(key)}?r=${r}` });
}

async function listed(via: number, prefix: string): Promise<string[]> {
  const answer = await node(via).app.inject({ method: 'GET', url: `/keys?prefix=${encodeURIComponent(prefix)}` });
  assert.equal(answer.statusCode, 200, answer.body);
  return (answer.json() as { keys: string[] }).keys;
}

function expiresAtOf(answer: Answer): string | undefined {
  assert.equal(answer.statusCode, 200, answer.body);
  return (answer.json() as { expiresAt?: string }).expiresAt;
}

/** Asserts `expiresAt` is RFC 3339 UTC about `seconds` from now. */
function assertExpiresIn(expiresAt: string | undefined, seconds: number): void {
  assert.ok(expiresAt !== undefined, 'the answer carries expiresAt');
  assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const inMs = Date.parse(expiresAt) - Date.now();
  assert.ok(inMs > (seconds - 5) * 1000 && inMs <= seconds * 1000, `expires in ${inMs} ms, expected about ${seconds} s`);
}

describe('expiring keys (?ttl=)', () => {
  it('tells the expiry in the PUT answer, on every read and on every replica', async () => {
    assertExpiresIn(expiresAtOf(await put(0, 'ttl/long', { a: 1 }, '?ttl=3600')), 3600);
    for (const r of ['one', 'quorum', 'all', 'serial']) assertExpiresIn(expiresAtOf(await get(1, 'ttl/long', r)), 3600);
    const replicas = await node(2).app.inject({ method: 'GET', url: `/cluster/replicas/${encodeURIComponent('ttl/long')}` });
    const copies = (replicas.json() as { replicas: Array<{ expiresAt?: string; tombstone: boolean; value?: unknown }> }).replicas;
    assert.equal(copies.length, 3);
    for (const copy of copies) {
      assertExpiresIn(copy.expiresAt, 3600);
      assert.deepEqual([copy.tombstone, copy.value], [false, { a: 1 }]);
    }
    assert.equal(expiresAtOf(await put(0, 'ttl/none', 1)), undefined, 'a permanent key has no expiresAt');
    assert.equal(expiresAtOf(await get(0, 'ttl/none', 'all')), undefined);
  });

  it('answers 404 at every level, lists nothing and lets conditions see the key gone once the ttl has passed', async () => {
    const version = (JSON.parse((await put(0, 'ttl/short', 'soon gone', '?ttl=1')).body) as { version: string }).version;
    const renewed = (await put(1, 'ttl/renewed', 'first', '?ttl=1')).statusCode;
    assert.equal(renewed, 200);
    assert.equal((await put(2, 'ttl/renewed', 'kept')).statusCode, 200, 'a later write without ttl');
    assert.equal((await put(0, 'ttl/created', 'v1', '?ttl=1')).statusCode, 200);
    assert.equal((await get(1, 'ttl/short', 'all')).statusCode, 200, 'readable before it expires');
    assert.ok((await listed(2, 'ttl/short')).includes('ttl/short'));
    await sleep(1300);
    for (let via = 0; via < 3; via++) {
      for (const r of ['one', 'quorum', 'all', 'serial']) {
        const answer = await get(via, 'ttl/short', r);
        assert.equal(answer.statusCode, 404, `r=${r} via n${via + 1}: ${answer.body}`);
        assert.match(answer.headers['content-type'] as string, /application\/problem\+json/);
        assert.match((answer.json() as { detail: string }).detail, /ttl has passed/);
      }
      assert.deepEqual(await listed(via, 'ttl/short'), [], `/keys on n${via + 1} does not list the expired key`);
    }
    const replicas = await node(0).app.inject({ method: 'GET', url: `/cluster/replicas/${encodeURIComponent('ttl/short')}` });
    for (const copy of (replicas.json() as { replicas: Array<{ expired?: boolean; tombstone: boolean; value?: unknown; version: string }> }).replicas) {
      assert.deepEqual([copy.expired, copy.tombstone, copy.value, copy.version], [true, true, undefined, version], 'each replica still holds the version, expired');
    }
    const stale = await put(1, 'ttl/short', 'again', '', { 'if-match': `"${version}"` });
    assert.equal(stale.statusCode, 412, stale.body);
    assert.deepEqual([stale.json().currentVersion, stale.json().deleted, stale.json().expired], [version, true, true]);
    const created = await put(2, 'ttl/created', 'v2', '?ttl=3600', { 'if-none-match': '*' });
    assert.equal(created.statusCode, 200, `If-None-Match: * creates over an expired key: ${created.body}`);
    assertExpiresIn(expiresAtOf(created), 3600);
    const kept = await get(0, 'ttl/renewed', 'all');
    assert.equal(kept.statusCode, 200, 'the write without ttl made the key permanent');
    assert.deepEqual(kept.json(), { key: 'ttl/renewed', value: 'kept', version: (kept.json() as { version: string }).version });
  });

  it('takes a ttl on batch puts and refuses one on a delete or out of range, naming the op', async () => {
    const batch = (ops: unknown[]) => node(1).app.inject({ method: 'POST', url: '/batch', payload: JSON.stringify({ ops }), headers: { 'content-type': 'application/json' } });
    const answer = await batch([
      { op: 'put', key: 'ttl/batch', value: 7, ttl: 600 },
      { op: 'get', key: 'ttl/batch' },
    ]);
    assert.equal(answer.statusCode, 200, answer.body);
    const results = (answer.json() as { results: Array<{ status: number; body: { expiresAt?: string } }> }).results;
    assertExpiresIn(results[0]?.body.expiresAt, 600);
    assertExpiresIn(results[1]?.body.expiresAt, 600);
    for (const [op, why] of [
      [{ op: 'delete', key: 'ttl/batch-bad', ttl: 5 }, /a delete takes no ttl/],
      [{ op: 'put', key: 'ttl/batch-bad', value: 1, ttl: 0 }, /ttl 0 is not a whole number of seconds/],
      [{ op: 'put', key: 'ttl/batch-bad', value: 1, ttl: 2.5 }, /ttl 2\.5/],
      [{ op: 'get', key: 'ttl/batch-bad', ttl: 5 }, /a get takes no ttl/],
    ] as const) {
      const refused = await batch([{ op: 'put', key: 'ttl/batch-first', value: 1 }, op]);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().opIndex, 1);
      assert.match(refused.json().detail, why);
    }
    assert.equal((await get(0, 'ttl/batch-first', 'all')).statusCode, 404, 'a refused batch stored nothing');
  });

  it('refuses a ttl that is not a whole number of seconds in range, storing nothing', async () => {
    for (const ttl of ['0', '-1', '1.5', 'abc', '', String(ttlSecondsMax + 1), '1e3', '99999999999']) {
      const answer = await put(0, 'ttl/bad', 1, `?ttl=${encodeURIComponent(ttl)}`);
      assert.equal(answer.statusCode, 400, `ttl=${ttl}: ${answer.body}`);
      assert.match(answer.headers['content-type'] as string, /application\/problem\+json/);
      assert.match((answer.json() as { detail: string }).detail, /whole number of seconds from 1 to 630720000/);
    }
    assert.equal((await put(0, 'ttl/max', 1, `?ttl=${ttlSecondsMax}`)).statusCode, 200, 'the largest ttl is taken');
    const onDelete = await node(0).app.inject({ method: 'DELETE', url: '/store/ttl%2Fmax?ttl=5' });
    assert.equal(onDelete.statusCode, 400, onDelete.body);
    assert.equal((await get(1, 'ttl/bad', 'all')).statusCode, 404, 'nothing was stored');
    assert.equal((await get(1, 'ttl/max', 'all')).statusCode, 200, 'the refused delete deleted nothing');
  });
});
