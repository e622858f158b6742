// Per-request consistency levels (docs/design.md, "Consistency"): `one`, `quorum` (default),
// `all`, or a replica count from 1 to N, for reads (r) and writes (w).

export type ConsistencyName = 'one' | 'quorum' | 'all';

export class ConsistencyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsistencyError';
  }
}

/** The number of replica answers a level asks for; throws ConsistencyError on bad input. */
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
