// Checks that each planted bug lives at its seam and does what it says (and only when
// planted): the faulty engine, clock, quorum and purge policies against the correct ones.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HybridLogicalClock } from '../clock/hlc.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { ClusterNodeDeps } from '../cluster/cluster-node.js';
import { strictQuorum } from '../cluster/quorum-policy.js';
import { purgeBelowEveryHorizon } from '../repair/tombstone-purge.js';
import { SeededRng } from '../rng.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import type { StoredRecord } from '../storage/record.js';
import { plantedQuorum, purgeOnTimeAlone, withPlantedBugs } from './planted-bugs.js';
import { VersionBlindEngine } from './version-blind-engine.js';
import { WallFollowingClock } from './wall-following-clock.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const live = (hlc: number, value: unknown): StoredRecord => ({ hlc, nodeId: 'n1', value, tombstone: false });

describe('planted bugs at seams', () => {
  it('VersionBlindEngine stores an older record over a newer one; the plain engine refuses it', async () => {
    const plain = new MemoryEngine(hash);
    await plain.apply('k', live(10, 'new'));
    assert.equal((await plain.apply('k', live(5, 'old'))).applied, false);
    const blind = new VersionBlindEngine(new MemoryEngine(hash));
    await blind.apply('k', live(10, 'new'));
    assert.equal((await blind.apply('k', live(5, 'old'))).applied, true);
    const stored = await blind.get('k');
    assert.equal(stored?.value, 'old');
    assert.ok((stored?.hlc ?? 0) > 10, 're-stamped above the copy it overwrote');
  });

  it('WallFollowingClock goes backwards with the wall clock and forgets what it observed; the HLC does neither', () => {
    let wallMs = 1_000_000;
    const correct = new HybridLogicalClock(() => wallMs);
    const faulty = new WallFollowingClock(() => wallMs);
    const before = [correct.now(), faulty.now()];
    correct.observe(before[0] as number + 5000);
    faulty.observe(before[1] as number + 5000);
    wallMs -= 100;
    assert.ok(correct.now() > (before[0] as number) + 5000);
    assert.ok(faulty.now() < (before[1] as number), 'the faulty clock went backwards');
  });

  it('plantedQuorum: each switch changes only its own rule', () => {
    assert.equal(plantedQuorum({}).isWritten([1], [2]), false);
    assert.equal(plantedQuorum({ acknowledgeAfterFirstAck: true }).isWritten([1, 0], [2, 2]), true);
    assert.equal(plantedQuorum({ acknowledgeAfterFirstAck: true }).isWritten([0, 0], [2, 2]), false);
    assert.equal(plantedQuorum({ countHintTowardW: true }).hintStandsInForAck, true);
    assert.equal(strictQuorum.hintStandsInForAck, false);
    const placement = { read: 'read', target: 'target', writes: ['read', 'target'] } as never;
    assert.deepEqual(plantedQuorum({ writeOnlyToReadRing: true }).writeRings(placement), ['read']);
    assert.deepEqual(plantedQuorum({}).writeRings(placement), ['read', 'target']);
  });

  it('purgeOnTimeAlone purges by the time; the default waits for every horizon', () => {
    assert.equal(purgeOnTimeAlone.cutoffMs([0, 500], 9000), 9000);
    assert.equal(purgeBelowEveryHorizon.cutoffMs([0, 500], 9000), 0);
    assert.equal(purgeBelowEveryHorizon.cutoffMs([], 9000), 0);
    assert.equal(purgeBelowEveryHorizon.cutoffMs([700, 500], 9000), 500);
  });

  it('withPlantedBugs swaps in a faulty part only for the bugs planted', () => {
    const clock = new VirtualClock();
    const engine = new MemoryEngine(hash);
    const deps = { engine, clock, rng: new SeededRng(1) } as unknown as ClusterNodeDeps;
    const clean = withPlantedBugs(deps, {});
    assert.equal(clean.engine, engine);
    assert.equal(clean.hlc, undefined);
    assert.equal(clean.quorum, undefined);
    assert.equal(clean.purgePolicy, undefined);
    const all = withPlantedBugs(deps, { replicaIgnoresVersions: true, clockFollowsWallBlindly: true, countHintTowardW: true, purgeTombstonesEarly: true });
    assert.ok(all.engine instanceof VersionBlindEngine);
    assert.ok(all.hlc instanceof WallFollowingClock);
    assert.equal(all.quorum?.hintStandsInForAck, true);
    assert.equal(all.purgePolicy, purgeOnTimeAlone);
  });
});
