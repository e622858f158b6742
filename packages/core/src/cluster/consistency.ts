// Per-request consistency levels (docs/design.md, "Consistency"): `one`, `quorum` (default),
// `all`, or a replica count from 1 to N, for reads (r) and writes (w).

export type ConsistencyName = 'one' | 'quorum' | 'all';

export class ConsistencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsistencyError';
  }
}

/**
 * How many replicas a request needs: a count, or a level the coordinator resolves against
 * the replicas the key actually has in each ring (resolveReplicaCount), so that a cluster
 * smaller than N (one node started alone) serves `quorum` and `all` from what it holds.
 */
export type ReplicaCount = number | 'quorum' | 'all';

/** A level as a count for a replica group of `replicas` members. */
export function resolveReplicaCount(count: ReplicaCount, replicas: number): number {
  if (count === 'quorum') return Math.floor(replicas / 2) + 1;
  if (count === 'all') return replicas;
  return count;
}

/**
 * A request's `r` or `w` as the coordinator takes it: `one` and counts (1..N) as numbers,
 * `quorum` (the default) and `all` as levels. Throws ConsistencyError on bad input.
 */
export function replicaCountOf(level: string | undefined, replicas: number, parameter: 'r' | 'w'): ReplicaCount {
  const text = (level ?? 'quorum').trim().toLowerCase();
  if (text === 'quorum' || text === '') return 'quorum';
  if (text === 'all') return 'all';
  return requiredReplies(level, replicas, parameter);
}

/** The number of replica answers a level asks for among N replicas; throws ConsistencyError on bad input. */
export function requiredReplies(level: string | undefined, replicas: number, parameter: 'r' | 'w'): number {
  const text = (level ?? 'quorum').trim().toLowerCase();
  if (text === 'one') return 1;
  if (text === 'quorum' || text === '') return Math.floor(replicas / 2) + 1;
  if (text === 'all') return replicas;
  if (/^[0-9]+$/.test(text)) {
    const count = Number(text);
    if (count >= 1 && count <= replicas) return count;
    throw new ConsistencyError(`${parameter}=${count} is out of range: this cluster keeps ${replicas} replicas, so use a number from 1 to ${replicas}`);
  }
  throw new ConsistencyError(`unknown consistency level ${parameter}=${JSON.stringify(level)}: use one, quorum, all or a number from 1 to ${replicas}`);
}
