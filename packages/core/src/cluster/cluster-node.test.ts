// Runs a 3-node cluster in one process over the in-process transport on a virtual clock,
// proving the core's seams: writes reach their replicas, reads see them from any node,
// deletes win, a crashed replica is tolerated at quorum, and outcomes are honest.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { OutcomeUnknownError, UnavailableError } from './outcomes.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function startCluster(seed = 1, nodes = 3) {
  const cluster = new InProcessCluster({ nodes, seed, hash, yieldToEventLoop });
  await cluster.start();
  return cluster;
}

describe('in-process cluster', () => {
  it('learns every member from its seeds and builds the same ring on every node', async () => {
    const cluster = await startCluster();
    for (const member of cluster.members) {
      assert.ok(member.node.membership.isReady());
      assert.deepEqual(member.node.membership.nodeIds(), ['n1', 'n2', 'n3']);
      assert.ok(member.node.membership.list().every((view) => view.state === 'up'));
    }
    const [a, b] = cluster.members;
    assert.deepEqual(a?.node.ring.preferenceList('k'), b?.node.ring.preferenceList('k'));
    cluster.stop();
  });

  it('writes on one node, reads on the others, deletes through a third', async () => {
    const cluster = await startCluster(2);
    const [n1, n2, n3] = cluster.members.map((member) => member.node);
    const written = await cluster.settle(n1!.coordinator.put('greeting', { hello: 'world' }, 2));
    assert.ok(written.acks >= 2);
    const read = await cluster.settle(n2!.coordinator.read('greeting', 2));
    assert.deepEqual(read.record?.value, { hello: 'world' });
    await cluster.settle(n3!.coordinator.delete('greeting', 2));
    await cluster.run(50);
    for (const node of [n1!, n2!, n3!]) {
      const after = await cluster.settle(node.coordinator.read('greeting', 3));
      assert.equal(after.record?.tombstone, true);
    }
    // At W=all every replica holds the write.
    await cluster.settle(n1!.coordinator.put('everywhere', 1, 3));
    for (const member of cluster.members) assert.equal((await member.engine.get('everywhere'))?.value, 1);
    cluster.stop();
  });

  it('keeps quorum reads and writes working with one replica crashed', async () => {
    const cluster = await startCluster(3);
    cluster.crash('n3');
    await cluster.run(2500);
    const n1 = cluster.member('n1').node;
    assert.equal(n1.membership.stateOf('n3'), 'down');
    for (let i = 0; i < 20; i++) await cluster.settle(n1.coordinator.put(`k${i}`, i, 2));
    for (let i = 0; i < 20; i++) assert.equal((await cluster.settle(cluster.member('n2').node.coordinator.read(`k${i}`, 2))).record?.value, i);
    await assert.rejects(cluster.settle(n1.coordinator.put('needs-all', 1, 3)), UnavailableError);
    assert.equal(await cluster.member('n1').engine.get('needs-all'), undefined, 'a refused write must not be applied');
    cluster.stop();
  });

  it('repairs a stale replica on read after it returns', async () => {
    const cluster = await startCluster(4);
    cluster.crash('n2');
    await cluster.run(2500);
    const n1 = cluster.member('n1').node;
    await cluster.settle(n1.coordinator.put('fresh', 'v2', 2));
    cluster.restart('n2');
    await cluster.run(1000);
    await cluster.settle(n1.coordinator.read('fresh', 3));
    await cluster.run(50);
    assert.equal((await cluster.member('n2').engine.get('fresh'))?.value, 'v2');
    cluster.stop();
  });

  it('reports an unknown outcome when replicas may have applied a write without a quorum of acks', async () => {
    const cluster = await startCluster(5);
    const [n1, n2, n3] = cluster.members;
    // n1 can no longer hear n2 and n3, but its requests reach them: they apply, replies are lost.
    cluster.network.cut(n2!.address, n1!.address, false);
    cluster.network.cut(n3!.address, n1!.address, false);
    const write = n1!.node.coordinator.put('lost-acks', 'x', 3);
    await assert.rejects(cluster.settle(write), OutcomeUnknownError);
    cluster.stop();
  });

  it('brings a replica that missed writes up to date by anti-entropy alone, with no reads', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 6, hash, yieldToEventLoop, node: { hintDeliveryIntervalMs: 0 } });
    await cluster.start();
    cluster.crash('n3');
    await cluster.run(2500);
    const n1 = cluster.member('n1').node;
    for (let i = 0; i < 50; i++) await cluster.settle(n1.coordinator.put(`missed-${i}`, i, 2));
    await cluster.settle(n1.coordinator.delete('missed-0', 2));
    assert.equal(await cluster.member('n3').engine.get('missed-1'), undefined);
    cluster.restart('n3');
    await cluster.run(6000);
    const n3 = cluster.member('n3');
    for (let i = 1; i < 50; i++) assert.equal((await n3.engine.get(`missed-${i}`))?.value, i, `missed-${i} not repaired`);
    assert.equal((await n3.engine.get('missed-0'))?.tombstone, true, 'the tombstone was repaired too');
    assert.ok(n3.node.antiEntropy.status().keysRepaired + cluster.member('n1').node.antiEntropy.status().keysRepaired > 0);
    cluster.stop();
  });

  it('restores every key to a node that lost its data, and reports a repair horizon', async () => {
    const cluster = await startCluster(7);
    const n1 = cluster.member('n1').node;
    for (let i = 0; i < 40; i++) await cluster.settle(n1.coordinator.put(`kept-${i}`, { i }, 3));
    cluster.crash('n2', { loseData: true });
    cluster.restart('n2');
    await cluster.run(6000);
    const n2 = cluster.member('n2');
    for (let i = 0; i < 40; i++) assert.deepEqual((await n2.engine.get(`kept-${i}`))?.value, { i });
    const status = n2.node.antiEntropy.status();
    assert.equal(status.rangesVerified, status.rangesOwned);
    assert.notEqual(status.horizonMs, null);
    cluster.stop();
  });

  it('keeps hints for a down replica and delivers them when it returns; hints never count toward W', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 8, hash, yieldToEventLoop, node: { antiEntropyIntervalMs: 0 } });
    await cluster.start();
    cluster.crash('n3');
    await cluster.run(2500);
    const n1 = cluster.member('n1').node;
    for (let i = 0; i < 20; i++) await cluster.settle(n1.coordinator.put(`hinted-${i}`, i, 2));
    assert.equal(n1.hints.count(), 20, 'one hint per write that missed n3');
    // With n2 down too, W=2 cannot be met even though n1 could hold hints: refused, nothing applied.
    cluster.crash('n2');
    await cluster.run(2500);
    await assert.rejects(cluster.settle(n1.coordinator.put('not-enough', 1, 2)), UnavailableError);
    assert.equal(await cluster.member('n1').engine.get('not-enough'), undefined);
    assert.equal(n1.hints.count(), 20, 'a refused write leaves no hint');
    cluster.restart('n2');
    cluster.restart('n3');
    await cluster.run(3000);
    const n3 = cluster.member('n3');
    for (let i = 0; i < 20; i++) assert.equal((await n3.engine.get(`hinted-${i}`))?.value, i, `hinted-${i} not delivered`);
    assert.equal(n1.hints.count(), 0);
    assert.equal(n1.handoff.deliveredTotal, 20);
    cluster.stop();
  });

  it('delivers a hint to one replica while a push lost on the way to another waits out its timeout', async () => {
    // Simulator seed 4304778 of the standard profile: n5's delivery rounds waited 5 s on a
    // push lost in a partition, and the hints it kept meanwhile missed the repair window.
    const cluster = new InProcessCluster({ nodes: 3, seed: 8, hash, yieldToEventLoop, node: { antiEntropyIntervalMs: 0 } });
    await cluster.start();
    const n1 = cluster.member('n1').node;
    cluster.crash('n3');
    await cluster.run(2500);
    await cluster.settle(n1.coordinator.put('for-n3', 1, 2));
    // n1's requests to n3 are lost, n3's to n1 are not: n3 is up in n1's view (through n2's
    // indirect probes and n3's own pings), so n1 pushes its hint, and the push times out.
    cluster.network.cut(cluster.member('n1').address, cluster.member('n3').address, false);
    cluster.restart('n3');
    await cluster.run(1500);
    assert.equal(n1.membership.stateOf('n3'), 'up');
    cluster.crash('n2');
    await cluster.run(1500);
    await cluster.settle(n1.coordinator.put('for-n2', 2, 1));
    cluster.restart('n2');
    await cluster.run(2000);
    assert.equal((await cluster.member('n2').engine.get('for-n2'))?.value, 2, "n2's hint waited for the lost push to n3");
    assert.equal(await cluster.member('n3').engine.get('for-n3'), undefined, 'the push to n3 was lost');
    cluster.stop();
  });

  it('replays exactly from its seed', async () => {
    const trace = async (seed: number) => {
      const cluster = new InProcessCluster({ nodes: 3, seed, hash, yieldToEventLoop, network: { delayMinMs: 1, delayMaxMs: 20 } });
      await cluster.start();
      const versions: string[] = [];
      for (let i = 0; i < 10; i++) {
        const node = cluster.members[i % 3]!.node;
        const result = await cluster.settle(node.coordinator.put(`k${i % 4}`, i, 2));
        versions.push(`${result.record.hlc}-${result.record.nodeId}@${cluster.clock.nowMs()}`);
      }
      cluster.stop();
      return versions;
    };
    assert.deepEqual(await trace(42), await trace(42));
  });
});
