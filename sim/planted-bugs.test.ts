// Plants each bug of PlantedBugs in turn and asserts that the simulator finds it within a
// bounded number of seeds, with the checker one would expect, and that the same seeds
// pass with the bug switched off: a checker that cannot fail proves nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlantedBugs } from '@ringkv/core/testing';
import { ciSeedCounts } from './ci-seeds.js';
import { describeFailure } from './report.js';
import { runSimulation, type RunResult } from './run.js';
import type { Profile } from './scenario.js';
import type { ViolationKind } from './violations.js';

const seedsMax = 200;

/** What each bug must show up as: a violation of the guarantee it breaks, as a client sees it. */
const expectedKinds: Record<keyof Required<PlantedBugs>, readonly ViolationKind[]> = {
  // W acks promised, one given: a later quorum read can miss the write.
  acknowledgeAfterFirstAck: ['stale-read', 'lost-write', 'resurrected-delete'],
  // After a backward clock jump a coordinator stamps a newer write below an older one
  // (seen as a version regression of that coordinator, or as the older write winning).
  clockFollowsWallBlindly: ['lost-write', 'stale-read', 'resurrected-delete', 'version-regression'],
  // A late, duplicated or reordered put overwrites a newer copy (under a version nobody issued).
  replicaIgnoresVersions: ['stale-read', 'lost-write', 'resurrected-delete', 'divergent-replicas', 'phantom-value'],
  // A hint is not a replica: a write "acknowledged" by hints is on fewer than W replicas.
  countHintTowardW: ['stale-read', 'lost-write', 'resurrected-delete'],
  // A tombstone purged while a replica still holds the older value: anti-entropy brings it back.
  purgeTombstonesEarly: ['resurrected-delete'],
  // A write made while a node joins misses the joiner once its transfer has passed the
  // key; when the joiner takes over, quorum reads miss the write, and the old owner drops it.
  writeOnlyToReadRing: ['stale-read', 'lost-write', 'resurrected-delete'],
  // A replica serves a request routed by a ring it knows to be old: a coordinator that
  // missed a ring change (its gossip starved) writes to the old owners only.
  fencingOff: ['stale-read', 'lost-write', 'resurrected-delete'],
  // A node that missed a transfer holds the only copy of a write (acknowledged at W=1, or
  // its peers' copies lost); dropped unseen when it cleans up, the write is gone.
  cleanupWithoutHandoff: ['stale-read', 'lost-write'],
  // Two proposers each proceed on one promise: both are accepted, both answered 200.
  acceptWithoutPromiseQuorum: ['double-win', 'not-linearizable', 'stale-read'],
  // A proposal accepted by a minority is overwritten by a new one, and then finished later.
  ignoreInProgress: ['double-win', 'not-linearizable', 'refused-write-visible', 'stale-read'],
  // A value that never expires is read after its expiry.
  replicaDropsTtl: ['expired-value-read'],
  // A watch that does not wait for the slowest member passes changes it has not read yet.
  watchPassesSlowMembers: ['watch-missed-change', 'watch-out-of-order'],
};

/** Bugs that only ring changes can show run in that profile. */
const profileFor: Partial<Record<keyof PlantedBugs, Profile>> = {
  writeOnlyToReadRing: 'ring-changes',
  fencingOff: 'slow-gossip',
  cleanupWithoutHandoff: 'slow-gossip',
  acceptWithoutPromiseQuorum: 'cas',
  ignoreInProgress: 'cas',
};

/** The first seed in 1..seedsMax whose run shows one of `kinds`. */
async function firstSeedShowing(plantedBugs: PlantedBugs, kinds: readonly ViolationKind[], profile: Profile): Promise<RunResult | undefined> {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const result = await runSimulation(seed, { plantedBugs, profile });
    if (result.violations.some((violation) => kinds.includes(violation.kind))) return result;
  }
  return undefined;
}

/**
 * Bugs whose damage other safeguards mostly hide, so that the simulator finds them too
 * rarely for CI, and the test that finds them every time instead. writeOnlyToReadRing:
 * repair and the cleanup's hand-off make up for the writes the joiner missed (seed 68 of
 * 200 before the hand-off, 346 of 400 after). fencingOff: a ring change is told at once
 * to every member its node reaches, the barrier holds it for the rest, and cleanups hand
 * keys on, so a stale route rarely shows to a client (slow-gossip seed 300, as replicas
 * that never converge).
 */
const foundElsewhere: Partial<Record<keyof PlantedBugs, string>> = {
  writeOnlyToReadRing: 'packages/core/src/cluster/ring-change-writes.test.ts',
  fencingOff: 'packages/core/src/cluster/fencing.test.ts',
  // cleanupWithoutHandoff: found at slow-gossip seed 149 of 200 once; since the watching
  // client's messages shifted every schedule, first at seed 1,226 (4 seeds of 2,000): a
  // node that alone holds a write while its replicas change is rare under the other safeguards.
  cleanupWithoutHandoff: 'packages/core/src/rebalance/cleanup-handoff.test.ts',
};

describe('planted bugs', () => {
  for (const [bug, kinds] of Object.entries(expectedKinds) as Array<[keyof PlantedBugs, readonly ViolationKind[]]>) {
    const elsewhere = foundElsewhere[bug];
    const options = elsewhere === undefined ? { timeout: 60_000 } : { skip: `found by ${elsewhere}` };
    it(`finds ${bug} within ${seedsMax} seeds, and the same seeds pass without it`, options, async () => {
      const profile = profileFor[bug] ?? 'standard';
      const found = await firstSeedShowing({ [bug]: true }, kinds, profile);
      assert.ok(found !== undefined, `no seed in 1..${seedsMax} showed ${bug} as ${kinds.join(' or ')}`);
      // Seeds CI already runs without any bug (simulation.test.ts) are not run again here.
      for (let seed = ciSeedCounts[profile] + 1; seed <= found.seed; seed++) {
        const clean = await runSimulation(seed, { profile });
        assert.deepEqual(clean.violations, [], `seed ${seed} fails without any planted bug:\n${describeFailure(clean)}`);
      }
      const report = describeFailure(found);
      assert.match(report, new RegExp(`replay: npm run sim -- --seed ${found.seed} .*--bug ${bug}`));
    });
  }
});
