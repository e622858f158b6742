// Checks on an in-process cluster that, while a node joins, a write is sent to the key's
// replicas in the ring the data is going to (the joiner too) as well as in the ring it is
// in, and needs W acks in each (ring/placement.ts), and
// that the planted bug which skips the joiner (testing/planted-bugs.ts) breaks exactly that:
// the simulator finds that bug only rarely, since repair hides most of what it breaks.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import type { PlantedBugs } from '../testing/planted-bugs.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Copies of each written key held by its replicas in the target ring, written while n4 joins (its transfer paused). */
async function copiesWhileJoining(plantedBugs: PlantedBugs): Promise<number[]> {
  const cluster = new InProcessCluster({ nodes: 3, seed: 51, hash, yieldToEventLoop, plantedBugs });
  await cluster.start();
  // The cluster serves (and so holds data): a node that joins must receive it first.
  assert.equal(cluster.member('n1').node.admitClients(), true);
  await cluster.run(1000);
  const joiner = cluster.join('n4');
  for (let waitedMs = 0; waitedMs < 5000 && cluster.member('n1').node.placement.transition === 0; waitedMs += 50) await cluster.run(50);
  // Keep the join from completing: pause the transfer as soon as it has begun.
  for (let waitedMs = 0; waitedMs < 5000 && !joiner.node.rebalancer.pause(); waitedMs += 10) await cluster.run(10);
  const placement = cluster.member('n1').node.placement;
  assert.notEqual(placement.transition, 0, 'n4 is joining');
  assert.equal(cluster.member('n1').node.membership.ringOf('n4'), 'joining');
  const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`).filter((key) => placement.target.preferenceList(key).includes('n4'));
  assert.ok(keys.length > 5);
  for (const key of keys) await cluster.settle(cluster.member('n1').node.coordinator.put(key, 1, 2));
  const copies: number[] = [];
  for (const key of keys) {
    let held = 0;
    for (const nodeId of placement.target.preferenceList(key)) if ((await cluster.member(nodeId).engine.get(key)) !== undefined) held++;
    copies.push(held);
  }
  cluster.stop();
  return copies;
}

describe('writes while the ring changes', () => {
  it('reach every replica of the target ring, the joiner too, while a node joins', async () => {
    const copies = await copiesWhileJoining({});
    assert.ok(copies.every((held) => held === 3), `copies per key in the target ring: ${copies.join(', ')}`);
  });

  it('do not when the planted bug sends them to the read ring only', async () => {
    const copies = await copiesWhileJoining({ writeOnlyToReadRing: true });
    assert.ok(
      copies.every((held) => held < 3),
      `with writes to the read ring only, the joiner misses them: ${copies.join(', ')}`,
    );
  });
});
