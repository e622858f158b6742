// Checks SWIM membership on an in-process cluster with a virtual clock: indirect probes
// keep a member up when only the direct link is cut, a suspected but live member refutes
// by raising its incarnation, a crashed member goes down only after the suspicion timeout
// and comes back up when it returns; and the precedence rules of updates.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { overrides } from './membership.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const swim = { probeIntervalMs: 200, membership: { probeTimeoutMs: 80, suspicionTimeoutMs: 1000 } };

async function cluster(nodes: number, seed: number) {
  const made = new InProcessCluster({ nodes, seed, hash, yieldToEventLoop, node: swim });
  await made.start();
  return made;
}

const stateSeenBy = (c: InProcessCluster, observer: string, target: string) => c.member(observer).node.membership.stateOf(target);

describe('SWIM membership', () => {
  it('keeps a member up through indirect probes when only the direct link is cut', async () => {
    const c = await cluster(3, 11);
    c.network.cut(c.member('n1').address, c.member('n3').address);
    const seen = new Set<string>();
    for (let step = 0; step < 30; step++) {
      await c.run(100);
      seen.add(stateSeenBy(c, 'n1', 'n3') as string);
    }
    assert.ok(!seen.has('down'), `n1 saw n3 as ${[...seen].join(', ')}`);
    assert.equal(stateSeenBy(c, 'n1', 'n3'), 'up');
    c.stop();
  });

  it('lets a live member refute a suspicion by raising its incarnation', async () => {
    const c = await cluster(3, 12);
    const n3 = c.member('n3').address;
    for (const other of ['n1', 'n2']) c.network.cut(c.member(other).address, n3);
    await c.run(500);
    assert.ok(['n1', 'n2'].some((observer) => stateSeenBy(c, observer, 'n3') === 'suspect'), 'n3 is suspected');
    c.network.healAll();
    await c.run(1500);
    for (const observer of ['n1', 'n2']) assert.equal(stateSeenBy(c, observer, 'n3'), 'up');
    const view = c.member('n1').node.membership.list().find((member) => member.nodeId === 'n3');
    assert.ok((view?.incarnation ?? 0) > 0, 'n3 refuted with a higher incarnation');
    c.stop();
  });

  it('declares a crashed member down only after the suspicion timeout, and up again when it returns', async () => {
    const c = await cluster(4, 13);
    c.crash('n4');
    await c.run(400);
    assert.notEqual(stateSeenBy(c, 'n1', 'n4'), 'down', 'not down before the suspicion timeout');
    await c.run(2500);
    for (const observer of ['n1', 'n2', 'n3']) assert.equal(stateSeenBy(c, observer, 'n4'), 'down');
    c.restart('n4');
    await c.run(2500);
    for (const observer of ['n1', 'n2', 'n3']) assert.equal(stateSeenBy(c, observer, 'n4'), 'up');
    c.stop();
  });

  it('applies the precedence rules of SWIM updates', () => {
    assert.equal(overrides({ state: 'up', incarnation: 2 }, { state: 'suspect', incarnation: 1 }), true);
    assert.equal(overrides({ state: 'up', incarnation: 1 }, { state: 'suspect', incarnation: 1 }), false);
    assert.equal(overrides({ state: 'suspect', incarnation: 1 }, { state: 'up', incarnation: 1 }), true);
    assert.equal(overrides({ state: 'suspect', incarnation: 1 }, { state: 'suspect', incarnation: 1 }), false);
    assert.equal(overrides({ state: 'down', incarnation: 1 }, { state: 'suspect', incarnation: 1 }), true);
    assert.equal(overrides({ state: 'up', incarnation: 2 }, { state: 'down', incarnation: 1 }), true);
    assert.equal(overrides({ state: 'suspect', incarnation: 3 }, { state: 'down', incarnation: 3 }), false);
  });
});
