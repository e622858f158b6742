// Checks epoch fencing and the barrier of ring changes on an in-process cluster whose
// gossip to one node is starved (its SWIM messages arrive without news) while data
// messages pass: that node learns a ring change on its first request, and the ring
// change waits until every member has seen it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Four nodes; n4 crashes and n2 removes it while gossip to n1 is starved for `starvedMs`. */
async function removalUnseenByN1(seed: number, starvedMs: number) {
  const cluster = new InProcessCluster({ nodes: 4, seed, hash, yieldToEventLoop });
  await cluster.start();
  cluster.network.starveGossip(cluster.member('n1').address, cluster.clock.nowMs() + starvedMs);
  cluster.crash('n4');
  for (let waitedMs = 0; waitedMs < 10_000 && cluster.member('n1').node.membership.stateOf('n4') !== 'down'; waitedMs += 100) await cluster.run(100);
  await cluster.run(500);
  for (const nodeId of ['n1', 'n2', 'n3']) assert.equal(cluster.member(nodeId).node.membership.stateOf('n4'), 'down', `${nodeId} holds n4 down`);
  assert.equal(cluster.member('n2').node.remove('n4').ok, true);
  await cluster.run(1000);
  return cluster;
}

describe('epoch fencing', () => {
  it('refuses a request routed by an older cluster state, and serves one routed by the same or a newer one', async () => {
    const cluster = await removalUnseenByN1(41, 60_000);
    const n1 = cluster.member('n1');
    const n2 = cluster.member('n2');
    assert.equal(n1.node.membership.ringOf('n4'), 'normal', 'gossip never told n1 of the removal');
    assert.equal(n2.node.membership.ringOf('n4'), 'leaving');
    const held = n2.node.membership.routeStamp();
    const stale = n1.node.membership.routeStamp();
    assert.ok(held.epoch > stale.epoch);
    const from = { nodeId: 'n1', address: n1.address };
    const record = { value: 1, tombstone: false, hlc: n1.node.hlc.now(), nodeId: 'n1' };
    const refused = await n2.node.handleRequest({ type: 'put', key: 'k', record, ...stale }, from);
    assert.equal(refused.type, 'failure');
    assert.equal(refused.type === 'failure' && refused.code, 'stale-epoch');
    assert.equal(await n2.engine.get('k'), undefined, 'nothing was written');
    const served = await n2.node.handleRequest({ type: 'put', key: 'k', record, ...held }, from);
    assert.equal(served.type, 'putAck');
    const unrouted = await n2.node.handleRequest({ type: 'get', key: 'k' }, from);
    assert.equal(unrouted.type, 'getReply');
    cluster.stop();
  });

  it('teaches a coordinator cut off from gossip the new ring on its first request', async () => {
    const cluster = await removalUnseenByN1(42, 60_000);
    const n1 = cluster.member('n1').node;
    assert.equal(n1.membership.ringOf('n4'), 'normal');
    // The first request reaches a replica that knows the removal: refused, and n1 learns.
    // A key whose replicas (as n1 sees them) are the three live nodes, read from all three.
    const key = Array.from({ length: 200 }, (_, i) => `key-${i}`).find((candidate) => !n1.ring.preferenceList(candidate).includes('n4'));
    assert.ok(key !== undefined);
    await cluster.settle(n1.coordinator.read(key, 3)).catch((error: unknown) => {
      if (!(error instanceof Error)) throw error;
    });
    await cluster.run(50);
    assert.equal(n1.membership.ringOf('n4'), 'leaving', 'n1 learned the removal from a replica');
    assert.deepEqual(n1.membership.routeStamp(), cluster.member('n2').node.membership.routeStamp());
    // From then on its requests are routed by the state the replicas hold.
    const written = await cluster.settle(n1.coordinator.put('after', 'v', 2));
    assert.ok(written.acks >= 2);
    cluster.stop();
  });

  it('holds a ring change until every member that may route has seen it', async () => {
    const cluster = await removalUnseenByN1(43, 6000);
    const n2 = cluster.member('n2').node;
    // n1 never said it saw the removal: nothing streams yet, and n4 stays in the read ring.
    await cluster.run(2500);
    assert.equal(n2.membership.barrierPassed(n2.membership.routeStamp().epoch), false);
    assert.ok(n2.ring.nodeIds.includes('n4'), 'the read ring still holds n4');
    assert.equal(n2.membership.ringOf('n4'), 'leaving');
    // The starvation ends: n1 hears of the removal, says so, and the removal completes.
    for (let waitedMs = 0; waitedMs < 20_000 && !cluster.ringSettled(); waitedMs += 250) await cluster.run(250);
    assert.equal(n2.membership.ringOf('n4'), 'left');
    assert.ok(!n2.ring.nodeIds.includes('n4'));
    cluster.stop();
  });
});
