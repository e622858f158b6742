// The expected ways a node's storage refuses a write (docs/style.md, "Assert invariants,
// type expected failures": expected failures are typed errors with stable codes). An
// Engine rejects `apply` with one of these; the replica answers the matching failure code
// and the coordinator counts the replica as having refused (nothing applied there).
// docs/architecture.md, "Disk full".

/**
 * The disk (or LMDB's map) has no room for the write: nothing was stored. The node keeps
 * serving reads and accepts writes again by itself once space returns.
 */
export class StorageFullError extends Error {
  readonly code = 'storage-full';

  constructor(message: string) {
    super(message);
    this.name = 'StorageFullError';
  }
}

/**
 * The disk failed in a way more space does not cure (an I/O error, a corrupt page): the
 * node stops taking writes until an operator has looked at it and restarted it
 * (Cassandra's `disk_failure_policy: stop`). Nothing was stored.
 */
export class StorageFailedError extends Error {
  readonly code = 'storage-failed';

  constructor(message: string) {
    super(message);
    this.name = 'StorageFailedError';
  }
}

export function isStorageFull(error: unknown): error is StorageFullError {
  return error instanceof StorageFullError;
}
