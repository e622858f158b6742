// What the checkers report. Each violation names the key and the operations involved, so
// the failure report can show just the part of the trace that explains it.

export type ViolationKind =
  /** A read at R + W > N returned a value older than a write acknowledged before the read began. */
  | 'stale-read'
  /** After healing and repair, an acknowledged write is gone (an older value is read). */
  | 'lost-write'
  /** After healing and repair, a key whose delete was acknowledged reads as an older value. */
  | 'resurrected-delete'
  /** A read returned a value no put wrote (or one written only after the read ended). */
  | 'phantom-value'
  /** A read returned a value whose only write was refused as "nothing applied". */
  | 'refused-write-visible'
  /** One coordinator process gave a later acknowledged write a version not above an earlier one. */
  | 'version-regression'
  /** After healing and repair, the replicas of a key hold different versions. */
  | 'divergent-replicas'
  /** A node that is not one of a key's replicas stores it. */
  | 'stray-copy'
  /** A read returned a value whose expiry its coordinator's clock had already passed when the read began. */
  | 'expired-value-read'
  /** A read reported a value expired before its coordinator's clock could have reached the expiry. */
  | 'premature-expiry'
  /** After repair, a cluster-wide scan listed a key twice, or disagreed with the final read of a key. */
  | 'scan-mismatch'
  /** An invariant inside the core fired (InvariantError). */
  | 'invariant'
  /** The core threw or rejected with something that is not one of its typed outcomes. */
  | 'unexpected-error'
  /** Two conditional writes won over the same version of a key. */
  | 'double-win'
  /** Conditional writes and serial reads of a key admit no order that agrees with real time (checkers/linearizability.ts). */
  | 'not-linearizable'
  /** A request got no answer at all within the run's bounds. */
  | 'hung-operation'
  /** After healing, the nodes did not all see each other up again, or a read failed on the healed cluster. */
  | 'no-recovery'
  /** The watch delivered a change of a key twice (watch-checker.ts). */
  | 'watch-duplicate'
  /** The watch delivered a key's changes out of version order. */
  | 'watch-out-of-order'
  /** The watch delivered a change no client wrote, or one refused as "nothing applied". */
  | 'watch-phantom'
  /** A write acknowledged at quorum after the watch began never arrived on it. */
  | 'watch-missed-change'
  /** The watch never began, or after healing never caught up with the writes. */
  | 'watch-stalled';

export interface Violation {
  kind: ViolationKind;
  /** Virtual ms since the run's cluster was created. */
  atMs: number;
  key?: string;
  message: string;
  operationIds: number[];
}
