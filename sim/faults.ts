// The faults of a run, planned up front from the seed and struck at their virtual times:
// network conditions (delay, loss, duplication, reordering), symmetric and one-way
// partitions, crashes that keep or lose the disk and the restarts after them, clock jumps
// and drift on one node, slow disks, gray failures (gray-failure.ts: a replica that
// answers after seconds) and full disks (disk-full.ts: a replica refuses writes for a
// while). Phase two heals all of them (`healAll`).
//
// In the ring-changes profile, operators also change the ring while the faults strike: a
// new node joins, a node leaves, or a node dies for good (`die`) and an operator removes
// it from a live node. An operator's request can be refused (the node to remove is not
// yet seen down, the one to leave is not normal yet); like an operator, the run asks
// again a little later (`operatorRetryMs`). Some nodes that left or were removed start
// again later under the same id (`rejoin`: a StatefulSet scaled back up), as new members
// on an empty disk. The slow-gossip profile adds starved gossip around those changes
// (slow-gossip.ts).
import type { MemoryNetworkOptions, RingChangeResult, SeededRng } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';
import { describeDiskFull, endDiskFull, planDiskFull, strikeDiskFull, type DiskFullFault } from './disk-full.js';
import { describeGrayFailure, endGrayFailures, planGrayFailures, strikeGrayFailure, type GrayFailure } from './gray-failure.js';
import type { History } from './history.js';
import { hasRingChanges, type Scenario } from './scenario.js';
import { describeGossipFault, planGossipStarvation, strikeGossipFault, type GossipFault, type PlannedRingChange } from './slow-gossip.js';

export type Fault =
  | { kind: 'network'; settings: Partial<MemoryNetworkOptions> }
  | { kind: 'cut'; links: Array<[string, string]>; label: string }
  | { kind: 'heal'; links: Array<[string, string]>; label: string }
  | { kind: 'crash'; nodeId: string; loseData: boolean }
  | { kind: 'restart'; nodeId: string }
  | { kind: 'clock-jump'; nodeId: string; deltaMs: number }
  | { kind: 'clock-drift'; nodeId: string; rate: number }
  | { kind: 'disk'; nodeId: string; delayMinMs: number; delayMaxMs: number }
  /** A new node starts; `standby`: outside the ring, until the operator's `join-ring`. */
  | { kind: 'join'; nodeId: string; standby?: boolean }
  /** The operator tells a node on standby to join the ring. */
  | { kind: 'join-ring'; nodeId: string }
  | { kind: 'leave'; nodeId: string }
  | { kind: 'die'; nodeId: string }
  | { kind: 'remove'; nodeId: string }
  /** A node that left (or was removed) starts again under its id, on an empty disk; `remembers`: its member list kept. */
  | { kind: 'rejoin'; nodeId: string; remembers: boolean }
  | GrayFailure
  | DiskFullFault
  | GossipFault;

export interface TimedFault {
  /** Virtual ms after the workload starts. */
  atMs: number;
  fault: Fault;
}

/** Bounds on the faults of one run. */
export const faultLimits = {
  partitionsMax: 2,
  crashesMax: 2,
  clockFaultsMax: 3,
  slowDisksMax: 2,
  /** Skew between node clocks in the skewed-clocks profile. */
  skewMsMax: 50,
  dropProbabilityMax: 0.08,
  duplicateProbabilityMax: 0.1,
  reorderProbabilityMax: 0.15,
  reorderDelayMsMax: 40,
  diskDelayMsMax: 20,
  /** Ring changes in one ring-changes run, at most. */
  ringChangesMax: 2,
  /** An operator who is refused asks again this much later, this many times at most. */
  operatorRetryMs: 100,
  operatorAttemptsMax: 150,
} as const;

/** Every fault of a run, sorted by time (ties keep planning order). */
export function planFaults(scenario: Scenario, rng: SeededRng, nodeIds: readonly string[]): TimedFault[] {
  const windowMs = scenario.limits.workloadMs;
  const conditions = networkConditions(rng);
  const planned: TimedFault[] = [{ atMs: 0, fault: { kind: 'network', settings: conditions } }];
  planned.push(...planNetworkStorm(rng, windowMs, conditions.dropProbability ?? 0));
  planned.push(...planPartitions(rng, windowMs, nodeIds));
  const crashes = planCrashes(rng, windowMs, nodeIds);
  planned.push(...crashes);
  const crashed = new Set(crashes.flatMap((timed) => (timed.fault.kind === 'crash' ? [timed.fault.nodeId] : [])));
  planned.push(...planClockFaults(scenario, rng, windowMs, nodeIds, crashed));
  planned.push(...planSlowDisks(rng, windowMs, nodeIds));
  const ringChanges = hasRingChanges(scenario.profile) ? planRingChanges(rng, windowMs, nodeIds, scenario.replicas) : [];
  planned.push(...ringChanges);
  planned.push(...planGrayFailures(rng, windowMs, nodeIds));
  planned.push(...planDiskFull(rng, windowMs, nodeIds));
  // Drawn last, so a slow-gossip seed plans the same faults as the ring-changes seed plus these.
  if (scenario.profile === 'slow-gossip') planned.push(...planGossipStarvation(rng, changesOf(ringChanges), nodeIds));
  // Later still, so the faults above stay as they were drawn before rejoins existed.
  planned.push(...planRejoins(rng, ringChanges));
  // And standby joins after those.
  planned.push(...planStandbyJoins(rng, ringChanges));
  const sorted = planned.map((timed, order) => ({ timed, order })).sort((a, b) => a.timed.atMs - b.timed.atMs || a.order - b.order).map(({ timed }) => timed);
  return withoutFaultsOnTheDead(sorted);
}

/** The ring changes of a plan, for the faults anchored on them (a death counts from its removal). */
function changesOf(planned: readonly TimedFault[]): PlannedRingChange[] {
  return planned.flatMap(({ atMs, fault }): PlannedRingChange[] => {
    if (fault.kind === 'join' || fault.kind === 'leave' || fault.kind === 'remove') return [{ atMs, kind: fault.kind, nodeId: fault.nodeId }];
    return [];
  });
}

/**
 * Drops what would strike a node after it died for good: a crash or restart of it (or a
 * slow disk, clock fault, gray failure or full disk) does nothing, and listing it in the
 * fault list would mislead. Nothing is drawn here, so the other faults stay as planned.
 */
function withoutFaultsOnTheDead(sorted: readonly TimedFault[]): TimedFault[] {
  const diedAtMs = new Map<string, number>();
  for (const { atMs, fault } of sorted) if (fault.kind === 'die') diedAtMs.set(fault.nodeId, atMs);
  const perNode = new Set<Fault['kind']>(['crash', 'restart', 'disk', 'clock-jump', 'clock-drift', 'gray', 'disk-full']);
  return sorted.filter(({ atMs, fault }) => {
    if (!perNode.has(fault.kind) || !('nodeId' in fault)) return true;
    const deathMs = diedAtMs.get(fault.nodeId);
    return deathMs === undefined || atMs < deathMs;
  });
}

function networkConditions(rng: SeededRng): Partial<MemoryNetworkOptions> {
  const sometimes = (max: number) => (rng.next() < 0.5 ? 0 : round3(rng.next() * max));
  return {
    delayMinMs: 1,
    delayMaxMs: 2 + rng.nextInt(11),
    dropProbability: sometimes(faultLimits.dropProbabilityMax),
    duplicateProbability: sometimes(faultLimits.duplicateProbabilityMax),
    reorderProbability: sometimes(faultLimits.reorderProbabilityMax),
    reorderDelayMaxMs: faultLimits.reorderDelayMsMax,
    // Mostly as over TCP, where a dead peer's closed socket fails requests at once; sometimes silent.
    refuseWhenDown: rng.next() < 0.7,
  };
}

/** Now and then a short stretch where a third of all messages are lost. */
function planNetworkStorm(rng: SeededRng, windowMs: number, dropProbability: number): TimedFault[] {
  if (rng.next() < 0.7) return [];
  const atMs = rng.nextInt(windowMs);
  return [
    { atMs, fault: { kind: 'network', settings: { dropProbability: 0.33 } } },
    { atMs: atMs + 20 + rng.nextInt(80), fault: { kind: 'network', settings: { dropProbability } } },
  ];
}

function planPartitions(rng: SeededRng, windowMs: number, nodeIds: readonly string[]): TimedFault[] {
  const planned: TimedFault[] = [];
  let fromMs = 0;
  for (let i = rng.nextInt(faultLimits.partitionsMax + 1); i > 0 && fromMs < windowMs; i--) {
    const atMs = fromMs + rng.nextInt(Math.max(1, windowMs - fromMs));
    const durationMs = 20 + rng.nextInt(180);
    const { links, label } = rng.next() < 0.6 ? symmetricSplit(rng, nodeIds) : oneWayCut(rng, nodeIds);
    planned.push({ atMs, fault: { kind: 'cut', links, label } }, { atMs: atMs + durationMs, fault: { kind: 'heal', links, label } });
    fromMs = atMs + durationMs + 1;
  }
  return planned;
}

/** One or two nodes cut off from the rest, both ways. */
function symmetricSplit(rng: SeededRng, nodeIds: readonly string[]): { links: Array<[string, string]>; label: string } {
  const shuffled = shuffle(rng, nodeIds);
  const minority = shuffled.slice(0, 1 + rng.nextInt(Math.max(1, Math.floor(nodeIds.length / 2))));
  const majority = shuffled.filter((nodeId) => !minority.includes(nodeId));
  const links: Array<[string, string]> = [];
  for (const a of minority) for (const b of majority) links.push([a, b], [b, a]);
  return { links, label: `partition {${minority.join(',')}} | {${majority.join(',')}}` };
}

function oneWayCut(rng: SeededRng, nodeIds: readonly string[]): { links: Array<[string, string]>; label: string } {
  const [from, to] = shuffle(rng, nodeIds) as [string, string];
  return { links: [[from, to]], label: `one-way cut ${from} -> ${to}` };
}

/** Crashes one at a time; some nodes stay down until phase two. */
function planCrashes(rng: SeededRng, windowMs: number, nodeIds: readonly string[]): TimedFault[] {
  const planned: TimedFault[] = [];
  let fromMs = 0;
  for (let i = rng.nextInt(faultLimits.crashesMax + 1); i > 0 && fromMs < windowMs; i--) {
    const atMs = fromMs + rng.nextInt(Math.max(1, windowMs - fromMs));
    const nodeId = nodeIds[rng.nextInt(nodeIds.length)] as string;
    planned.push({ atMs, fault: { kind: 'crash', nodeId, loseData: rng.next() < 0.3 } });
    if (rng.next() < 0.2) break; // down until phase two
    const restartMs = atMs + 20 + rng.nextInt(230);
    planned.push({ atMs: restartMs, fault: { kind: 'restart', nodeId } });
    fromMs = restartMs + 1;
  }
  return planned;
}

/**
 * Standard profile: clocks only fall behind (backward jumps, slow drift), only with
 * key-home routing and only on nodes that never crash. Those are the conditions under
 * which the hybrid logical clock keeps successive writes of a key in order today: one
 * coordinator's clock never goes backwards, but a restart forgets it, and two coordinators
 * are only ordered by the timestamps they have seen. The skewed-clocks profile drops all
 * three conditions.
 */
function planClockFaults(scenario: Scenario, rng: SeededRng, windowMs: number, nodeIds: readonly string[], crashed: ReadonlySet<string>): TimedFault[] {
  if (scenario.profile === 'skewed-clocks') {
    const planned: TimedFault[] = nodeIds.map((nodeId) => ({ atMs: 0, fault: { kind: 'clock-jump', nodeId, deltaMs: signedSkew(rng) } }));
    for (let i = rng.nextInt(faultLimits.clockFaultsMax + 1); i > 0; i--) {
      const nodeId = nodeIds[rng.nextInt(nodeIds.length)] as string;
      planned.push({ atMs: rng.nextInt(windowMs), fault: { kind: 'clock-jump', nodeId, deltaMs: signedSkew(rng) } });
    }
    return planned;
  }
  const steady = nodeIds.filter((nodeId) => !crashed.has(nodeId));
  if (scenario.routing !== 'key-home' || steady.length === 0) return [];
  const planned: TimedFault[] = [];
  for (let i = rng.nextInt(faultLimits.clockFaultsMax + 1); i > 0; i--) {
    const nodeId = steady[rng.nextInt(steady.length)] as string;
    const atMs = rng.nextInt(windowMs);
    const fault: Fault =
      rng.next() < 0.7 ? { kind: 'clock-jump', nodeId, deltaMs: -(5 + rng.nextInt(96)) } : { kind: 'clock-drift', nodeId, rate: -round3(0.02 + rng.next() * 0.3) };
    planned.push({ atMs, fault });
  }
  return planned;
}

function signedSkew(rng: SeededRng): number {
  return rng.nextInt(2 * faultLimits.skewMsMax + 1) - faultLimits.skewMsMax;
}

function planSlowDisks(rng: SeededRng, windowMs: number, nodeIds: readonly string[]): TimedFault[] {
  const planned: TimedFault[] = [];
  for (let i = rng.nextInt(faultLimits.slowDisksMax + 1); i > 0; i--) {
    const nodeId = nodeIds[rng.nextInt(nodeIds.length)] as string;
    const atMs = rng.nextInt(windowMs);
    const delayMaxMs = 1 + rng.nextInt(faultLimits.diskDelayMsMax);
    planned.push(
      { atMs, fault: { kind: 'disk', nodeId, delayMinMs: rng.nextInt(delayMaxMs + 1), delayMaxMs } },
      { atMs: atMs + 30 + rng.nextInt(170), fault: { kind: 'disk', nodeId, delayMinMs: 0, delayMaxMs: 0 } },
    );
  }
  return planned;
}

/**
 * One or two ring changes early in the window, so their transfers run under the workload:
 * a join of a new node, a leave, or a death followed by the operator's remove. A leave or
 * removal is planned only while at least N members would remain.
 */
function planRingChanges(rng: SeededRng, windowMs: number, nodeIds: readonly string[], replicas: number): TimedFault[] {
  const planned: TimedFault[] = [];
  const remaining = [...nodeIds];
  let members = nodeIds.length;
  let joins = 0;
  for (let i = 1 + rng.nextInt(faultLimits.ringChangesMax); i > 0; i--) {
    const atMs = rng.nextInt(Math.floor(windowMs / 2));
    const kinds = members - 1 >= replicas ? (['join', 'leave', 'remove'] as const) : (['join'] as const);
    const kind = kinds[rng.nextInt(kinds.length)] as (typeof kinds)[number];
    if (kind === 'join') {
      members++;
      joins++;
      planned.push({ atMs, fault: { kind: 'join', nodeId: `n${nodeIds.length + joins}` } });
      continue;
    }
    const nodeId = remaining.splice(rng.nextInt(remaining.length), 1)[0] as string;
    members--;
    if (kind === 'leave') planned.push({ atMs, fault: { kind: 'leave', nodeId } });
    else planned.push({ atMs, fault: { kind: 'die', nodeId } }, { atMs: atMs + 800 + rng.nextInt(400), fault: { kind: 'remove', nodeId } });
  }
  return planned;
}

/**
 * Half of the nodes that leave or are removed start again under their id a few seconds
 * later: a node that left with its member list kept or not, a dead one on a new machine
 * (nothing kept).
 */
function planRejoins(rng: SeededRng, ringChanges: readonly TimedFault[]): TimedFault[] {
  const planned: TimedFault[] = [];
  for (const { atMs, fault } of ringChanges) {
    if (fault.kind !== 'leave' && fault.kind !== 'remove') continue;
    if (rng.next() >= 0.5) continue;
    const remembers = fault.kind === 'leave' && rng.next() < 0.5;
    planned.push({ atMs: atMs + 1500 + rng.nextInt(1500), fault: { kind: 'rejoin', nodeId: fault.nodeId, remembers } });
  }
  return planned;
}

/**
 * Half of the new nodes start on standby (`ringkv node --standby`): members outside the
 * ring, serving clients as coordinators, until the operator tells them to join a moment
 * later. The join's fault is marked in place; the operator's request is returned.
 */
function planStandbyJoins(rng: SeededRng, ringChanges: readonly TimedFault[]): TimedFault[] {
  const planned: TimedFault[] = [];
  for (const { atMs, fault } of ringChanges) {
    if (fault.kind !== 'join' || rng.next() >= 0.5) continue;
    fault.standby = true;
    planned.push({ atMs: atMs + 300 + rng.nextInt(2500), fault: { kind: 'join-ring', nodeId: fault.nodeId } });
  }
  return planned;
}

/** What striking a fault did: `refused` when an operator's request was turned down (ask again later). */
export type StrikeOutcome = { refused: false } | { refused: true; message: string };

const struck: StrikeOutcome = { refused: false };

/** Strikes one fault. */
export function strike(cluster: InProcessCluster, fault: Fault, history: History, atMs: number): StrikeOutcome {
  const addressOf = (nodeId: string) => cluster.member(nodeId).address;
  switch (fault.kind) {
    case 'network':
      cluster.network.configure(fault.settings);
      return struck;
    case 'cut':
      for (const [from, to] of fault.links) cluster.network.cut(addressOf(from), addressOf(to), false);
      return struck;
    case 'heal':
      for (const [from, to] of fault.links) cluster.network.heal(addressOf(from), addressOf(to), false);
      return struck;
    case 'crash':
      if (!cluster.member(fault.nodeId).up) return struck;
      cluster.crash(fault.nodeId, { loseData: fault.loseData });
      if (fault.loseData) history.recordDataLoss(fault.nodeId, atMs);
      return struck;
    case 'restart': {
      const member = cluster.member(fault.nodeId);
      if (!member.up && !member.retired) cluster.restart(fault.nodeId);
      return struck;
    }
    case 'clock-jump':
      cluster.member(fault.nodeId).clock.jump(fault.deltaMs);
      return struck;
    case 'clock-drift':
      cluster.member(fault.nodeId).clock.setDrift(fault.rate);
      return struck;
    case 'disk':
      Object.assign(cluster.member(fault.nodeId).disk, { delayMinMs: fault.delayMinMs, delayMaxMs: fault.delayMaxMs });
      return struck;
    case 'gray':
      strikeGrayFailure(cluster, fault);
      return struck;
    case 'disk-full':
      strikeDiskFull(cluster, fault);
      return struck;
    case 'starve-gossip':
    case 'gossip-restored':
      strikeGossipFault(cluster, fault);
      return struck;
    case 'join':
      cluster.join(fault.nodeId, { standby: fault.standby === true });
      return struck;
    case 'join-ring': {
      const member = cluster.members.find((candidate) => candidate.nodeId === fault.nodeId);
      if (member === undefined || !member.up) return { refused: true, message: `${fault.nodeId} is not running` };
      return outcomeOf(member.node.join());
    }
    case 'die':
      // Its disk is gone for the cluster: what only it held counts as lost, like a lost disk.
      cluster.retire(fault.nodeId);
      history.recordDataLoss(fault.nodeId, atMs);
      return struck;
    case 'leave': {
      const member = cluster.member(fault.nodeId);
      if (!member.up) return { refused: true, message: `${fault.nodeId} is not running` };
      return outcomeOf(member.node.leave());
    }
    case 'rejoin': {
      // Only once the old life has left and its process stopped (the operator scales up after the leave).
      const member = cluster.member(fault.nodeId);
      const left = cluster.members.some((other) => other.up && other.node.membership.ringOf(fault.nodeId) === 'left');
      if (!member.retired || !left) return { refused: true, message: `${fault.nodeId} has not left yet` };
      cluster.rejoin(fault.nodeId, { remembers: fault.remembers });
      return struck;
    }
    case 'remove': {
      // The operator asks any running node that serves requests.
      const via = cluster.members.find((member) => member.up && member.nodeId !== fault.nodeId && member.node.isReady());
      if (via === undefined) return { refused: true, message: 'no running node is ready' };
      return outcomeOf(via.node.remove(fault.nodeId));
    }
  }
}

function outcomeOf(result: RingChangeResult): StrikeOutcome {
  return result.ok ? struck : { refused: true, message: result.message };
}

/** Phase two: a clean network, fast disks, clocks that stop drifting (their offsets stay), every node running. */
export function healAll(cluster: InProcessCluster): string[] {
  cluster.network.healAll();
  endGrayFailures(cluster);
  endDiskFull(cluster);
  cluster.network.configure({ delayMinMs: 1, delayMaxMs: 3, dropProbability: 0, duplicateProbability: 0, reorderProbability: 0 });
  const restarted: string[] = [];
  for (const member of cluster.members) {
    Object.assign(member.disk, { delayMinMs: 0, delayMaxMs: 0 });
    member.clock.setDrift(0);
    if (!member.up && !member.retired) {
      cluster.restart(member.nodeId);
      restarted.push(member.nodeId);
    }
  }
  return restarted;
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'network': {
      const parts = Object.entries(fault.settings).map(([name, value]) => `${name}=${value}`);
      return `network ${parts.join(' ')}`;
    }
    case 'cut':
      return `cut: ${fault.label}`;
    case 'heal':
      return `heal: ${fault.label}`;
    case 'crash':
      return `crash ${fault.nodeId}${fault.loseData ? ' (disk lost)' : ' (disk kept)'}`;
    case 'restart':
      return `restart ${fault.nodeId}`;
    case 'clock-jump':
      return `clock ${fault.nodeId} jumps ${fault.deltaMs > 0 ? '+' : ''}${fault.deltaMs} ms`;
    case 'clock-drift':
      return `clock ${fault.nodeId} drifts ${fault.rate} ms per ms`;
    case 'disk':
      return fault.delayMaxMs === 0 ? `disk ${fault.nodeId} fast again` : `disk ${fault.nodeId} slow ${fault.delayMinMs}..${fault.delayMaxMs} ms`;
    case 'join':
      return fault.standby === true ? `${fault.nodeId} starts on standby (a new node, empty)` : `${fault.nodeId} joins (a new node, empty)`;
    case 'join-ring':
      return `operator: ${fault.nodeId} joins the ring`;
    case 'leave':
      return `operator: ${fault.nodeId} leaves`;
    case 'die':
      return `${fault.nodeId} dies for good`;
    case 'remove':
      return `operator: remove ${fault.nodeId}`;
    case 'rejoin':
      return `operator: ${fault.nodeId} starts again on an empty disk${fault.remembers ? ' (its member list kept)' : ''}, a new member under its old id`;
    case 'gray':
      return describeGrayFailure(fault);
    case 'disk-full':
      return describeDiskFull(fault);
    case 'starve-gossip':
    case 'gossip-restored':
      return describeGossipFault(fault);
  }
}

function shuffle<T>(rng: SeededRng, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
