// Checks how background work sees client load on an in-process cluster (docs/guarantees.md,
// "Every background job yields to clients"): a replica counts the reads and writes it
// serves for other coordinators' clients as client load (cluster-node.ts, withPeerClients),
// so a member that no client talks to, as a leaving node is, still paces its background
// work while it serves them; under load a cleanup drops its keys in smaller transactions
// (clock/background-budget.ts, backgroundSlice), and takes its pauses while the new
// replicas answer its hand-off (rebalance/rebalancer.ts, cleanArcs).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ClientLoad } from '../clock/background-budget.js';
import { backgroundSliceUnderLoad } from '../limits.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import type { MessageEvent } from '../protocol/memory-network.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A shell with no client of its own whose event loop was busy `busy` of the last moment. */
function noClientsOfItsOwn(busy: number): ClientLoad {
  return { inflight: () => 0, busyShare: () => busy, cpuPressure: () => 0 };
}

describe('background work under client load', () => {
  it('counts peer requests served for clients as client load on the replica serving them, for a second after the last', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 5, hash, yieldToEventLoop, clientLoad: (nodeId) => (nodeId === 'n1' ? undefined : noClientsOfItsOwn(0.5)) });
    await cluster.start();
    await cluster.run(3000);
    cluster.member('n1').node.admitClients();
    const n2 = cluster.member('n2').node;
    assert.equal(n2.budget.share(), 1, 'with nothing served for clients, background work runs at full speed (gossip and repair are no clients)');

    // N=3 on three nodes: n1 sends every write to n2 and n3.
    await cluster.settle(cluster.member('n1').node.coordinator.put('k', 'v', 3));
    // One request in flight lately (1/2), and the busy loop less the headroom (1 - 0.3 - 0.5) is less.
    assert.equal(n2.budget.share(), 0.5, 'a replica write served for n1 client makes n2 give way');

    await cluster.run(1500);
    assert.equal(n2.budget.share(), 1, 'a second after the last one, n2 runs its background work at full speed again');
    cluster.stop();
  });

  it("drops a cleanup's keys in smaller transactions on a node under load", async () => {
    const busyNode: ClientLoad = { inflight: () => 1, busyShare: () => 0.9, cpuPressure: () => 0 };
    const cluster = new InProcessCluster({ nodes: 3, seed: 9, hash, yieldToEventLoop, clientLoad: (nodeId) => (nodeId === 'n1' ? busyNode : noClientsOfItsOwn(0)) });
    await cluster.start();
    await cluster.run(3000);
    cluster.member('n1').node.admitClients();
    const n1 = cluster.member('n1').node;
    for (let i = 0; i < 2400; i++) await cluster.settle(n1.coordinator.put(`key-${i}`, i, 2));
    await cluster.run(3000);
    const pages = new Map<string, number[]>();
    for (const nodeId of ['n1', 'n2']) {
      const engine = cluster.member(nodeId).engine;
      const discard = engine.discard.bind(engine);
      pages.set(nodeId, []);
      engine.discard = (entries) => {
        pages.get(nodeId)?.push(entries.length);
        return discard(entries);
      };
    }
    cluster.join('n4');
    const cleaned = () => ['n1', 'n2'].every((nodeId) => cluster.member(nodeId).node.rebalancer.jobs().some((job) => job.kind === 'cleanup' && job.state === 'done'));
    for (let waitedMs = 0; waitedMs < 120_000 && !(cluster.ringSettled() && cleaned()); waitedMs += 500) await cluster.run(500);
    assert.ok(cluster.ringSettled() && cleaned(), 'the join and its cleanups ended');
    const largest = (nodeId: string) => Math.max(...(pages.get(nodeId) ?? []));
    assert.equal(largest('n1'), backgroundSliceUnderLoad, `n1, under load, dropped pages of ${pages.get('n1')?.join(', ')} keys`);
    assert.ok(largest('n2') > backgroundSliceUnderLoad, `n2, with no clients, dropped pages of ${pages.get('n2')?.join(', ')} keys`);
    cluster.stop();
  });

  it("pauses a cleanup under load while the new replicas answer its page's hand-off, not after", async () => {
    const busyNode: ClientLoad = { inflight: () => 20, busyShare: () => 0.9, cpuPressure: () => 0 };
    /** When each of n1's hand-off questions (`versions`) went out and when its answer arrived, in virtual ms. */
    const asked: Array<{ fromMs: number; toMs: number }> = [];
    // A reply's event carries the very request it answers.
    const sentAtMs = new Map<MessageEvent['request'], number>();
    // The observer is made before the cluster it watches.
    const watched: { cluster?: InProcessCluster } = {};
    const observe = (event: MessageEvent) => {
      const cluster = watched.cluster;
      if (event.request.type !== 'versions' || event.fate.kind !== 'sent' || cluster === undefined) return;
      const nowMs = cluster.clock.nowMs();
      if (event.reply === undefined && event.from === cluster.member('n1').address) sentAtMs.set(event.request, nowMs);
      const since = sentAtMs.get(event.request);
      if (event.reply !== undefined && since !== undefined) asked.push({ fromMs: since, toMs: nowMs + Math.min(...event.fate.delaysMs) });
    };
    const running = new InProcessCluster({
      nodes: 3,
      seed: 11,
      hash,
      yieldToEventLoop,
      network: { delayMinMs: 20, delayMaxMs: 20 },
      networkObserver: { messageSent: observe },
      clientLoad: (nodeId) => (nodeId === 'n1' ? busyNode : noClientsOfItsOwn(0)),
    });
    watched.cluster = running;
    await running.start();
    await running.run(3000);
    running.member('n1').node.admitClients();
    const n1 = running.member('n1');
    for (let i = 0; i < 3000; i++) await running.settle(n1.node.coordinator.put(`key-${i}`, i, 2));
    await running.run(3000);
    // Each walk and drop takes 5 ms of n1's disk, so each turn pauses for nine times its work.
    n1.disk.delayMinMs = 5;
    n1.disk.delayMaxMs = 5;
    const turnsAtMs: number[] = [];
    const turn = n1.node.budget.turn.bind(n1.node.budget);
    n1.node.budget.turn = (startedAtMs) => {
      turnsAtMs.push(running.clock.nowMs());
      return turn(startedAtMs);
    };
    running.join('n4');
    const cleaned = () => n1.node.rebalancer.jobs().some((job) => job.kind === 'cleanup' && job.state === 'done');
    for (let waitedMs = 0; waitedMs < 300_000 && !(running.ringSettled() && cleaned()); waitedMs += 500) await running.run(500);
    assert.ok(running.ringSettled() && cleaned(), 'the join and n1 cleanup ended');
    // About 750 keys leave n1: three pages under load, so at least two turns between them.
    const overlapped = turnsAtMs.filter((atMs) => asked.some(({ fromMs, toMs }) => fromMs <= atMs && atMs < toMs));
    assert.ok(overlapped.length >= 2, `of n1's ${turnsAtMs.length} turns, ${overlapped.length} began while one of its ${asked.length} hand-off questions waited for an answer`);
    running.stop();
  });
});
