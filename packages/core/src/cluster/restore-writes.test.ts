// Checks an operator's restore on an in-process cluster of three nodes: records reach a
// quorum of their replicas with their own versions, a newer stored version is kept, a second
// restore stores nothing, records below the tombstone purge cutoff are taken only with the
// restore flag, and keys whose replicas are down are reported failed with the reason.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import type { StoredRecord } from '../storage/record.js';
import type { PushRecordsRequest } from '../protocol/messages.js';
import { decodeFrame, encodeFrame } from '../protocol/codec.js';
import { judgeRestoredKey, pushChunks, type ReplicaAnswer } from './restore-writes.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A version well in the past of the cluster's clock, as a backup's records are. */
const oldHlc = 1000 * 1024;

function value(hlc: number, content: unknown, nodeId = 'old'): StoredRecord {
  return { value: content, hlc, nodeId, tombstone: false };
}

async function startedCluster(): Promise<InProcessCluster> {
  const cluster = new InProcessCluster({ nodes: 3, seed: 12, hash, yieldToEventLoop, node: { antiEntropyIntervalMs: 0 } });
  await cluster.start();
  assert.equal(cluster.member('n1').node.admitClients(), true);
  return cluster;
}

async function copiesOf(cluster: InProcessCluster, key: string): Promise<Array<StoredRecord | undefined>> {
  return Promise.all(['n1', 'n2', 'n3'].map((nodeId) => cluster.member(nodeId).engine.get(key)));
}

describe('restoreRecords', () => {
  it('writes old versions to every replica, keeps newer ones, and stores nothing the second time', async () => {
    const cluster = await startedCluster();
    try {
      const node = cluster.member('n1').node;
      const newer = await cluster.settle(node.coordinator.put('kept', 'live', 'all'));
      const entries: Array<[string, StoredRecord]> = [
        ['a', value(oldHlc, { n: 1 })],
        ['gone', { value: undefined, hlc: oldHlc + 1, nodeId: 'old', tombstone: true }],
        ['kept', value(oldHlc, 'from the backup')],
      ];
      const first = await cluster.settle(node.restore(entries));
      assert.deepEqual(
        first.keys.map((key) => [key.key, key.outcome, key.confirmed, key.required]),
        [
          ['a', 'applied', 3, 2],
          ['gone', 'applied', 3, 2],
          ['kept', 'kept-newer', 3, 2],
        ],
      );
      assert.equal(first.stored, 6, 'a and gone stored on each of the 3 replicas, kept on none');
      for (const copy of await copiesOf(cluster, 'a')) assert.deepEqual(copy, entries[0]?.[1]);
      for (const copy of await copiesOf(cluster, 'kept')) assert.equal(copy?.hlc, newer.record.hlc);
      const second = await cluster.settle(node.restore(entries));
      assert.equal(second.stored, 0);
      assert.deepEqual(
        second.keys.map((key) => key.outcome),
        ['applied', 'applied', 'kept-newer'],
      );
    } finally {
      cluster.stop();
    }
  });

  it('takes records below the purge cutoff with the restore flag only', async () => {
    const cluster = await startedCluster();
    try {
      const watermark = cluster.member('n1').node.hlc.now();
      for (const nodeId of ['n1', 'n2', 'n3']) cluster.member(nodeId).node.tombstones.adopt(watermark);
      const tombstone: StoredRecord = { value: undefined, hlc: oldHlc, nodeId: 'old', tombstone: true };
      const push: PushRecordsRequest = { type: 'pushRecords', entries: [['purged', tombstone]], sentHlc: watermark + 1, hinted: false };
      const n2 = cluster.member('n2');
      const plain = await cluster.settle(n2.node.handleRequest(push, { nodeId: 'n1', address: cluster.member('n1').address }));
      assert.deepEqual(plain, { type: 'pushAck', applied: 0 }, 'repair never brings back what a purge removed');
      assert.equal(await n2.engine.get('purged'), undefined);
      const answer = await cluster.settle(cluster.member('n1').node.restore([['purged', tombstone]]));
      assert.equal(answer.keys[0]?.outcome, 'applied');
      for (const copy of await copiesOf(cluster, 'purged')) assert.deepEqual(copy, tombstone);
    } finally {
      cluster.stop();
    }
  });

  it('reports a key failed, naming the replicas, when too few of them are up', async () => {
    const cluster = await startedCluster();
    try {
      cluster.crash('n3');
      await cluster.run(2000);
      const node = cluster.member('n1').node;
      const oneDown = await cluster.settle(node.restore([['b', value(oldHlc, 1)]]));
      assert.equal(oneDown.keys[0]?.outcome, 'applied', 'two of three replicas are a quorum');
      assert.deepEqual(oneDown.keys[0]?.failures.map((failure) => failure.nodeId), ['n3']);
      cluster.crash('n2');
      await cluster.run(2000);
      const twoDown = await cluster.settle(node.restore([['c', value(oldHlc, 2)]]));
      const key = twoDown.keys[0];
      assert.equal(key?.outcome, 'failed');
      assert.equal(key?.confirmed, 1);
      assert.deepEqual(key?.failures.map((failure) => failure.nodeId).sort(), ['n2', 'n3']);
    } finally {
      cluster.stop();
    }
  });
});

describe('judgeRestoredKey', () => {
  const record = { hlc: 50, nodeId: 'n1' };
  const held = (version: readonly [number, string] | null) => ({ ok: true as const, held: new Map([['k', version]]), stored: 0 });

  it('needs a majority in every ring a write must reach', () => {
    const answers = new Map<string, ReplicaAnswer>([
      ['a', held([50, 'n1'])],
      ['b', held([50, 'n1'])],
      ['c', held(null)],
      ['d', { ok: false, reason: 'timeout' }],
    ]);
    assert.equal(judgeRestoredKey('k', record, [['a', 'b', 'c']], answers).outcome, 'applied');
    // While the ring changes: the second ring holds only one confirmation of two needed.
    const changing = judgeRestoredKey('k', record, [['a', 'b', 'c'], ['a', 'c', 'd']], answers);
    assert.equal(changing.outcome, 'failed');
    assert.deepEqual(changing.failures.map((failure) => failure.nodeId), ['c', 'd']);
  });

  it('counts a newer version as a confirmation that keeps the newer data, and an older one as none', () => {
    const answers = new Map<string, ReplicaAnswer>([
      ['a', held([60, 'n2'])],
      ['b', held([50, 'n1'])],
      ['c', held([40, 'n9'])],
    ]);
    const judged = judgeRestoredKey('k', record, [['a', 'b', 'c']], answers);
    assert.equal(judged.outcome, 'kept-newer');
    assert.equal(judged.confirmed, 2);
  });
});

describe('pushChunks', () => {
  it('bounds each push in records and bytes, keeping every record once and in order', () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    const list: Array<[string, StoredRecord]> = Array.from({ length: 6 }, (_, i) => [`k${i}`, value(i + 1, big)]);
    const chunks = pushChunks(list);
    assert.ok(chunks.length > 1);
    assert.deepEqual(chunks.flat(), list);
    const small: Array<[string, StoredRecord]> = Array.from({ length: 12_000 }, (_, i) => [`s${i}`, value(i + 1, i)]);
    assert.deepEqual(
      pushChunks(small).map((chunk) => chunk.length),
      [5000, 5000, 2000],
    );
  });
});

describe('the restore flag on the wire', () => {
  it('round-trips, and a push without it decodes as before', () => {
    const entries: Array<[string, StoredRecord]> = [['k', value(oldHlc, 'v')]];
    for (const body of [
      { type: 'pushRecords', entries, sentHlc: 7, hinted: false, restore: true },
      { type: 'pushRecords', entries, sentHlc: 7, hinted: true },
    ] satisfies PushRecordsRequest[]) {
      const frame = encodeFrame({ kind: 'request', id: 1, body });
      assert.deepEqual(decodeFrame(frame.subarray(4)), { kind: 'request', id: 1, body });
    }
  });
});
