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
 * The newest version among `answers` (by replica; null: it holds no version of the key).
 * Unless a majority of the replicas of each ring in `replicaSets` answered, it is only
 * `fewAnswered` (or 'unreadable' when none of them holds a version): enough to refute an
 * expiry, not to confirm one.
 */
export function newestConfirmed(replicaSets: ReadonlyArray<readonly string[]>, answers: ReadonlyMap<string, VersionAnswer>): KeyVersionSeen {
  let newest: VersionAnswer = null;
  for (const version of answers.values()) if (version !== null && (newest === null || compareVersions(version, newest) > 0)) newest = version;
  for (const replicas of replicaSets) {
    const answered = replicas.filter((nodeId) => answers.has(nodeId)).length;
    if (answered < Math.floor(replicas.length / 2) + 1) return newest === null ? 'unreadable' : { fewAnswered: newest };
  }
  return newest;
}
