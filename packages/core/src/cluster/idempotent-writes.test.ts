// Checks idempotent writes (Idempotency-Key) on an in-process 3-node cluster: a retry
// through another node answers the first write's version and writes nothing; a different
// request under the same key is refused; and what a retry gets after each way the first
// attempt can end without an answer: nothing written (503), accepted by a majority and
// then left (a 504, or its coordinator crashed: 409 while young, then finished with its
// own version), and remembered across a replica's restart and up to the retention only.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { formatVersion, type StoredRecord } from '../storage/record.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { UnavailableError } from './outcomes.js';
import { IdempotencyKeyInFlightError, IdempotencyKeyReusedError } from './paxos-proposer.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const tag = (fingerprint = 'f1', key = 'retry-1') => ({ key, fingerprint });
const put = (value: unknown) => ({ value, tombstone: false });

async function startedCluster(seed: number): Promise<InProcessCluster> {
  const cluster = new InProcessCluster({ nodes: 3, seed, hash, yieldToEventLoop });
  await cluster.start();
  return cluster;
}

describe('idempotent writes', () => {
  it('answers a retry through another node with the first version, writing nothing, even after a newer write', async () => {
    const cluster = await startedCluster(81);
    const first = await cluster.settle(cluster.member('n1').node.paxos.write('k', put('a'), {}, tag()));
    assert.equal(first.replayed, undefined);
    const retry = await cluster.settle(cluster.member('n2').node.paxos.write('k', put('a'), {}, tag()));
    assert.deepEqual([formatVersion(retry.record), retry.record.value, retry.replayed], [formatVersion(first.record), 'a', true]);
    await cluster.settle(cluster.member('n3').node.coordinator.put('k', 'b', 'quorum'));
    const late = await cluster.settle(cluster.member('n3').node.paxos.write('k', put('a'), {}, tag()));
    assert.equal(formatVersion(late.record), formatVersion(first.record), 'still the first version');
    const now = await cluster.settle(cluster.member('n1').node.paxos.read('k'));
    assert.equal(now?.value, 'b', 'the retries wrote nothing over the newer write');
    await assert.rejects(cluster.settle(cluster.member('n2').node.paxos.write('k', put('other'), {}, tag('f2'))), IdempotencyKeyReusedError);
    cluster.stop();
  });

  it('replays a conditional write whose condition no longer holds, instead of refusing it', async () => {
    const cluster = await startedCluster(82);
    const created = await cluster.settle(cluster.member('n1').node.paxos.write('c', put(1), { ifNoneMatch: true }, tag('c1', 'create')));
    const retry = await cluster.settle(cluster.member('n3').node.paxos.write('c', put(1), { ifNoneMatch: true }, tag('c1', 'create')));
    assert.deepEqual([formatVersion(retry.record), retry.replayed], [formatVersion(created.record), true]);
    cluster.stop();
  });

  it('writes anew on a retry after a 503, which wrote nothing', async () => {
    const cluster = await startedCluster(83);
    cluster.crash('n2');
    cluster.crash('n3');
    await assert.rejects(cluster.settle(cluster.member('n1').node.paxos.write('u', put('x'), {}, tag())), UnavailableError);
    cluster.restart('n2');
    cluster.restart('n3');
    await cluster.run(3000);
    const retry = await cluster.settle(cluster.member('n2').node.paxos.write('u', put('x'), {}, tag()));
    assert.equal(retry.replayed, undefined, 'nothing was remembered: the retry wrote');
    assert.equal((await cluster.settle(cluster.member('n3').node.paxos.read('u')))?.value, 'x');
    cluster.stop();
  });

  it('answers 409 while an abandoned attempt is young, then finishes it with its own version', async () => {
    const cluster = await startedCluster(84);
    // A coordinator got its proposal accepted by a majority and died before committing it
    // (or answered 504): the acceptors' state is all that is left of it.
    const n1 = cluster.member('n1');
    const ballot = { hlc: n1.node.hlc.now(), nodeId: 'n1' };
    const record: StoredRecord = { value: 'first', tombstone: false, ...ballot };
    for (const nodeId of ['n1', 'n2']) {
      await cluster.member(nodeId).paxos.put('f', { promised: ballot, accepted: { ballot, record, tags: [{ ...tag(), ...ballot }] }, committed: null });
    }
    await assert.rejects(cluster.settle(cluster.member('n3').node.paxos.write('f', put('first'), {}, tag())), IdempotencyKeyInFlightError);
    await cluster.run(2500);
    const retry = await cluster.settle(cluster.member('n3').node.paxos.write('f', put('first'), {}, tag()));
    assert.deepEqual([formatVersion(retry.record), retry.replayed], [formatVersion(record), true], 'the first attempt was finished, not written again');
    assert.equal((await cluster.settle(cluster.member('n2').node.coordinator.read('f', 'all'))).record?.hlc, ballot.hlc);
    cluster.stop();
  });

  it('remembers across a replica restart, and forgets after the retention', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 85, hash, yieldToEventLoop, node: { idempotencyRetentionMs: 60_000 } });
    await cluster.start();
    const first = await cluster.settle(cluster.member('n1').node.paxos.write('r', put('v'), {}, tag()));
    cluster.crash('n2');
    cluster.restart('n2');
    await cluster.run(3000);
    const retry = await cluster.settle(cluster.member('n2').node.paxos.write('r', put('v'), {}, tag()));
    assert.deepEqual([formatVersion(retry.record), retry.replayed], [formatVersion(first.record), true]);
    await cluster.run(61_000);
    const late = await cluster.settle(cluster.member('n3').node.paxos.write('r', put('v'), {}, tag()));
    assert.equal(late.replayed, undefined, 'past the retention the key is forgotten: the retry writes');
    cluster.stop();
  });
});
