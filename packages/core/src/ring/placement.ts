// Where keys live while the ring changes (DESIGN.md, "Membership and ring": join, leave,
// remove). Two rings are derived from the members' ring statuses:
// - the read ring holds normal and leaving members: the replicas that have every key, so
//   reads, read repair and anti-entropy use it;
// - the target ring holds normal and joining members: where the data is going.
// While they differ, a write must reach W replicas in each of them (and, for a short
// settle period after the read ring moved, in the previous read ring too), so whichever
// ring a reader uses, its R replicas meet the W that acknowledged the write. The data a
// member gains streams to it before its status changes (rebalance/transfer.ts).
import type { KeyHasher } from './hash.js';
import { Ring } from './ring.js';
import type { RingStatus } from '../protocol/messages.js';

export interface Placement {
  read: Ring;
  target: Ring;
  /** Every ring in which a write needs W acks: read, target and any still settling. */
  writes: readonly Ring[];
  /** Identifies the change from `read` to `target`; 0 when they are the same ring. */
  transition: number;
}

export interface RingSettings {
  vnodes: number;
  replicas: number;
  hash: KeyHasher;
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

export function transitionId(read: Ring, target: Ring, hash: KeyHasher): number {
  if (read.fingerprint === target.fingerprint) return 0;
  return hash(`${read.fingerprint}>${target.fingerprint}`) || 1;
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
  const position = read.hashOf(key);
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
