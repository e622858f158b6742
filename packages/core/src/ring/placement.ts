// Where keys live while the ring changes (docs/design.md, "Membership and ring": join, leave,
// remove). Two rings are derived from the members' ring statuses:
// - the read ring holds normal and leaving members: the replicas that have every key, so
//   reads, read repair and anti-entropy use it;
// - the target ring holds normal and joining members: where the data is going.
// While they differ, a write must reach W replicas in each of them (and, for a short
// settle period after the read ring moved, in the previous read ring too), so whichever
// ring a reader uses, its R replicas meet the W that acknowledged the write. The data a
// member gains streams to it before its status changes (rebalance/transfer.ts).
import type { KeyHasher } from './hash.js';
import { joinedArcs, Ring, type RingArc } from './ring.js';
import { inRing } from '../cluster/cluster-state.js';
import type { RingStatus } from '../protocol/messages.js';

export interface Placement {
  read: Ring;
  target: Ring;
  /** Every ring in which a write needs W acks: read, target and any still settling. */
  writes: readonly Ring[];
  /** Identifies the change from `read` to `target`; 0 when they are the same ring. */
  transition: number;
  /** Read rings replaced recently, which writes still reach (see nextPlacement). */
  settling: readonly SettlingRing[];
}

/** A read ring that was replaced, and what must pass before writes stop reaching it. */
export interface SettlingRing {
  ring: Ring;
  /** The settle period ends then… */
  untilMs: number;
  /** …and every member that may route must have seen this epoch (the barrier). */
  epoch: number;
}

export interface RingSettings {
  vnodes: number;
  replicas: number;
  hash: KeyHasher;
}

export interface PlacementSettings extends RingSettings {
  /** How long a replaced read ring keeps receiving writes at least. */
  settleMs: number;
}

/** What the next placement is built from: the cluster state as this node holds it, now. */
export interface PlacementInput {
  members: ReadonlyArray<{ nodeId: string; ring: RingStatus; life?: number }>;
  /**
   * A member's ring status moved on (rather than members being discovered): nodes that
   * have not heard yet still read the old ring, so writes must keep reaching it.
   */
  moved: boolean;
  nowMs: number;
  /** The epoch of the state `members` come from. */
  epoch: number;
  /** Whether every member that may route has seen an epoch (cluster/cluster-state.ts barrierPassed). */
  barrierPassed(epoch: number): boolean;
}

/**
 * A ring is formed when it holds N members (or every member in or joining the ring, in a
 * smaller cluster; members on standby are not in it): only then can it have readers. An
 * empty ring is never formed.
 */
export function isFormed(ring: Ring, members: ReadonlyArray<{ ring: RingStatus }>, replicas: number): boolean {
  return isFormedAmong(ring, members.filter((member) => inRing(member.ring)).length, replicas);
}

/** isFormed, given how many members are in or joining the ring (Membership.countInRing). */
export function isFormedAmong(ring: Ring, membersInRing: number, replicas: number): boolean {
  return ring.nodeIds.length > 0 && ring.nodeIds.length >= Math.min(replicas, membersInRing);
}

/**
 * The placement that follows `previous` (undefined at start) for the members' ring
 * statuses, as a value: rings that did not change are kept (building one costs), a
 * replaced read ring settles (writes still reach it) until the settle period has passed
 * and every member has seen the epoch that replaced it, and a ring still forming has no
 * readers, so it needs no settling.
 */
export function nextPlacement(previous: Placement | undefined, input: PlacementInput, settings: PlacementSettings): Placement {
  const readIds = readMembers(input.members);
  const targetIds = targetMembers(input.members);
  let settling = previous?.settling ?? [];
  let read = previous?.read;
  if (read === undefined || !holdsExactly(read, readIds)) {
    if (read !== undefined && input.moved && isFormed(read, input.members, settings.replicas)) {
      settling = [...settling, { ring: read, untilMs: input.nowMs + settings.settleMs, epoch: input.epoch }];
    }
    read = buildRing(readIds, settings);
  }
  let target = previous?.target;
  if (target === undefined || !holdsExactly(target, targetIds)) target = buildRing(targetIds, settings);
  if (target.fingerprint === read.fingerprint) target = read;
  const readFingerprint = read.fingerprint;
  settling = settling.filter((entry) => (entry.untilMs > input.nowMs || !input.barrierPassed(entry.epoch)) && entry.ring.fingerprint !== readFingerprint);
  const writes: Ring[] = [read];
  for (const ring of [target, ...settling.map((entry) => entry.ring)]) {
    if (!writes.some((held) => held.fingerprint === ring.fingerprint)) writes.push(ring);
  }
  let lives = 0;
  for (const member of input.members) lives += member.life ?? 0;
  return { read, target, writes, transition: transitionId(read, target, settings.hash, lives), settling };
}

/** True when the ring's members are exactly `nodeIds` (in any order). */
function holdsExactly(ring: Ring, nodeIds: readonly string[]): boolean {
  return ring.nodeIds.join() === [...nodeIds].sort().join();
}

export function readMembers(members: ReadonlyArray<{ nodeId: string; ring: RingStatus }>): string[] {
  return members.filter((member) => member.ring === 'normal' || member.ring === 'leaving').map((member) => member.nodeId);
}

export function targetMembers(members: ReadonlyArray<{ nodeId: string; ring: RingStatus }>): string[] {
  return members.filter((member) => member.ring === 'normal' || member.ring === 'joining').map((member) => member.nodeId);
}

export function buildRing(nodeIds: readonly string[], settings: RingSettings): Ring {
  return new Ring({ nodeIds, vnodes: settings.vnodes, replicas: settings.replicas, hash: settings.hash });
}

/**
 * Names the change from `read` to `target`; `lives` (the members' lives summed) tells apart
 * the same rings met again after an id rejoined, so that a `synced` mark from the first
 * time is not taken for the second (membership/membership.ts, "Lives").
 */
export function transitionId(read: Ring, target: Ring, hash: KeyHasher, lives = 0): number {
  if (read.fingerprint === target.fingerprint) return 0;
  return hash(lives === 0 ? `${read.fingerprint}>${target.fingerprint}` : `${read.fingerprint}>${target.fingerprint}@${lives}`) || 1;
}

/** Members that are replicas of some keys in `target` but not in `read`: they must receive data. */
export function gainers(read: Ring, target: Ring): Set<string> {
  const out = new Set<string>();
  if (read.fingerprint === target.fingerprint) return out;
  const positions = new Set<number>([...read.tokenPositions(), ...target.tokenPositions()]);
  for (const position of positions) {
    const before = read.preferenceListAt(position);
    for (const nodeId of target.preferenceListAt(position)) if (!before.includes(nodeId)) out.add(nodeId);
  }
  return out;
}

/**
 * Whether `source` should send `key` to `receiver`: the receiver gains the key, and the
 * source is a replica that the key leaves (its copy is the one the receiver replaces), or,
 * when every such replica is unavailable, any other replica of the read ring.
 */
export function sendsKey(read: Ring, target: Ring, key: string, source: string, receiver: string, unavailable: ReadonlySet<string>): boolean {
  return sendsAt(read, target, read.hashOf(key), source, receiver, unavailable);
}

/** sendsKey for every key at ring position `position`. */
export function sendsAt(read: Ring, target: Ring, position: number, source: string, receiver: string, unavailable: ReadonlySet<string>): boolean {
  const after = target.preferenceListAt(position);
  if (!after.includes(receiver)) return false;
  const before = read.preferenceListAt(position);
  if (before.includes(receiver) || !before.includes(source)) return false;
  let leaverAvailable = false;
  for (const nodeId of before) {
    if (after.includes(nodeId)) continue;
    if (nodeId === source) return true;
    if (!unavailable.has(nodeId)) leaverAvailable = true;
  }
  return !leaverAvailable;
}

/**
 * The arcs of the circle whose keys `source` sends to `receiver` (sendsKey), neighbours
 * joined. Between two neighbouring tokens of the read and target rings together, both
 * preference lists are the same for every position, so sendsKey's answer is too: it is
 * decided once per arc, at its end token. A transfer walks these arcs of the engine's ring
 * index (rebalance/transfer-source.ts) instead of every key.
 */
export function sendingArcs(read: Ring, target: Ring, source: string, receiver: string, unavailable: ReadonlySet<string>): RingArc[] {
  const ends = [...new Set([...read.tokenPositions(), ...target.tokenPositions()])].sort((a, b) => a - b);
  return joinedArcs(ends, (index) => sendsAt(read, target, ends[index] as number, source, receiver, unavailable));
}
