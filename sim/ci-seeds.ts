// How many seeds of each profile CI runs (sim/simulation.test.ts), in one place: the
// planted-bug test counts on them too (a seed CI already passes without a bug need not be
// run again there).
import type { Profile } from './scenario.js';

export const ciSeedCounts: Readonly<Record<Profile, number>> = Object.freeze({
  standard: 500,
  'skewed-clocks': 100,
  'ring-changes': 150,
  'slow-gossip': 150,
  cas: 100,
});
