// Checks a member started on standby (`ringkv node --standby`), on an in-process cluster:
// every member holds it outside the ring, no data moves to it, and it coordinates client
// requests, also when others first hear of it without its status (its gossip starved);
// told to join, it takes its ranges as any new node does; on standby it can leave, or be
// removed once dead, without moving anything; a restart keeps it on standby.
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
const founders = ['n1', 'n2', 'n3'];

/** Three nodes holding `keys`, and n4 started on standby, known to all. */
async function withStandbyN4(seed: number): Promise<InProcessCluster> {
  const cluster = new InProcessCluster({ nodes: 3, seed, hash, yieldToEventLoop });
  await cluster.start();
  for (const nodeId of founders) cluster.member(nodeId).node.admitClients();
  for (const key of keys) await cluster.settle(cluster.member('n1').node.coordinator.put(key, key, 3));
  cluster.join('n4', { standby: true });
  await until(cluster, () => cluster.ringFormed() && founders.every((nodeId) => cluster.member(nodeId).node.membership.ringOf('n4') === 'standby'));
  return cluster;
}

async function until(cluster: InProcessCluster, done: () => boolean, limitMs = 30_000): Promise<void> {
  for (let waitedMs = 0; waitedMs < limitMs && !done(); waitedMs += 250) await cluster.run(250);
  assert.ok(done(), `not within ${limitMs} virtual ms`);
}

function ringsOf(cluster: InProcessCluster, nodeId: string): (readonly string[])[] {
  const placement = cluster.member(nodeId).node.placement;
  return [placement.read.nodeIds, placement.target.nodeIds];
}

describe('a member on standby', () => {
  it('is held on standby by every member, outside every ring, receives nothing, and coordinates reads and writes', async () => {
    const cluster = await withStandbyN4(71);
    for (const nodeId of [...founders, 'n4']) {
      assert.equal(cluster.member(nodeId).node.membership.ringOf('n4'), 'standby', `${nodeId} holds n4 on standby`);
      assert.deepEqual(ringsOf(cluster, nodeId), [founders, founders], `${nodeId}'s rings leave n4 out`);
      assert.equal(cluster.member(nodeId).node.placement.transition, 0, `${nodeId} sees no ring change`);
    }
    const n4 = cluster.member('n4');
    assert.equal(n4.node.admitClients(), true, 'n4 serves clients once the ring it routes to is formed');
    await cluster.settle(n4.node.coordinator.put('through-n4', 'v', 2));
    assert.equal((await cluster.settle(n4.node.coordinator.read('key-7', 2))).record?.value, 'key-7');
    assert.equal((await cluster.settle(cluster.member('n2').node.coordinator.read('through-n4', 2))).record?.value, 'v');
    assert.equal(await n4.engine.get('through-n4'), undefined, 'n4 stores none of what it coordinates');
    for (const key of keys) assert.equal(await n4.engine.get(key), undefined, `n4 holds no copy of ${key}`);
    assert.deepEqual(n4.node.rebalancer.jobs(), [], 'no transfer runs for n4');
    cluster.stop();
  });

  it('stays on standby everywhere when its gossip is starved as it starts (others hear of it first by its pings alone)', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 76, hash, yieldToEventLoop });
    await cluster.start();
    for (const nodeId of founders) cluster.member(nodeId).node.admitClients();
    const n4 = cluster.join('n4', { standby: true });
    cluster.network.starveGossip(n4.address, cluster.clock.nowMs() + 3000);
    await cluster.run(2500);
    for (const nodeId of founders) assert.notEqual(cluster.member(nodeId).node.membership.ringOf('n4'), 'joining', `${nodeId} holds n4 joining while starved`);
    await until(cluster, () => cluster.ringFormed() && [...founders, 'n4'].every((nodeId) => cluster.member(nodeId).node.membership.ringOf('n4') === 'standby'));
    await cluster.run(2000);
    for (const nodeId of [...founders, 'n4']) {
      assert.equal(cluster.member(nodeId).node.membership.ringOf('n4'), 'standby', `${nodeId} holds n4 on standby`);
      assert.deepEqual(ringsOf(cluster, nodeId), [founders, founders]);
    }
    cluster.stop();
  });

  it('joins when told: it becomes joining, receives its ranges, then is normal; told again, it refuses', async () => {
    const cluster = await withStandbyN4(72);
    const n4 = cluster.member('n4');
    const n1 = cluster.member('n1').node;
    const epochBefore = n1.membership.routeStamp().epoch;
    const joined = n4.node.join();
    assert.deepEqual(joined.ok && joined.ringStatus, 'joining');
    await until(cluster, () => cluster.ringSettled() && n1.membership.ringOf('n4') === 'normal');
    assert.ok(n1.membership.routeStamp().epoch > epochBefore, 'the epoch rose');
    assert.ok(n1.ring.nodeIds.includes('n4'));
    const owned = keys.filter((key) => n4.node.ring.preferenceList(key).includes('n4'));
    assert.ok(owned.length > 0);
    for (const key of owned) assert.equal((await n4.engine.get(key))?.value, key, `n4 received ${key}`);
    const again = n4.node.join();
    assert.equal(again.ok, false);
    assert.match(again.ok ? '' : again.message, /n4 is normal, not on standby/);
    cluster.stop();
  });

  it('leaves at once when asked, and nothing moves', async () => {
    const cluster = await withStandbyN4(73);
    const left = cluster.member('n4').node.leave();
    assert.deepEqual(left.ok && left.ringStatus, 'left');
    await until(cluster, () => founders.every((nodeId) => cluster.member(nodeId).node.membership.ringOf('n4') === 'left'));
    for (const nodeId of founders) {
      assert.deepEqual(ringsOf(cluster, nodeId), [founders, founders]);
      assert.deepEqual(cluster.member(nodeId).node.rebalancer.jobs().filter((job) => job.kind !== 'cleanup'), [], `${nodeId} runs no transfer`);
    }
    cluster.stop();
  });

  it('is removed once dead, at once, with nothing to re-replicate', async () => {
    const cluster = await withStandbyN4(74);
    cluster.crash('n4');
    const n1 = cluster.member('n1').node;
    await until(cluster, () => n1.membership.stateOf('n4') === 'down');
    const removed = n1.remove('n4');
    assert.deepEqual(removed.ok && removed.ringStatus, 'left');
    await until(cluster, () => founders.every((nodeId) => cluster.member(nodeId).node.membership.ringOf('n4') === 'left'));
    assert.deepEqual(ringsOf(cluster, 'n2'), [founders, founders]);
    cluster.stop();
  });

  it('stays on standby across a restart, with its member list or on an empty disk', async () => {
    const cluster = await withStandbyN4(75);
    for (const loseData of [false, true]) {
      cluster.crash('n4', { loseData });
      cluster.restart('n4');
      await cluster.run(2000);
      for (const nodeId of [...founders, 'n4']) assert.equal(cluster.member(nodeId).node.membership.ringOf('n4'), 'standby', `${nodeId} (lost data: ${loseData})`);
      assert.deepEqual(ringsOf(cluster, 'n1'), [founders, founders]);
    }
    cluster.stop();
  });
});
