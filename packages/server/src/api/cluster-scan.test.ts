// Checks hierarchical keys and the cluster-wide listings on a real 3-node cluster in this
// process (peers over TCP, N=3), driven with inject(): keys with unescaped slashes through
// any node and their %2F spelling, the replicas view at /cluster/replicas/{key},
// /cluster/keys paging over 2,500 keys (each once, in order, deleted and expired ones
// absent) through alternating nodes, values=true, bad input, /admin/records with
// tombstones, and the listing again with one node stopped.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { compareUtf8 } from '@ringkv/core';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster('cluster-scan');
});

after(() => cluster.close());

function node(index: number): RunningNode {
  return cluster.nodes[index % cluster.nodes.length] as RunningNode;
}

type Answer = Awaited<ReturnType<RunningNode['app']['inject']>>;

function put(via: number, path: string, value: unknown, query = '?w=all'): Promise<Answer> {
  return node(via).app.inject({ method: 'PUT', url: `/store/${path}${query}`, payload: JSON.stringify({ value }), headers: { 'content-type': 'application/json' } });
}

function get(via: number, url: string): Promise<Answer> {
  return node(via).app.inject({ method: 'GET', url });
}

function ok<T>(answer: Answer): T {
  assert.equal(answer.statusCode, 200, answer.body);
  return answer.json() as T;
}

interface KeysPage {
  keys: string[];
  nextCursor: string | null;
  items?: Array<{ key: string; value: unknown; version: string; expiresAt?: string }>;
}

interface RecordsPage {
  records: Array<{ key: string; version: string; tombstone: boolean; value?: unknown; expiresAt?: string; hlc: number; nodeId: string }>;
  nextCursor: string | null;
}

/** Every page of `route` under `prefix`, each asked of the next node in turn: a cursor is good on any node. */
async function allPages<P extends { nextCursor: string | null }>(route: string, prefix: string, limit: number, pagesMax: number): Promise<P[]> {
  const pages: P[] = [];
  let cursor: string | null = null;
  for (let via = 0; via < pagesMax; via++) {
    const query: string = `prefix=${encodeURIComponent(prefix)}&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`;
    const page: P = ok<P>(await get(via, `${route}?${query}`));
    pages.push(page);
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
  }
  assert.fail(`${route} did not end within ${pagesMax} pages`);
}

/** Runs `work` over `items`, `inFlight` at a time. */
async function eachLimited<T>(items: readonly T[], inFlight: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < items.length) await work(items[next++] as T);
  }));
}

const scanKeyCount = 2500;
const scanKeys = Array.from({ length: scanKeyCount }, (_, index) => `scan/${String(index).padStart(4, '0')}`);
const deletedKeys = new Set(scanKeys.filter((_, index) => index % 97 === 5));
const expiringKeys = new Set(scanKeys.filter((_, index) => index % 89 === 7 && !deletedKeys.has(scanKeys[index] as string)));
const liveScanKeys = scanKeys.filter((key) => !deletedKeys.has(key) && !expiringKeys.has(key));

describe('hierarchical keys', () => {
  it('takes unescaped slashes on every key route, and %2F names the same key', async () => {
    const written = ok<{ key: string; version: string }>(await put(0, 'a/b/c', { deep: true }));
    assert.equal(written.key, 'a/b/c');
    const read = ok<{ key: string; value: unknown; version: string }>(await get(1, '/store/a/b/c'));
    assert.deepEqual(read, { key: 'a/b/c', value: { deep: true }, version: written.version });
    assert.equal(ok<{ version: string }>(await get(2, '/store/a%2Fb%2Fc')).version, written.version);
    assert.equal(ok<{ version: string }>(await get(2, '/store/a/b%2Fc')).version, written.version);
    const view = ok<{ key: string; replicas: Array<{ status: string; version: string | null; value?: unknown }> }>(await get(2, '/cluster/replicas/a/b/c'));
    assert.equal(view.key, 'a/b/c');
    assert.deepEqual(view.replicas.map((copy) => [copy.status, copy.version]), [['ok', written.version], ['ok', written.version], ['ok', written.version]]);
    assert.equal(ok<{ key: string; owners: string[] }>(await get(1, '/cluster/owners/a/b/c')).owners.length, 3);
    const removed = await node(1).app.inject({ method: 'DELETE', url: '/store/a%2Fb/c' });
    assert.equal(removed.statusCode, 200, removed.body);
    assert.equal((await get(0, '/store/a/b/c?r=all')).statusCode, 404);
  });

  it('reads /store/{key}/replicas as the key "{key}/replicas", and keeps the empty key a 400', async () => {
    const absent = await get(0, '/store/a/replicas');
    assert.equal(absent.statusCode, 404, absent.body);
    assert.match(absent.json<{ detail: string }>().detail, /"a\/replicas"/);
    ok(await put(1, 'a/replicas', 'just a key'));
    assert.deepEqual(ok<{ key: string; value: unknown }>(await get(2, '/store/a/replicas')).value, 'just a key');
    const empty = await node(0).app.inject({ method: 'PUT', url: '/store/', payload: '{"value":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(empty.statusCode, 400);
    assert.match(String(empty.headers['content-type']), /^application\/problem\+json/);
    const long = await get(0, `/store/${'k/'.repeat(600)}`);
    assert.equal(long.statusCode, 414, long.body);
  });
});

describe('GET /cluster/keys', () => {
  before(async () => {
    await eachLimited(scanKeys, 32, async (key) => {
      ok(await put(scanKeys.indexOf(key), key, { n: key }, expiringKeys.has(key) ? '?w=all&ttl=1' : '?w=all'));
    });
    await eachLimited([...deletedKeys], 16, async (key) => {
      const removed = await node(2).app.inject({ method: 'DELETE', url: `/store/${key}?w=all` });
      assert.equal(removed.statusCode, 200, removed.body);
    });
    // Keys around the prefix, which no listing of it may show.
    for (const key of ['scan', 'scan.', 'scam/1', 'scan0']) ok(await put(0, key, 1));
    await sleep(1200);
  });

  it('lists 2,500 keys a page of 100 at a time: each live key once, in order, none deleted or expired', async () => {
    const pages = await allPages<KeysPage>('/cluster/keys', 'scan/', 100, 200);
    const listed = pages.flatMap((page) => page.keys);
    assert.ok(pages.every((page) => page.keys.length <= 100));
    assert.equal(new Set(listed).size, listed.length, 'a key was listed twice');
    assert.deepEqual(listed, liveScanKeys);
    assert.ok(pages.length >= Math.ceil(liveScanKeys.length / 100));
  });

  it('adds items with values read at r, in the same order, and applies the prefix', async () => {
    const page = ok<KeysPage>(await get(1, '/cluster/keys?prefix=scan/00&limit=10&values=true&r=all'));
    assert.deepEqual(page.keys, liveScanKeys.filter((key) => key.startsWith('scan/00')).slice(0, 10));
    assert.deepEqual(page.items?.map((item) => item.key), page.keys);
    for (const item of page.items ?? []) {
      assert.deepEqual(item.value, { n: item.key });
      assert.equal(item.version, ok<{ version: string }>(await get(0, `/store/${item.key}`)).version);
    }
    const plain = ok<KeysPage>(await get(2, '/cluster/keys?prefix=scan/00&limit=10'));
    assert.equal(plain.items, undefined);
    const everything = ok<KeysPage>(await get(0, '/cluster/keys?prefix=sca&limit=1000'));
    assert.deepEqual(everything.keys.slice(0, 4), ['scam/1', 'scan', 'scan.', 'scan/0000']);
    assert.deepEqual([...everything.keys].sort(compareUtf8), everything.keys);
  });

  it('refuses a bad cursor, limit or consistency with 400 problem+json', async () => {
    const bad = ['cursor=not-a-cursor', 'limit=0', 'limit=1001', 'limit=ten', 'values=true&r=seven', 'unknown=1'];
    for (const query of bad) {
      const answer = await get(0, `/cluster/keys?${query}`);
      assert.equal(answer.statusCode, 400, `${query}: ${answer.body}`);
      assert.match(String(answer.headers['content-type']), /^application\/problem\+json/, query);
    }
  });
});

describe('GET /admin/records', () => {
  it('pages every record as its newest copy holds it: tombstones and expired values included', async () => {
    const pages = await allPages<RecordsPage>('/admin/records', 'scan/', 300, 50);
    const records = pages.flatMap((page) => page.records);
    assert.deepEqual(records.map((record) => record.key), scanKeys);
    for (const record of records) {
      assert.equal(record.version, `${record.hlc}-${record.nodeId}`);
      if (deletedKeys.has(record.key)) {
        assert.equal(record.tombstone, true, record.key);
        assert.equal(record.value, undefined);
      } else {
        assert.deepEqual([record.tombstone, record.value], [false, { n: record.key }], record.key);
        assert.equal(record.expiresAt !== undefined, expiringKeys.has(record.key), record.key);
      }
    }
    const expired = records.find((record) => expiringKeys.has(record.key));
    assert.ok(expired?.expiresAt !== undefined && Date.parse(expired.expiresAt) < Date.now(), 'an expired value keeps its past expiresAt');
  });
});

describe('the OpenAPI document', () => {
  it('shows key routes with a key path parameter and documents both listings', () => {
    type Operation = { operationId?: string; parameters?: Array<{ name: string; in: string }> };
    const paths = (node(0).app.swagger() as { paths: Record<string, Record<string, Operation>> }).paths;
    assert.deepEqual(Object.keys(paths).filter((path) => path.includes('*')), [], 'no wildcard leaks into the document');
    for (const [path, methods] of [['/store/{key}', ['get', 'put', 'delete']], ['/cluster/replicas/{key}', ['get']], ['/cluster/owners/{key}', ['get']]] as const) {
      for (const method of methods) {
        const keyParameters = paths[path]?.[method]?.parameters?.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
        assert.deepEqual(keyParameters, ['key'], `${method} ${path}`);
      }
    }
    assert.equal(paths['/store/{key}/replicas'], undefined, 'the replicas view moved to /cluster/replicas/{key}');
    const listing = paths['/cluster/keys']?.get;
    assert.equal(listing?.operationId, 'listClusterKeys');
    assert.deepEqual(listing?.parameters?.map((parameter) => parameter.name).sort(), ['cursor', 'limit', 'prefix', 'r', 'values']);
    assert.equal(paths['/admin/records']?.get?.operationId, 'listClusterRecords');
  });
});

describe('with one node stopped', () => {
  it('still lists every live key once, through either node left', async () => {
    await node(2).close();
    const direct = await node(0).node.scanPage({ prefix: 'scan/', after: null, limit: 10 });
    assert.deepEqual(direct.unanswered, [node(2).nodeId], 'the stopped node is the one that did not answer');
    for (const via of [0, 1]) {
      const pages: KeysPage[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 100 && (page === 0 || cursor !== null); page++) {
        const answer: KeysPage = ok<KeysPage>(await get(via, `/cluster/keys?prefix=scan/&limit=500${cursor === null ? '' : `&cursor=${cursor}`}`));
        pages.push(answer);
        cursor = answer.nextCursor;
      }
      assert.equal(cursor, null);
      assert.deepEqual(pages.flatMap((page) => page.keys), liveScanKeys);
    }
  });
});
