// Sorts the errors LMDB and the filesystem raise into what the node does about them
// (docs/architecture.md, "Disk full"): `full` refuses writes until space returns,
// `failed` stops writes until an operator restarts the node (Cassandra's
// `disk_failure_policy: stop`), `other` is an ordinary error of one call.

export type DiskErrorKind = 'full' | 'failed' | 'other';

/** errno values and LMDB return codes (lmdb.h) with their meaning for the node. */
const fullCodes = new Set<unknown>([
  28, // ENOSPC
  122, // EDQUOT
  -30792, // MDB_MAP_FULL
  'ENOSPC',
  'EDQUOT',
]);
const failedCodes = new Set<unknown>([
  5, // EIO
  30, // EROFS
  -30797, // MDB_PAGE_NOTFOUND
  -30796, // MDB_CORRUPTED
  -30795, // MDB_PANIC
  -30793, // MDB_INVALID
  'EIO',
  'EROFS',
]);
const fullPattern = /MDB_MAP_FULL|No space left|ENOSPC|quota exceeded/i;
const failedPattern = /MDB_CORRUPTED|MDB_PANIC|MDB_PAGE_NOTFOUND|MDB_INVALID|Input\/output error|\bEIO\b|Read-only file system/i;

export function diskErrorKind(error: unknown): DiskErrorKind {
  if (typeof error !== 'object' || error === null) return 'other';
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (fullCodes.has(code) || fullPattern.test(text)) return 'full';
  if (failedCodes.has(code) || failedPattern.test(text)) return 'failed';
  // lmdb-js's asynchronous commits reject with "Commit failed" and carry LMDB's own error
  // as a second, rejected promise. The engine waits for that one (commitCause in
  // lmdb-engine.ts); one that did not come in time is taken as a failed disk.
  if (isCommitFailure(error)) return 'failed';
  return 'other';
}

/** An I/O error may be a short write on a full filesystem (LMDB reports that as EIO). */
export function isIoError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 5 || code === 'EIO';
}

function isCommitFailure(error: object): boolean {
  const inner = (error as { commitError?: unknown }).commitError;
  if (!(inner instanceof Promise)) return false;
  // Claim the inner rejection, or Node would end the process over it.
  inner.catch(() => undefined);
  return true;
}
