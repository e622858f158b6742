// Checks the cleanup's hand-off on a 4-node in-process cluster (N=3): a key a node holds
// outside its ranges, which none of the key's replicas has (a write only it took), is
// pushed to the replicas and may be dropped only once a majority of them hold it; with two
// of them down it stays. The planted bug `cleanupWithoutHandoff` drops it unseen, which
// loses the write: the simulator finds that only rarely (other safeguards mostly hide
// it), so this test is what proves the hand-off is needed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import type { StoredRecord } from '../storage/record.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { dropsUnseen } from '../testing/planted-bugs.js';
import { handOff, type CleanupHandoffDeps } from './cleanup-handoff.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function setUp(seed: number) {
  const cluster = new InProcessCluster({ nodes: 4, seed, hash, yieldToEventLoop, node: { antiEntropyIntervalMs: 0, hintDeliveryIntervalMs: 0 } });
  await cluster.start();
  const ring = cluster.members[0]!.node.ring;
  const key = 'only-here';
  const replicas = ring.preferenceList(key);
  const holder = cluster.members.find((member) => !replicas.includes(member.nodeId))!;
  const record: StoredRecord = { value: 'acknowledged at w=1', hlc: holder.node.hlc.now(), nodeId: holder.nodeId, tombstone: false };
  await holder.engine.apply(key, record);
  const transport = cluster.network.attach({ nodeId: `${holder.nodeId}-cleanup`, address: 'cleanup:1' }, async () => ({ type: 'failure', code: 'refused', message: 'a probe' }));
  const deps: CleanupHandoffDeps = {
    selfId: holder.nodeId,
    transport,
    addressOf: (nodeId) => cluster.members.find((member) => member.nodeId === nodeId)?.address,
    isAvailable: (nodeId) => cluster.members.find((member) => member.nodeId === nodeId)?.up === true,
    timeoutMs: 500,
    nowHlc: () => holder.node.hlc.now(),
  };
  const copies = async () => {
    let held = 0;
    for (const nodeId of replicas) if ((await cluster.member(nodeId).engine.get(key))?.value === record.value) held++;
    return held;
  };
  return { cluster, ring, key, record, replicas, deps, copies };
}

describe('cleanup hand-off', () => {
  it('pushes a key no new replica holds to them, and lets it go only once a majority holds it', async () => {
    const { cluster, ring, key, record, deps, copies } = await setUp(31);
    assert.equal(await copies(), 0);
    const droppable = await cluster.settle(handOff([{ key, record }], ring, deps));
    assert.deepEqual(
      droppable.map((entry) => entry.key),
      [key],
    );
    assert.equal(await copies(), 3, 'every available replica took it before it may be dropped');
    cluster.stop();
  });

  it('keeps the key while a majority of its replicas cannot take it', async () => {
    const { cluster, ring, key, record, replicas, deps, copies } = await setUp(32);
    cluster.crash(replicas[0]!);
    cluster.crash(replicas[1]!);
    const droppable = await cluster.settle(handOff([{ key, record }], ring, deps));
    assert.deepEqual(droppable, [], 'one replica of three holds it: not enough to drop the only other copy');
    assert.equal(await copies(), 1);
    cluster.stop();
  });

  it('the planted bug drops the key unseen: nothing else holds the write', async () => {
    const { cluster, ring, key, record, deps, copies } = await setUp(33);
    const droppable = await dropsUnseen([{ key, record }], ring, deps);
    assert.deepEqual(
      droppable.map((entry) => entry.key),
      [key],
    );
    assert.equal(await copies(), 0, 'dropping it now would lose the acknowledged write');
    cluster.stop();
  });
});
