// Checks that a node id that has left can join again as a new member (a StatefulSet
// scaled down and back up reuses its pod names), on an in-process cluster: a process
// started on an empty disk, and one that remembers its member list, both come back one
// life later, receive their ranges, and serve them; the cluster's epoch only rises; and an
// id that left twice comes back a third time, even on a disk that knows no life of it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);

/** Four nodes holding `keys`; n4 leaves, and its process stops once it has left. */
async function afterN4Left(seed: number): Promise<InProcessCluster> {
  const cluster = new InProcessCluster({ nodes: 4, seed, hash, yieldToEventLoop });
  await cluster.start();
  for (const nodeId of ['n1', 'n2', 'n3', 'n4']) cluster.member(nodeId).node.admitClients();
  for (const key of keys) await cluster.settle(cluster.member('n1').node.coordinator.put(key, key, 3));
  assert.equal(cluster.member('n4').node.leave().ok, true);
  for (let waitedMs = 0; waitedMs < 30_000 && !cluster.member('n4').retired; waitedMs += 250) await cluster.run(250);
  assert.equal(cluster.member('n4').retired, true, 'n4 left and stopped');
  assert.equal(cluster.member('n1').node.membership.ringOf('n4'), 'left');
  return cluster;
}

async function untilSettled(cluster: InProcessCluster): Promise<void> {
  for (let waitedMs = 0; waitedMs < 30_000 && !(cluster.ringSettled() && cluster.member('n1').node.membership.ringOf('n4') === 'normal'); waitedMs += 250) await cluster.run(250);
}

/** n4, back in its second life, leaves again; its process stops once it has left. */
async function leaveAgain(cluster: InProcessCluster): Promise<void> {
  cluster.member('n4').node.admitClients();
  assert.equal(cluster.member('n4').node.leave().ok, true);
  for (let waitedMs = 0; waitedMs < 30_000 && !cluster.member('n4').retired; waitedMs += 250) await cluster.run(250);
  assert.equal(cluster.member('n4').retired, true, 'n4 left again and stopped');
}

describe('a node id that left joins again', () => {
  for (const remembers of [false, true]) {
    it(`as a new member one life later (${remembers ? 'remembering its member list' : 'on an empty disk, knowing nothing'}), and takes its ranges`, async () => {
      const cluster = await afterN4Left(remembers ? 61 : 62);
      const n1 = cluster.member('n1').node;
      const epochBefore = n1.membership.routeStamp().epoch;
      const n4 = cluster.rejoin('n4', { remembers });
      await untilSettled(cluster);
      for (const nodeId of ['n1', 'n2', 'n3', 'n4']) {
        const view = cluster.member(nodeId).node.membership.list().find((member) => member.nodeId === 'n4');
        assert.equal(view?.ring, 'normal', `${nodeId} holds n4 normal`);
        assert.equal(view?.life, 1, `${nodeId} holds n4's second life`);
      }
      assert.ok(n1.membership.routeStamp().epoch > epochBefore, 'the epoch rose');
      assert.ok(n1.ring.nodeIds.includes('n4'));
      const owned = keys.filter((key) => n4.node.ring.preferenceList(key).includes('n4'));
      assert.ok(owned.length > 0);
      for (const key of owned) assert.equal((await n4.engine.get(key))?.value, key, `n4 received ${key}`);
      const read = await cluster.settle(n4.node.coordinator.read(owned[0] as string, 3));
      assert.equal(read.record?.value, owned[0]);
      cluster.stop();
    });
  }

  it('leaves again in its new life, and its ranges move as the first time', async () => {
    const cluster = await afterN4Left(63);
    cluster.rejoin('n4');
    await untilSettled(cluster);
    await leaveAgain(cluster);
    const n1 = cluster.member('n1').node;
    assert.equal(n1.membership.ringOf('n4'), 'left');
    assert.equal(n1.membership.list().find((member) => member.nodeId === 'n4')?.life, 1);
    for (let waitedMs = 0; waitedMs < 30_000 && !cluster.ringSettled(); waitedMs += 250) await cluster.run(250);
    // Every key is still on its three replicas among n1..n3.
    for (const key of keys) {
      for (const nodeId of n1.ring.preferenceList(key)) assert.equal((await cluster.member(nodeId).engine.get(key))?.value, key, `${nodeId} holds ${key}`);
    }
    cluster.stop();
  });

  // Simulator seed 1830711 (slow-gossip): the process started on an empty disk knows no
  // life of its id, so what the others say of it is of a later life than its own (0).
  for (const remembers of [false, true]) {
    it(`comes back a third time after leaving twice (${remembers ? 'remembering its member list' : 'on an empty disk, knowing nothing'}), as its third life`, async () => {
      const cluster = await afterN4Left(remembers ? 64 : 65);
      cluster.rejoin('n4');
      await untilSettled(cluster);
      await leaveAgain(cluster);
      assert.equal(cluster.member('n1').node.membership.list().find((member) => member.nodeId === 'n4')?.life, 1);
      const n4 = cluster.rejoin('n4', { remembers });
      await untilSettled(cluster);
      for (const nodeId of ['n1', 'n2', 'n3', 'n4']) {
        const view = cluster.member(nodeId).node.membership.list().find((member) => member.nodeId === 'n4');
        assert.equal(view?.life, 2, `${nodeId} holds n4's third life`);
        assert.equal(view?.ring, 'normal', `${nodeId} holds n4 normal`);
      }
      const owned = keys.filter((key) => n4.node.ring.preferenceList(key).includes('n4'));
      assert.ok(owned.length > 0);
      for (const key of owned) assert.equal((await n4.engine.get(key))?.value, key, `n4 received ${key}`);
      cluster.stop();
    });
  }
});
