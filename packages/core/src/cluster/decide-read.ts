// The decision of a quorum read as a pure function (rapid read protection, after
// Cassandra's speculative retry; docs/guarantees.md "Slow and frozen replicas"): after
// each answer, failure or timer, ask more replicas (to make up R, or speculatively because
// those asked are slow), wait (and how long), answer or fail. The code that waits on the
// network (quorum-read.ts) only feeds it the state of the read and does what it says.

export interface ReadState {
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

export type ReadDecision =
  /** R answers arrived: the read is answered. */
  | { kind: 'answered' }
  /** Nothing in flight and no one left to ask: fewer than R answers came. */
  | { kind: 'failed' }
  /** Ask the next `count` replicas; speculative when those asked may still answer. */
  | { kind: 'ask'; count: number; speculative: boolean }
  /** Wait for answers; decide again after `recheckAfterMs` even if none come. */
  | { kind: 'wait'; recheckAfterMs: number | undefined };

export function decideRead(state: ReadState): ReadDecision {
  const { required, replies, inflight, unasked, unaskedAvailable, waitedMs, speculateAfterMs } = state;
  if (replies >= required) return { kind: 'answered' };
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
