// Checks the tombstone purge on a memory engine and a real range index: below every
// member's horizon (less the margin) tombstones go, but never while the ring changes, when
// a node gaining a range may hold an older copy no horizon covers (simulator seed 931086
// of ring-changes: a delete came back that way).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hlcLogicalBits } from '../clock/hlc.js';
import { MemoryJobStore } from '../rebalance/job.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { buildRing } from '../ring/placement.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { IndexedEngine } from './indexed-engine.js';
import { RangeIndex } from './range-index.js';
import { TombstonePurge } from './tombstone-purge.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const marginMs = 1000;

async function purgeWith(ringChanging: boolean): Promise<{ held: boolean; watermark: number }> {
  const index = new RangeIndex(buildRing(['n1', 'n2', 'n3'], { vnodes: 8, replicas: 3, hash }), hash);
  const engine = new IndexedEngine(new MemoryEngine(), () => [index]);
  const deletedAtMs = 5000;
  await engine.apply('gone', { value: undefined, tombstone: true, hlc: deletedAtMs * 2 ** hlcLogicalBits, nodeId: 'n1' });
  const purge = new TombstonePurge(
    {
      engine,
      index: () => index,
      store: new MemoryJobStore(),
      nowMs: () => 60_000,
      // Every member verified every range well after the delete.
      horizons: () => [50_000, 50_000, 50_000],
      ringChanging: () => ringChanging,
    },
    { marginMs },
  );
  await purge.round();
  return { held: (await engine.get('gone')) !== undefined, watermark: purge.watermark };
}

describe('tombstone purge', () => {
  it('purges a tombstone below every horizon less the margin', async () => {
    const { held, watermark } = await purgeWith(false);
    assert.equal(held, false);
    assert.equal(watermark, (50_000 - marginMs) * 2 ** hlcLogicalBits);
  });

  it('purges nothing and raises no watermark while the ring changes', async () => {
    const { held, watermark } = await purgeWith(true);
    assert.equal(held, true);
    assert.equal(watermark, 0);
  });
});
