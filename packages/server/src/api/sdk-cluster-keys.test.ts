// Checks the typed clients' cluster-wide listing and key paths against a real 3-node cluster
// in this process (N=3): keys holding `/`, `%`, `?`, `#` and spaces round-trip through every
// key route the SDK builds (and `/store/a/b` is the same key as `/store/a%2Fb`), clusterKeys
// pages by cursor on either client, scanKeys yields every live key once in order (keys or
// items) whichever node each page comes from, and the cluster client goes on past a node that
// refuses the connection or answers 503.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RingkvClient, RingkvClusterClient, type ClusterKeyItem, type ClusterKeysPage } from '@ringkv/client';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;
let clients: RingkvClient[] = [];

before(async () => {
  cluster = await startTestCluster('sdk-cluster-keys', () => ({}), 1);
  clients = cluster.nodes.map((node) => new RingkvClient({ baseUrl: node.url }));
});

after(() => cluster.close());

function client(index: number): RingkvClient {
  return clients[index % clients.length]!;
}

/** Keys whose characters mean something in a URL path or query: each must reach the node as itself. */
const awkwardKeys = ['users/42/profile', 'users/42', 'a%2Fb', 'what?x=1&y=2', 'frag#ment', 'with space/ünïcode ✓', 'trailing/', '/leading'];

describe('keys with slashes and URL characters through the SDK', () => {
  it('put, get, replicas, owners and delete each reach the key itself, through any node', async () => {
    for (const [index, key] of awkwardKeys.entries()) {
      const written = await client(index).put(key, { key }, 'all');
      assert.equal(written.body.key, key);
      const read = await client(index + 1).get(key, 'all');
      assert.deepEqual([read?.key, read?.value, read?.version], [key, { key }, written.body.version], key);
      const replicas = await client(index + 2).replicas(key);
      assert.equal(replicas.key, key);
      assert.deepEqual(replicas.replicas.map((copy) => copy.version), [written.body.version, written.body.version, written.body.version], key);
      assert.equal((await client(index).owners(key)).owners.length, 3, key);
    }
    // `%2F` in a key is a literal percent sign: "a%2Fb" and "a/b" stay two keys.
    assert.equal(await client(0).get('a/b', 'all'), null);
    const deleted = await client(1).delete('users/42', 'all');
    assert.equal(deleted.body.key, 'users/42');
    assert.equal(await client(2).get('users/42', 'all'), null);
    assert.deepEqual((await client(0).get('users/42/profile', 'all'))?.value, { key: 'users/42/profile' }, 'deleting users/42 left users/42/profile alone');
  });

  it('the SDK path (slash escaped) and a raw path with the slash unescaped name the same key', async () => {
    const viaSdk = await client(0).put('paths/raw/one', 'sdk', 'all');
    const raw = await fetch(`${cluster.nodes[1]!.url}/store/paths/raw/one?r=all`);
    assert.equal(raw.status, 200);
    assert.deepEqual(await raw.json(), { key: 'paths/raw/one', value: 'sdk', version: viaSdk.body.version });
    const rawPut = await fetch(`${cluster.nodes[2]!.url}/store/paths/raw/two?w=all`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'raw' }) });
    assert.equal(rawPut.status, 200, await rawPut.clone().text());
    assert.equal((await client(0).get('paths/raw/two', 'all'))?.value, 'raw');
  });
});

describe('clusterKeys and scanKeys', () => {
  const scanPrefix = 'scan-sdk/';
  const written = Array.from({ length: 45 }, (_, index) => `${scanPrefix}${String(index).padStart(3, '0')}`);
  const deleted = new Set(written.filter((_, index) => index % 7 === 3));
  const live = written.filter((key) => !deleted.has(key));

  before(async () => {
    // Written through different nodes with w=one: the listing must merge every member's copies.
    for (const [index, key] of written.entries()) await client(index).put(key, { n: index }, 'one');
    for (const key of deleted) await client(1).delete(key, 'all');
    await client(2).put('scan-sdk-other', 'outside the prefix', 'all');
  });

  it('pages by cursor through any node, each live key once and in order', async () => {
    const keys: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const answer: ClusterKeysPage = await client(page).clusterKeys({ prefix: scanPrefix, limit: 8, cursor });
      assert.ok(answer.keys.length <= 8);
      assert.equal(answer.items, undefined, 'no values unless asked');
      keys.push(...answer.keys);
      cursor = answer.nextCursor;
      if (cursor === null) break;
    }
    assert.equal(cursor, null, 'the scan ended');
    assert.deepEqual(keys, live);
    const node0Only = await client(0).allKeys(scanPrefix);
    assert.deepEqual(node0Only, live, 'with N=3 on 3 nodes one node holds every key too');
  });

  it('scanKeys yields keys, or items with values read at r, following cursors to the end', async () => {
    const keys: string[] = [];
    for await (const key of client(0).scanKeys(scanPrefix, { pageSize: 6 })) keys.push(key);
    assert.deepEqual(keys, live);

    const items: ClusterKeyItem[] = [];
    for await (const item of client(1).scanKeys(scanPrefix, { pageSize: 10, values: true, r: 'all' })) items.push(item);
    assert.deepEqual(items.map((item) => item.key), live);
    assert.deepEqual(items.map((item) => item.value), live.map((key) => ({ n: written.indexOf(key) })));
    for (const item of items) assert.match(item.version, /^\d+-n[123]$/);

    const everything: string[] = [];
    for await (const key of client(2).scanKeys()) everything.push(key);
    assert.ok(everything.includes('scan-sdk-other') && everything.includes('users/42/profile') && !everything.includes('users/42'), 'no prefix lists the whole cluster');
    assert.deepEqual(everything, [...everything].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), 'in UTF-8 byte order');

    let pagesAsked = 0;
    const countingFetch: typeof fetch = (input, init) => {
      pagesAsked++;
      return globalThis.fetch(input, init);
    };
    const counting = new RingkvClient({ baseUrl: cluster.nodes[0]!.url, fetch: countingFetch });
    for await (const key of counting.scanKeys(scanPrefix, { pageSize: 5 })) {
      assert.equal(key, live[0]);
      break;
    }
    assert.equal(pagesAsked, 1, 'a loop that stops early fetches no further page');
    await assert.rejects(async () => {
      for await (const key of client(0).scanKeys(scanPrefix, { pageSize: 5, pagesMax: 2 })) assert.ok(key);
    }, /did not end within 2 pages/);
  });

  it('the cluster client lists through any node and goes on to the next after a 503 or a refused connection', async () => {
    const scanRefuser = await startScanRefuser(cluster.nodes[0]!.url);
    try {
      const attempts: string[] = [];
      // Each reading of the clock is a minute on: a node that failed one page is not avoided for the next, so pages go to both.
      let clockMs = Date.now();
      const clusterClient = new RingkvClusterClient({
        nodes: [scanRefuser.url, cluster.nodes[1]!.url, `http://127.0.0.1:${cluster.sparePorts[0]}`],
        routing: false,
        memberUrl: () => null,
        clock: () => (clockMs += 60_000),
        onAttempt: (event) => attempts.push(`${event.url} ${event.outcome}${event.status === undefined ? '' : ` ${event.status}`}`),
      });
      const keys: string[] = [];
      for await (const key of clusterClient.scanKeys(scanPrefix, { pageSize: 4 })) keys.push(key);
      assert.deepEqual(keys, live);
      assert.ok(attempts.includes(`${scanRefuser.url} answer 503`), attempts.join('; '));
      assert.ok(attempts.includes(`http://127.0.0.1:${cluster.sparePorts[0]} not-sent`), attempts.join('; '));
      const items: ClusterKeyItem[] = [];
      for await (const item of clusterClient.scanKeys('users/', { values: true })) items.push(item);
      assert.deepEqual(items.map((item) => [item.key, item.value]), [['users/42/profile', { key: 'users/42/profile' }]]);
    } finally {
      await scanRefuser.close();
    }
  });

  it('a bad page size or cursor is a RingkvError 400 saying what to send', async () => {
    await assert.rejects(client(0).clusterKeys({ limit: 0 }), (error: { status?: number }) => error.status === 400);
    await assert.rejects(client(0).clusterKeys({ cursor: 'not a cursor' }), (error: { status?: number; problem?: { detail?: string } }) => error.status === 400 && /cursor/.test(error.problem?.detail ?? ''));
  });
});

/**
 * A stand-in node in front of `targetUrl` that passes every request through but answers
 * /cluster/keys 503 scan-unavailable, as a node does when too many members are down for it,
 * which real nodes cannot be made to do for one request on cue.
 */
async function startScanRefuser(targetUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (path.startsWith('/cluster/keys')) {
      const problem = { type: 'urn:ringkv:problem:scan-unavailable', title: 'Too few members answered the scan', status: 503, detail: 'stand-in: retry this page' };
      response.writeHead(503, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
      return;
    }
    fetch(`${targetUrl}${path}`, { method: request.method ?? 'GET' })
      .then(async (answer) => response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text()))
      .catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
