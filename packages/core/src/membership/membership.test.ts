// Checks SWIM membership on an in-process cluster with a virtual clock: indirect probes
// keep a member up when only the direct link is cut, a suspected but live member refutes
// by raising its incarnation, a crashed member goes down only after the suspicion timeout
// and comes back up when it returns; the precedence rules of updates; and who may say
// what (issue 9): forged or out-of-range claims one member makes about another, fed to a
// node through the same entry point the transport uses, change nothing they must not; and
// a process started on an empty disk that hears its id left, in whichever life, takes the
// life after it, and one that hears its id already holds ranges in its life knows it lost
// that life's data.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { routeStampOf } from '../cluster/cluster-state.js';
import { incarnationMax } from '../limits.js';
import type { MemberUpdate } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { SeededRng } from '../rng.js';
import { Membership, overrides } from './membership.js';

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

/** What n1 holds of `target`. */
const viewOf = (c: InProcessCluster, observer: string, target: string) => c.member(observer).node.membership.list().find((member) => member.nodeId === target);

/** A ping to n1 that `sender` (an authenticated member) sends, carrying `updates`. */
function pingFrom(c: InProcessCluster, sender: string, updates: MemberUpdate[]) {
  const from = { nodeId: sender, address: c.member(sender).address };
  return c.member('n1').node.membership.handlePing({ type: 'ping', from, updates }, from);
}

function claim(c: InProcessCluster, about: string, fields: Partial<MemberUpdate>): MemberUpdate {
  return { nodeId: about, address: c.member(about).address, state: 'up', life: 0, incarnation: 0, ring: 'normal', synced: 0, horizon: 0, serving: true, epoch: 0, ...fields };
}

describe('who may say what in membership gossip', () => {
  it('ignores an incarnation beyond incarnationMax, about another member or about itself', async () => {
    const c = await cluster(3, 21);
    const before = viewOf(c, 'n1', 'n3');
    pingFrom(c, 'n2', [claim(c, 'n3', { state: 'down', incarnation: 2 ** 53 - 1 }), claim(c, 'n1', { state: 'down', incarnation: 2 ** 53 - 1 })]);
    assert.equal(viewOf(c, 'n1', 'n3')?.state, before?.state);
    assert.equal(viewOf(c, 'n1', 'n3')?.incarnation, before?.incarnation);
    assert.ok((viewOf(c, 'n1', 'n1')?.incarnation ?? 0) < 100, 'n1 did not jump its incarnation');
    c.stop();
  });

  it('refutes an accusation at incarnationMax without going past it', async () => {
    const c = await cluster(3, 22);
    pingFrom(c, 'n2', [claim(c, 'n1', { state: 'suspect', incarnation: incarnationMax })]);
    assert.equal(viewOf(c, 'n1', 'n1')?.incarnation, incarnationMax);
    await c.run(600);
    assert.equal(stateSeenBy(c, 'n2', 'n1'), 'up', 'the cluster keeps working with n1 at the largest incarnation');
    c.stop();
  });

  it("takes no claim only a member may make about itself from another member: address, incarnation, ring, horizon", async () => {
    const c = await cluster(3, 23);
    const before = viewOf(c, 'n1', 'n3');
    assert.ok(before !== undefined);
    pingFrom(c, 'n2', [claim(c, 'n3', { address: '10.6.6.6:1', incarnation: before.incarnation + 50, ring: 'left', horizon: 9e15, synced: 77 })]);
    const after = viewOf(c, 'n1', 'n3');
    assert.equal(after?.address, before.address);
    assert.equal(after?.incarnation, before.incarnation);
    assert.equal(after?.ring, 'normal', 'a live member is not made left by gossip');
    assert.equal(after?.synced, before.synced);
    assert.ok((after?.horizon ?? 0) < 9e15);
    // n1 asks n3 itself, which answers with its real incarnation, far below the forged one.
    await c.run(600);
    assert.ok((viewOf(c, 'n1', 'n3')?.incarnation ?? 0) < before.incarnation + 50);
    assert.equal(viewOf(c, 'n1', 'n3')?.ring, 'normal');
    c.stop();
  });

  it('takes suspicion from others by the SWIM rules, at the incarnation it holds, and the member refutes it', async () => {
    const c = await cluster(3, 24);
    const held = viewOf(c, 'n1', 'n3')?.incarnation ?? 0;
    pingFrom(c, 'n2', [claim(c, 'n3', { state: 'suspect', incarnation: held + 9 })]);
    assert.equal(stateSeenBy(c, 'n1', 'n3'), 'suspect');
    assert.equal(viewOf(c, 'n1', 'n3')?.incarnation, held);
    await c.run(1500);
    assert.equal(stateSeenBy(c, 'n1', 'n3'), 'up', 'n3 refuted');
    c.stop();
  });

  it('ignores a ping whose `from` names another member than the sender', async () => {
    const c = await cluster(3, 25);
    const from = { nodeId: 'n2', address: c.member('n2').address };
    c.member('n1').node.membership.handlePing({ type: 'ping', from: { nodeId: 'n3', address: '10.6.6.6:1' }, updates: [] }, from);
    assert.equal(c.member('n1').node.membership.addressOf('n3'), c.member('n3').address);
    c.stop();
  });

  it("spreads an operator's remove of a dead member to every node", async () => {
    const c = await cluster(4, 26);
    c.crash('n4');
    await c.run(2500);
    for (const observer of ['n1', 'n2', 'n3']) assert.equal(stateSeenBy(c, observer, 'n4'), 'down');
    assert.equal(c.member('n2').node.remove('n4').ok, true);
    await c.run(3000);
    for (const observer of ['n1', 'n3']) assert.ok(['leaving', 'left'].includes(viewOf(c, observer, 'n4')?.ring ?? ''), `${observer} heard of the removal`);
    c.stop();
  });
});

describe('a node id started again on an empty disk', () => {
  // Only handlePing is called here, and it sends nothing.
  const offline: Transport = { request: () => Promise.reject(new Error('this test has no network')) };
  const n1 = { nodeId: 'n1', address: '10.0.0.1:8000' };
  const n4 = { nodeId: 'n4', address: '10.0.0.4:8000' };
  const update = (member: typeof n1, fields: Partial<MemberUpdate>): MemberUpdate => ({ ...member, state: 'up', life: 0, incarnation: 0, ring: 'normal', synced: 0, horizon: 0, serving: true, epoch: 0, ...fields });

  // The cluster may hold the id at any life: a fresh process knows none and starts at 0.
  for (const leftLife of [0, 1, 3]) {
    it(`hears its id left in life ${leftLife} and joins as life ${leftLife + 1}, which it tells the member that told it`, () => {
      const fresh = new Membership({ self: n4, seeds: [n1.address], transport: offline, rng: new SeededRng(1), nowMs: () => 0, selfRing: 'joining', startedEmpty: true });
      const told = update(n4, { life: leftLife, incarnation: 8, ring: 'left', synced: 77, horizon: 5000, epoch: 16 });
      const pong = fresh.handlePing({ type: 'ping', from: n1, updates: [update(n1, { epoch: 16 }), told] }, n1);
      const self = fresh.list().find((member) => member.nodeId === 'n4');
      assert.equal(self?.life, leftLife + 1, 'a new life, one after the one that left');
      assert.equal(self?.ring, 'joining');
      assert.equal(self?.synced, 0, 'nothing of the old life carries over');
      assert.equal(self?.serving, false);
      // The pong leads with the process's own update, the only source others take a new life from.
      assert.equal(pong.updates[0]?.nodeId, 'n4');
      assert.equal(pong.updates[0]?.life, leftLife + 1);
      assert.equal(pong.updates[0]?.ring, 'joining');
      assert.deepEqual(fresh.routeStamp(), routeStampOf(fresh.list()), 'requests are routed by the new life');
    });
  }

  it('hears its id joining in a later life (that process lost its disk) and goes on as that life, which its routes count', () => {
    const fresh = new Membership({ self: n4, seeds: [n1.address], transport: offline, rng: new SeededRng(1), nowMs: () => 0, selfRing: 'joining', startedEmpty: true });
    fresh.handlePing({ type: 'ping', from: n1, updates: [update(n1, {})] }, n1);
    // Alone in its ping, so that no other news of it recomputes the route stamp.
    fresh.handlePing({ type: 'ping', from: n1, updates: [update(n4, { life: 2, incarnation: 3, ring: 'joining' })] }, n1);
    const self = fresh.list().find((member) => member.nodeId === 'n4');
    assert.equal(self?.life, 2);
    assert.equal(self?.ring, 'joining');
    assert.ok((self?.incarnation ?? 0) > 3, 'it speaks above what others hold of that life');
    assert.deepEqual(fresh.routeStamp(), routeStampOf(fresh.list()));
    assert.equal(fresh.lostData, false, 'a new life is given its ranges as it joins');
  });

  // Slow-gossip seed 3800272: such a process answered "none" for a delete it had taken
  // before its disk was lost, and so helped confirm an expiry the delete had replaced.
  it('hears its id normal in its own life: it lost the data of that life, which a process that kept its disk did not', () => {
    const fresh = new Membership({ self: n4, seeds: [n1.address], transport: offline, rng: new SeededRng(1), nowMs: () => 0, selfRing: 'joining', startedEmpty: true });
    assert.equal(fresh.lostData, false);
    fresh.handlePing({ type: 'ping', from: n1, updates: [update(n1, {}), update(n4, { incarnation: 2, ring: 'normal' })] }, n1);
    assert.equal(fresh.list().find((member) => member.nodeId === 'n4')?.ring, 'normal');
    assert.equal(fresh.lostData, true);
    const remembered = new Membership({ self: n4, seeds: [n1.address], transport: offline, rng: new SeededRng(1), nowMs: () => 0, selfRing: 'joining' });
    remembered.handlePing({ type: 'ping', from: n1, updates: [update(n1, {}), update(n4, { incarnation: 2, ring: 'normal' })] }, n1);
    assert.equal(remembered.lostData, false, 'a process that kept its disk kept its data');
  });
});
