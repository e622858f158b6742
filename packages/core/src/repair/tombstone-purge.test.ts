// Checks the tombstone purge on a memory engine and its ring index: below every
// member's horizon (less the margin) tombstones go, but never while the ring changes, when
// a node gaining a range may hold an older copy no horizon covers (simulator seed 931086
// of ring-changes: a delete came back that way).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hlcLogicalBits } from '../clock/hlc.js';
import { MemoryJobStore } from '../rebalance/job.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import type { StoredRecord } from '../storage/record.js';
import { TombstonePurge } from './tombstone-purge.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const marginMs = 1000;

const msToHlc = (ms: number) => ms * 2 ** hlcLogicalBits;

async function purgeWith(ringChanging: boolean, held: Record<string, StoredRecord> = {}): Promise<{ held: boolean; watermark: number; engine: MemoryEngine }> {
  const engine = new MemoryEngine(hash);
  const deletedAtMs = 5000;
  await engine.apply('gone', { value: undefined, tombstone: true, hlc: msToHlc(deletedAtMs), nodeId: 'n1' });
  for (const [key, record] of Object.entries(held)) await engine.apply(key, record);
  const purge = new TombstonePurge(
    {
      engine,
      store: new MemoryJobStore(),
      nowMs: () => 60_000,
      // Every member verified every range well after the delete.
      horizons: () => [50_000, 50_000, 50_000],
      ringChanging: () => ringChanging,
    },
    { marginMs },
  );
  await purge.round();
  return { held: (await engine.get('gone')) !== undefined, watermark: purge.watermark, engine };
}

describe('tombstone purge', () => {
  it('purges a tombstone below every horizon less the margin', async () => {
    const { held, watermark } = await purgeWith(false);
    assert.equal(held, false);
    assert.equal(watermark, (50_000 - marginMs) * 2 ** hlcLogicalBits);
  });

  it('purges a value whose ttl passed below the watermark, and keeps one still live there', async () => {
    const { engine } = await purgeWith(false, {
      expired: { value: 'a', tombstone: false, hlc: msToHlc(1000), nodeId: 'n1', expiresAt: msToHlc(2000) },
      // Written long ago but expiring above the watermark (49 s): still readable, so kept.
      expiring: { value: 'b', tombstone: false, hlc: msToHlc(1000), nodeId: 'n1', expiresAt: msToHlc(55_000) },
    });
    assert.equal(await engine.get('expired'), undefined);
    assert.equal((await engine.get('expiring'))?.value, 'b');
  });

  it('purges nothing and raises no watermark while the ring changes', async () => {
    const { held, watermark } = await purgeWith(true);
    assert.equal(held, true);
    assert.equal(watermark, 0);
  });
});
