// Whom a quorum read asks, and when (rapid read protection, after Cassandra's speculative
// retry; docs/guarantees.md "Slow and frozen replicas"). Pure decisions over the state of
// one read: the code that waits on the network (quorum-read.ts) only feeds them answers,
// failures and the time, and does what they say.

export interface ReadOrder {
  /** Every replica of the key, in the order a read asks them. */
  order: string[];
  /** The first `available` of `order` are worth asking early; the rest are believed down. */
  available: number;
}

/**
 * Itself first (no network), then the available replicas in preference order with the
 * slow ones behind the rest, then those believed down (asked only when nothing else is
 * left). Keeping preference order among the healthy spreads reads over them, rather than
 * herding every read onto the replica that was fastest a moment ago.
 */
export function readOrder(replicas: readonly string[], selfId: string, isAvailable: (nodeId: string) => boolean, isSlow: (nodeId: string) => boolean): ReadOrder {
  const healthy: string[] = [];
  const slow: string[] = [];
  const down: string[] = [];
  for (const nodeId of replicas) {
    if (nodeId === selfId) healthy.unshift(nodeId);
    else if (!isAvailable(nodeId)) down.push(nodeId);
    else if (isSlow(nodeId)) slow.push(nodeId);
    else healthy.push(nodeId);
  }
  return { order: healthy.concat(slow, down), available: healthy.length + slow.length };
}

export interface ReadProgress {
  /** Answers the read needs (R). */
  required: number;
  /** Good answers so far. */
  replies: number;
  /** Replicas asked that have neither answered nor failed. */
  inflight: number;
  /** Replicas not asked yet, and how many of them are available (they come first). */
  unasked: number;
  unaskedAvailable: number;
  /** Time since the read last asked a replica (or started). */
  waitedMs: number;
  /** How long to wait for the replicas asked before asking one more; undefined: never (the read timeout alone bounds the wait). */
  speculateAfterMs: number | undefined;
}

export type ReadStep =
  | { kind: 'done' }
  | { kind: 'failed' }
  /** Ask the next `count` replicas; speculative when those asked may still answer. */
  | { kind: 'ask'; count: number; speculative: boolean }
  /** Wait for answers; decide again after `recheckAfterMs` even if none come. */
  | { kind: 'wait'; recheckAfterMs: number | undefined };

export function nextReadStep(progress: ReadProgress): ReadStep {
  const { required, replies, inflight, unasked, unaskedAvailable, waitedMs, speculateAfterMs } = progress;
  if (replies >= required) return { kind: 'done' };
  const shortfall = required - replies;
  // Too few asked to make up R even if all answer (at the start, or after failures).
  if (inflight < shortfall && unasked > 0) return { kind: 'ask', count: Math.min(shortfall - inflight, unasked), speculative: false };
  // Nothing in flight and no one left: the read has failed. With answers still in flight it
  // waits for them (each bounded by the read timeout) even if they cannot make up R.
  if (inflight === 0) return { kind: 'failed' };
  if (speculateAfterMs === undefined || unaskedAvailable === 0) return { kind: 'wait', recheckAfterMs: undefined };
  // Enough asked, but they are slower than recent answers: ask one more, and take the
  // first R good answers from whoever answers.
  if (waitedMs >= speculateAfterMs) return { kind: 'ask', count: 1, speculative: true };
  return { kind: 'wait', recheckAfterMs: speculateAfterMs - waitedMs };
}
