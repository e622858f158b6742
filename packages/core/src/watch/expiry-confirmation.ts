// Whether the replicas' answers confirm an expiry (docs/design.md, "Watch", "Expiries"): a
// replica logs the expiry of its value only when no replica that answered holds a newer
// version, and only once enough replicas answered that any write acknowledged by a
// majority was among them. While the ring changes, a write needs W acks in every ring
// writes reach (cluster/quorum-policy.ts), and its coordinator may already write to the
// new ring alone while this replica still reads the old one: so a majority must answer in
// every ring this replica's writes reach, not in its read ring alone (slow-gossip seed
// 3201077: the read ring's majority was this replica and one that had just lost its disk,
// while a replica of the joining ring held the newer write).
import { compareVersions, type StoredRecord } from '../storage/record.js';
import type { KeyVersionSeen } from './change-log.js';

export type VersionAnswer = Pick<StoredRecord, 'hlc' | 'nodeId'> | null;

/**
 * The newest version among `answers` (by replica; null: it holds no version of the key)
 * and `heldOnly` (versions held by replicas whose answers count toward no majority).
 * Unless a majority of the replicas of each ring in `replicaSets` answered, it is only
 * `fewAnswered`: enough to refute an expiry, not to confirm one; `ownRingMajority` then
 * says whether a majority answered in some ring that `selfId` is a replica of (a replica
 * that heard no majority of its own replicas, or holds the key outside its own placement,
 * never logs the expiry unconfirmed: slow-gossip seed 4000313).
 */
export function newestConfirmed(selfId: string, replicaSets: ReadonlyArray<readonly string[]>, answers: ReadonlyMap<string, VersionAnswer>, heldOnly: readonly VersionAnswer[] = []): KeyVersionSeen {
  let newest: VersionAnswer = null;
  for (const version of [...answers.values(), ...heldOnly]) if (version !== null && (newest === null || compareVersions(version, newest) > 0)) newest = version;
  let everyRing = true;
  let ownRingMajority = false;
  for (const replicas of replicaSets) {
    const answered = replicas.filter((nodeId) => answers.has(nodeId)).length;
    const majority = answered >= Math.floor(replicas.length / 2) + 1;
    if (!majority) everyRing = false;
    else if (replicas.includes(selfId)) ownRingMajority = true;
  }
  return everyRing ? newest : { fewAnswered: newest, ownRingMajority };
}
