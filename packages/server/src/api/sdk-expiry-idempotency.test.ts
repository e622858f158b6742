// Checks the typed clients' ttl and Idempotency-Key calls against a real 3-node cluster in
// this process (N=3): expiresAt on put, get, batch and replica copies, expiry seen through
// the SDK, replayed answers through another node that write nothing new, the typed 422, and
// the cluster client sending a keyed write again after a proxy swallowed the first answer.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { putOp, RingkvClient, RingkvClusterClient, RingkvError, RingkvIdempotencyKeyReusedError, RingkvUnavailableError } from '@ringkv/client';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;
let clients: RingkvClient[] = [];

before(async () => {
  cluster = await startTestCluster('sdk-expiry');
  clients = cluster.nodes.map((node) => new RingkvClient({ baseUrl: node.url }));
});

after(() => cluster.close());

function client(index: number): RingkvClient {
  return clients[index % clients.length]!;
}

/** How far `expiresAt` lies after `fromMs`. */
function aheadMs(expiresAt: string | undefined, fromMs: number): number {
  assert.ok(expiresAt !== undefined, 'expiresAt is present');
  assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'RFC 3339 UTC with milliseconds');
  return Date.parse(expiresAt) - fromMs;
}

describe('ttl through the typed clients', () => {
  it('put, get, batch and the replicas carry expiresAt; a put without ttl makes the key permanent', async () => {
    const startedMs = Date.now();
    const put = await client(0).put('sdk:ttl:a', { n: 1 }, { ttl: 60 });
    const ahead = aheadMs(put.body.expiresAt, startedMs);
    assert.ok(ahead > 59_000 && ahead < 61_000, `expiresAt is ${ahead} ms ahead, not 60 s`);
    assert.equal((await client(1).get('sdk:ttl:a', 'all'))?.expiresAt, put.body.expiresAt, 'another node reads the same expiry');
    const replicas = await client(2).replicas('sdk:ttl:a');
    assert.equal(replicas.replicas.length, 3);
    for (const copy of replicas.replicas) assert.deepEqual([copy.expiresAt, copy.expired ?? false, copy.tombstone], [put.body.expiresAt, false, false], copy.nodeId);

    const permanent = await client(1).put('sdk:ttl:a', { n: 2 }, { w: 'all' });
    assert.equal(permanent.body.expiresAt, undefined);
    assert.equal((await client(0).get('sdk:ttl:a', 'all'))?.expiresAt, undefined);

    const created = await client(2).createIfAbsent('sdk:ttl:b', 1, { ttl: 120 });
    assert.ok(aheadMs(created.body.expiresAt, startedMs) > 119_000);
    const matched = await client(0).putIfMatch('sdk:ttl:b', 2, created.body.version, { ttl: 30 });
    assert.ok(aheadMs(matched.body.expiresAt, startedMs) < 31_000, 'the conditional write set the new ttl');

    const batch = await client(1).batch([putOp('sdk:ttl:c', 'x', { ttl: 45 }), { op: 'get', key: 'sdk:ttl:c' }]);
    const [written, read] = batch.results;
    assert.equal(written?.status, 200);
    const batchExpiresAt = (written?.body as { expiresAt?: string }).expiresAt;
    assert.ok(aheadMs(batchExpiresAt, startedMs) < 46_000);
    assert.equal((read?.body as { expiresAt?: string }).expiresAt, batchExpiresAt);
  });

  it('an expired key reads as absent through both clients, and its copies say expired', async () => {
    const clusterClient = new RingkvClusterClient({ nodes: cluster.nodes.map((node) => node.url) });
    await clusterClient.put('sdk:ttl:short', 'soon gone', { ttl: 1 });
    assert.equal((await clusterClient.get('sdk:ttl:short'))?.value, 'soon gone');
    const deadlineMs = Date.now() + 10_000;
    while ((await clusterClient.get('sdk:ttl:short', { r: 'all' })) !== null && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await clusterClient.get('sdk:ttl:short', { r: 'all' }), null);
    assert.equal(await client(2).get('sdk:ttl:short', 'one'), null);
    const replicas = await client(0).replicas('sdk:ttl:short');
    for (const copy of replicas.replicas) assert.deepEqual([copy.expired, copy.tombstone], [true, true], copy.nodeId);
  });

  it('a ttl the node refuses is a RingkvError 400 saying what to send, and nothing is stored', async () => {
    for (const ttl of [0, 1.5, 630_720_001]) {
      await assert.rejects(client(0).put('sdk:ttl:bad', 1, { ttl }), (error: RingkvError) => error.status === 400 && /ttl/.test(error.problem.detail), String(ttl));
    }
    assert.equal(await client(1).get('sdk:ttl:bad', 'all'), null);
  });
});

describe('Idempotency-Key through the typed clients', () => {
  it('a retry through another node answers the first outcome (replayed) and writes nothing new; another request with the key is a typed 422', async () => {
    const first = await client(0).put('sdk:idem:a', 'first', { idempotencyKey: 'sdk-a-1', ttl: 600 });
    assert.equal(first.replayed, false);
    const newer = await client(1).put('sdk:idem:a', 'newer', { w: 'all' });
    const retry = await client(2).put('sdk:idem:a', 'first', { idempotencyKey: 'sdk-a-1', ttl: 600 });
    assert.equal(retry.replayed, true);
    assert.deepEqual(retry.body, first.body, 'the first answer, expiresAt included');
    assert.equal((await client(0).get('sdk:idem:a', 'all'))?.version, newer.body.version, 'the retry did not overwrite the newer write');

    await assert.rejects(client(1).put('sdk:idem:a', 'other', { idempotencyKey: 'sdk-a-1', ttl: 600 }), RingkvIdempotencyKeyReusedError);
    await assert.rejects(client(1).put('sdk:idem:a', 'first', { idempotencyKey: 'sdk-a-1' }), RingkvIdempotencyKeyReusedError, 'a different ttl is a different request');
    await assert.rejects(client(1).put('sdk:idem:a', 'first', { idempotencyKey: 'sdk-a-2', w: 'all' }), (error: RingkvError) => error.status === 400);

    const deleted = await client(0).delete('sdk:idem:a', { idempotencyKey: 'sdk-a-del' });
    const deletedAgain = await client(2).delete('sdk:idem:a', { idempotencyKey: 'sdk-a-del' });
    assert.deepEqual([deletedAgain.replayed, deletedAgain.body], [true, deleted.body]);
    const created = await client(1).createIfAbsent('sdk:idem:a', 'again', { idempotencyKey: 'sdk-a-create' });
    assert.deepEqual((await client(2).createIfAbsent('sdk:idem:a', 'again', { idempotencyKey: 'sdk-a-create' })).body, created.body, 'not a 412: the replay of the create');
  });

  it('the cluster client sends a keyed write again after the first answer was lost, and it is applied once', async () => {
    const lossy = await startLossyProxies(cluster.nodes.slice(0, 2));
    try {
      const clusterClient = new RingkvClusterClient({ nodes: lossy.urls, routing: false, memberUrl: () => null, attemptTimeoutMs: 3000 });
      lossy.loseNextAnswer();
      const receipt = await clusterClient.put('sdk:idem:lost', { n: 1 }, { idempotencyKey: 'sdk-lost-1' });
      assert.equal(lossy.dropped(), 1, 'the first answer was swallowed');
      assert.equal(receipt.replayed, true, 'the second attempt found the first outcome');
      assert.equal((await client(2).get('sdk:idem:lost', 'all'))?.version, receipt.body.version);

      lossy.loseNextAnswer();
      const unkeyed = await clusterClient.put('sdk:idem:lost-unkeyed', { n: 1 }).then(() => undefined, (error: unknown) => error);
      assert.equal(lossy.dropped(), 2);
      assert.ok(unkeyed instanceof RingkvUnavailableError && unkeyed.mayHaveApplied, 'without a key the write is not sent again');
    } finally {
      await lossy.close();
    }
  });
});

/**
 * TCP proxies, one per node, that pass everything through except, once armed with
 * loseNextAnswer, the answer to the next store PUT: the node applies the write and the
 * client sees the connection break, as when a coordinator's reply is lost.
 */
async function startLossyProxies(nodes: readonly RunningNode[]): Promise<{ urls: string[]; loseNextAnswer(): void; dropped(): number; close(): Promise<void> }> {
  let droppedCount = 0;
  let dropNext = false;
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  for (const node of nodes) {
    const target = new URL(node.url);
    const server = createServer((downstream) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(downstream).add(upstream);
      let swallow = false;
      downstream.on('data', (chunk: Buffer) => {
        if (chunk.subarray(0, 11).toString('latin1') === 'PUT /store/' && dropNext) {
          dropNext = false;
          swallow = true;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!swallow) return void downstream.write(chunk);
        droppedCount++;
        downstream.destroy();
        upstream.destroy();
      });
      const closeBoth = () => {
        downstream.destroy();
        upstream.destroy();
      };
      downstream.on('close', closeBoth).on('error', closeBoth);
      upstream.on('close', closeBoth).on('error', closeBoth);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    urls: servers.map((server) => `http://127.0.0.1:${(server.address() as { port: number }).port}`),
    loseNextAnswer: () => {
      dropNext = true;
    },
    dropped: () => droppedCount,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
