// The cluster state: what every node must agree on for keys to be placed right, as one
// pure value (docs/design.md, "Cluster state and epochs"). For each member: its address,
// its ring status (standby, joining, normal, leaving, left), the ring transition it has received the
// data of (`synced`), its repair horizon, whether it has served clients, and the highest
// epoch it has seen. Liveness (up, suspect, down) is not part of it: that is SWIM's
// business (membership/membership.ts), which carries this state between nodes.
//
// Two copies of the state are combined by `reconcile`, a join: commutative, associative and
// idempotent (property tests in cluster-state.test.ts), so nodes that hear news in any
// order, any number of times, end with the same state. Every field only moves one way:
// ring statuses forward, horizons and epochs up, `serving` on; what only a member says of
// itself (address, synced mark) is versioned by its incarnation. A node id that left may
// join again as a new member: its `life` is one more, and a later life replaces the whole
// record of an earlier one (a new member under an old name).
//
// The epoch numbers the states by what decides placement, the members' lives and ring
// statuses: each member adds 5 × its life plus its status rank (standby 1 … left 5), so
// any status a state learns raises it (a new life follows `left`, so it raises it too), and
// of two states that differ, their reconciliation has a larger epoch than either. With the digest of the same statuses it tells a replica whether the
// request it serves was routed by the state it holds, an older one, or one it has not seen
// (cluster/cluster-node.ts, "fencing").
import type { MemberUpdate, RingStatus } from '../protocol/messages.js';

/** One member as the cluster state holds it: what its updates say (protocol/messages.ts), its liveness aside. */
export type MemberRecord = Omit<MemberUpdate, 'state'>;

/** Members by node id. */
export type ClusterState = ReadonlyMap<string, MemberRecord>;

const ringOrder: readonly RingStatus[] = ['standby', 'joining', 'normal', 'leaving', 'left'];

/** A ring status's place in the forward order, from 1 (standby) to 5 (left). */
export function ringRank(status: RingStatus): number {
  return ringOrder.indexOf(status) + 1;
}

/** Whether a member of this status is in the ring or on its way into it: neither on standby nor left. */
export function inRing(status: RingStatus): boolean {
  return status !== 'standby' && status !== 'left';
}

/** Whether a member of this status holds no ranges yet: on standby, or joining. */
export function holdsNoRanges(status: RingStatus): boolean {
  return status === 'standby' || status === 'joining';
}

/** The later of two ring statuses (statuses only move forward). */
export function laterRingStatus(a: RingStatus, b: RingStatus): RingStatus {
  return ringRank(a) >= ringRank(b) ? a : b;
}

/**
 * One member's record from two copies of it: the later ring status, the higher horizon
 * and epoch, serving if either says so, and the member's own claims (address, synced
 * mark) from the copy with the higher incarnation. Two copies at the same incarnation
 * that disagree on those (a member restarted and forgot) resolve by a fixed order, so
 * the result does not depend on which copy came first; the member then refutes with a
 * higher incarnation, which settles it.
 */
export function reconcileMember(a: MemberRecord, b: MemberRecord): MemberRecord {
  // A later life is a new member under the same id: nothing of the earlier one carries over.
  if (a.life !== b.life) return a.life > b.life ? a : b;
  const own = a.incarnation > b.incarnation ? a : b.incarnation > a.incarnation ? b : ownTieBreak(a, b);
  return {
    nodeId: a.nodeId,
    address: own.address,
    life: a.life,
    incarnation: own.incarnation,
    ring: laterRingStatus(a.ring, b.ring),
    synced: own.synced,
    horizon: Math.max(a.horizon, b.horizon),
    serving: a.serving || b.serving,
    epoch: Math.max(a.epoch, b.epoch),
  };
}

function ownTieBreak(a: MemberRecord, b: MemberRecord): MemberRecord {
  if (a.synced !== b.synced) return a.synced > b.synced ? a : b;
  return a.address >= b.address ? a : b;
}

/** The join of two states: every member of either, each reconciled. */
export function reconcile(a: ClusterState, b: ClusterState): ClusterState {
  const out = new Map(a);
  for (const [nodeId, record] of b) {
    const held = out.get(nodeId);
    out.set(nodeId, held === undefined ? record : reconcileMember(held, record));
  }
  return out;
}

/** Moves a member's ring status forward; a status that is not later returns the record unchanged. */
export function advanceRing(record: MemberRecord, status: RingStatus): MemberRecord {
  return ringRank(status) > ringRank(record.ring) ? { ...record, ring: status } : record;
}

/** The state's epoch: over its members, 5 × life plus ring rank (see the top of this file). */
export function epochOf(state: Iterable<Pick<MemberRecord, 'ring' | 'life'>>): number {
  let epoch = 0;
  for (const member of state) epoch += ringOrder.length * member.life + ringRank(member.ring);
  return epoch;
}

/**
 * A 32-bit digest of the members' lives and ring statuses (FNV-1a over `id:life:status` in
 * id order): two states with the same epoch and digest place every key the same way.
 */
export function ringDigestOf(state: Iterable<Pick<MemberRecord, 'nodeId' | 'ring' | 'life'>>): number {
  const entries = [...state].map((member) => `${member.nodeId}:${member.life}:${ringRank(member.ring)}`).sort();
  let hash = 0x811c9dc5;
  for (const entry of entries) {
    for (let i = 0; i < entry.length; i++) {
      hash ^= entry.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    hash ^= 0x2c; // a separator, so that [ab, c] and [a, bc] differ
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Which state a request was routed by: the epoch and the digest of the ring statuses. */
export interface RouteStamp {
  epoch: number;
  digest: number;
}

export function routeStampOf(state: Iterable<Pick<MemberRecord, 'nodeId' | 'ring' | 'life'>>): RouteStamp {
  const members = [...state];
  return { epoch: epochOf(members), digest: ringDigestOf(members) };
}

/**
 * How a replica holding `held` judges a request routed by `routed`:
 * - `current`: the same ring statuses: serve it;
 * - `newer`: the request knows more (a higher epoch): serve it, and learn the sender's state;
 * - `stale`: the replica knows more (a higher epoch), or as much but other news: refuse,
 *   so the coordinator learns this state and routes again.
 */
export function judgeRoute(held: RouteStamp, routed: RouteStamp): 'current' | 'newer' | 'stale' {
  if (routed.epoch === held.epoch && routed.digest === held.digest) return 'current';
  return routed.epoch > held.epoch ? 'newer' : 'stale';
}

/** How a replica judges the state a request was routed by: judgeRoute, or a planted bug that turns fencing off (testing/). */
export interface FencingPolicy {
  judge(held: RouteStamp, routed: RouteStamp): 'current' | 'newer' | 'stale';
}

export const strictFencing: FencingPolicy = { judge: judgeRoute };

/**
 * The barrier of a ring change (Cassandra's progress barrier, simplified): every member
 * that may route requests (not left, not known down) has seen at least `epoch`, so none
 * still routes by a state older than it.
 */
export function barrierPassed(members: Iterable<Pick<MemberRecord, 'ring' | 'epoch'> & { state: 'up' | 'suspect' | 'down' }>, epoch: number): boolean {
  for (const member of members) if (member.ring !== 'left' && member.state !== 'down' && member.epoch < epoch) return false;
  return true;
}
