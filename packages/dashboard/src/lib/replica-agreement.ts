// Compares each replica's copy of a key with the version a read returned. Versions are
// opaque to the dashboard, so a copy is only "current" (same version as the read) or
// "differs"; which of two versions is newer is the server's business. Without a
// successful read there is nothing to compare with, and a copy is only "held". A copy whose
// ttl has passed is "expired" whatever the read found: it counts as a delete.
import type { ReplicaCopy } from '@ringkv/client';

export type CopyAgreement = 'current' | 'differs' | 'held' | 'missing' | 'unreachable' | 'deleted' | 'expired';

export interface ReplicaVerdict {
  copy: ReplicaCopy;
  /** Position in the key's preference list, 0 for the primary; -1 if the node is not an owner. */
  preferenceIndex: number;
  agreement: CopyAgreement;
}

/**
 * `readVersion`: the version the read returned, null if the read found no live value,
 * undefined if there was no successful read to compare with.
 */
export function judgeReplicas(
  owners: readonly string[],
  copies: readonly ReplicaCopy[],
  readVersion: string | null | undefined,
): ReplicaVerdict[] {
  return copies
    .map((copy) => ({
      copy,
      preferenceIndex: owners.indexOf(copy.nodeId),
      agreement: agreementOf(copy, readVersion),
    }))
    .sort((a, b) => rankOf(a.preferenceIndex) - rankOf(b.preferenceIndex));
}

function rankOf(preferenceIndex: number): number {
  return preferenceIndex === -1 ? Number.MAX_SAFE_INTEGER : preferenceIndex;
}

function agreementOf(copy: ReplicaCopy, readVersion: string | null | undefined): CopyAgreement {
  if (copy.status === 'unreachable') return 'unreachable';
  if (copy.status === 'missing') return 'missing';
  if (copy.expired === true) return 'expired';
  if (copy.tombstone && readVersion == null) return 'deleted';
  if (readVersion === undefined) return 'held';
  return copy.version === readVersion ? 'current' : 'differs';
}

/** How many copies hold exactly the version the read returned. */
export function currentCopyCount(verdicts: readonly ReplicaVerdict[]): number {
  return verdicts.filter((verdict) => verdict.agreement === 'current').length;
}

/**
 * Whether a verdict points at a problem worth highlighting: a copy that differs or did
 * not answer, or a copy missing or expired while the read found a value. Missing and
 * expired copies of an absent key are simply consistent.
 */
export function isDiscrepancy(agreement: CopyAgreement, readVersion: string | null | undefined): boolean {
  if (agreement === 'differs' || agreement === 'unreachable') return true;
  return (agreement === 'missing' || agreement === 'expired') && typeof readVersion === 'string';
}
