// Known bugs the simulator plants in the core to prove it finds them (a checker that
// cannot fail proves nothing). Each is planted at a seam the node already takes as a
// dependency (its engine, its version clock, its quorum policy, its purge policy), so
// production code holds no test-only branch: `withPlantedBugs` swaps the faulty parts in.
import type { ClusterNodeDeps } from '../cluster/cluster-node.js';
import type { FencingPolicy } from '../cluster/cluster-state.js';
import { strictPaxos, type PaxosPolicy } from '../cluster/paxos.js';
import type { CleanupHandoff } from '../rebalance/cleanup-handoff.js';
import { strictQuorum, type QuorumPolicy } from '../cluster/quorum-policy.js';
import type { PurgePolicy } from '../repair/tombstone-purge.js';
import { TtlDroppingEngine, VersionBlindEngine } from './version-blind-engine.js';
import { WallFollowingClock } from './wall-following-clock.js';

export interface PlantedBugs {
  /** The coordinator answers a write after the first ack, whatever W asked for. */
  acknowledgeAfterFirstAck?: boolean;
  /** The hybrid logical clock follows the wall clock blindly, so it can go backwards. */
  clockFollowsWallBlindly?: boolean;
  /** A replica stores every record it receives, even one older than its copy. */
  replicaIgnoresVersions?: boolean;
  /** The coordinator counts a hint left for a down replica as one of the W acks. */
  countHintTowardW?: boolean;
  /** Tombstones are purged on a timer alone, without waiting for every replica to verify them. */
  purgeTombstonesEarly?: boolean;
  /** While the ring changes, writes reach only the current owners, not the ones taking over. */
  writeOnlyToReadRing?: boolean;
  /** Replicas serve every request whatever cluster state it was routed by (no epoch fencing). */
  fencingOff?: boolean;
  /** A cleanup drops the keys a node no longer owns without handing them to their new replicas first. */
  cleanupWithoutHandoff?: boolean;
  /** A Paxos proposer goes on to propose after any one promise, not a majority's. */
  acceptWithoutPromiseQuorum?: boolean;
  /** A Paxos proposer ignores a proposal its promises show in progress, and proposes its own. */
  ignoreInProgress?: boolean;
  /** A replica stores a value written with a ttl as a permanent one, so it never expires. */
  replicaDropsTtl?: boolean;
  /** A watch passes a time once any member has (the highest floor), not once every member has. */
  watchPassesSlowMembers?: boolean;
}

export const noPlantedBugs: PlantedBugs = Object.freeze({});

/** The names of every bug that can be planted, for command lines and test tables. */
export const plantedBugNames: ReadonlyArray<keyof PlantedBugs> = Object.freeze([
  'acknowledgeAfterFirstAck',
  'clockFollowsWallBlindly',
  'replicaIgnoresVersions',
  'countHintTowardW',
  'purgeTombstonesEarly',
  'writeOnlyToReadRing',
  'fencingOff',
  'cleanupWithoutHandoff',
  'acceptWithoutPromiseQuorum',
  'ignoreInProgress',
  'replicaDropsTtl',
  'watchPassesSlowMembers',
]);

/** A node's dependencies with the faulty parts for `bugs` swapped in; with none planted, `deps` as given. */
export function withPlantedBugs(deps: ClusterNodeDeps, bugs: PlantedBugs): ClusterNodeDeps {
  const planted: ClusterNodeDeps = { ...deps };
  if (bugs.replicaIgnoresVersions === true) planted.engine = new VersionBlindEngine(deps.engine);
  if (bugs.replicaDropsTtl === true) planted.engine = new TtlDroppingEngine(planted.engine);
  if (bugs.clockFollowsWallBlindly === true) planted.hlc = new WallFollowingClock(() => deps.clock.nowMs(), deps.hlcStartAfter ?? 0);
  if (bugs.acknowledgeAfterFirstAck === true || bugs.countHintTowardW === true || bugs.writeOnlyToReadRing === true) planted.quorum = plantedQuorum(bugs);
  if (bugs.purgeTombstonesEarly === true) planted.purgePolicy = purgeOnTimeAlone;
  if (bugs.fencingOff === true) planted.fencing = servesAnyRoute;
  if (bugs.cleanupWithoutHandoff === true) planted.cleanupHandoff = dropsUnseen;
  if (bugs.acceptWithoutPromiseQuorum === true || bugs.ignoreInProgress === true) planted.paxosPolicy = plantedPaxos(bugs);
  if (bugs.watchPassesSlowMembers === true) planted.watchResolvedOf = (floors) => Math.max(...floors);
  return planted;
}

/** The strict Paxos policy with the planted bugs that concern it. */
export function plantedPaxos(bugs: PlantedBugs): PaxosPolicy {
  return {
    decidePromises:
      bugs.acceptWithoutPromiseQuorum === true ? (groups, answers) => ([...answers.values()].includes('yes') ? 'reached' : strictPaxos.decidePromises(groups, answers)) : strictPaxos.decidePromises,
    readPromises: bugs.ignoreInProgress === true ? (promises) => ({ ...strictPaxos.readPromises(promises), inProgress: null }) : strictPaxos.readPromises,
  };
}

/** The strict quorum with the planted bugs that concern it. */
export function plantedQuorum(bugs: PlantedBugs): QuorumPolicy {
  return {
    writeRings: bugs.writeOnlyToReadRing === true ? (placement) => [placement.read] : strictQuorum.writeRings,
    isWritten:
      bugs.acknowledgeAfterFirstAck === true
        ? (acksPerGroup, required) => strictQuorum.isWritten(acksPerGroup, required) || acksPerGroup.some((acks) => acks > 0)
        : strictQuorum.isWritten,
    hintStandsInForAck: bugs.countHintTowardW === true,
  };
}

/** Drops every key outside the node's ranges, whether its new replicas hold it or not. */
export const dropsUnseen: CleanupHandoff = (foreign) => Promise.resolve([...foreign]);

/** Judges every request current, whatever state it was routed by. */
export const servesAnyRoute: FencingPolicy = Object.freeze({ judge: () => 'current' as const });

/** Purges every tombstone older than the margin, verified on every replica or not. */
export const purgeOnTimeAlone: PurgePolicy = Object.freeze({ cutoffMs: (_horizons: readonly number[], nowMs: number) => nowMs });
