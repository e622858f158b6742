// What the cluster client may retry on another node (docs/client.md, "Failover and
// retries"). A read changes nothing, so any failure may be retried. A write may be
// retried only when it provably did not happen: the connection was never made, or the
// node answered that it applied nothing (`applied: false` in its problem). A write that
// may have reached a node is never sent again: a second copy could overwrite a newer
// write of another client. A write carrying an Idempotency-Key is the exception: nodes
// remember its outcome (decided by a majority of the key's replicas), so sending it again
// through any node answers the first outcome and writes nothing new; it is retried like a
// read, conditional or not. Conditional writes without one are stricter still: see
// mayRetryConditional. A 409 saying the same key's first request is still in flight is
// asked again after its Retry-After, by the cluster client, within the request's time.

/** How one attempt on one node went wrong. */
export type FailureKind =
  /** The request never left: connection refused, name not resolved, host unreachable, connect timed out. */
  | 'not-sent'
  /** The connection broke or the runtime could not say where (a browser's "Failed to fetch"): it may have arrived. */
  | 'no-answer'
  /** The attempt's timer fired: the node may be working on it. */
  | 'timeout'
  /** The node answered with an error status. */
  | 'answer';

export interface AttemptFailure {
  kind: FailureKind;
  /** The HTTP status for `answer`. */
  status?: number;
  /** The node's own word that nothing was written (its problem's `applied: false`). */
  applied?: boolean;
}

/**
 * Nodes deduplicate writes by Idempotency-Key (issue 11, part 2), so a write carrying one is
 * retried like a read. Kept as a switch so the table tests show both rules.
 */
export const idempotencyKeysHonoured = true;

/** Error codes of Node's fetch (undici) that mean no byte of the request reached a server. */
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);
/** Answers after which another node may succeed where this one did not. */
const retryableStatuses = new Set([502, 503, 504]);

export function isRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** Whether the request may go to another node after `failure`. */
export function mayRetry(method: string, failure: AttemptFailure, idempotencyKey: string | undefined, honoured = idempotencyKeysHonoured): boolean {
  const idempotent = isRead(method) || (honoured && idempotencyKey !== undefined);
  if (failure.kind === 'answer') {
    if (failure.status === undefined || !retryableStatuses.has(failure.status)) return false;
    return idempotent || failure.applied === false;
  }
  return idempotent || failure.kind === 'not-sent';
}

/**
 * Whether a store request may go to another node after `failure`: a read or a write with an
 * Idempotency-Key like a read, a conditional write without one only when it never left
 * (mayRetryConditional), any other write as mayRetry says.
 */
export function mayRetryRequest(method: string, failure: AttemptFailure, request: { idempotencyKey: string | undefined; conditional: boolean }): boolean {
  if (request.conditional && request.idempotencyKey === undefined) return mayRetryConditional(failure);
  return mayRetry(method, failure, request.idempotencyKey);
}

/**
 * Whether a conditional write may go to another node after `failure`: only when it provably
 * never reached one. Any answer, a 503 that applied nothing included, goes back to the
 * caller, whose read-modify-write loop already re-reads the key and decides again (the
 * condition may no longer hold); and one that may have reached a node can still be chosen
 * by a later Paxos round that finishes it, so sending it again could apply it twice.
 */
export function mayRetryConditional(failure: AttemptFailure): boolean {
  return failure.kind === 'not-sent';
}

/** Whether a write that failed with these attempts may nevertheless have been applied. */
export function mayHaveApplied(failures: readonly AttemptFailure[]): boolean {
  return failures.some((failure) => {
    if (failure.kind === 'not-sent') return false;
    if (failure.kind !== 'answer') return true;
    return failure.applied !== false && failure.status !== undefined && failure.status >= 500;
  });
}

/** Classifies what `fetch` threw (not an abort by the caller: that is never retried). */
export function failureKindOf(error: unknown, timedOut: boolean): FailureKind {
  if (timedOut) return 'timeout';
  const codes = errorCodes(error);
  return codes.length > 0 && codes.every((code) => notSentCodes.has(code)) ? 'not-sent' : 'no-answer';
}

/** The `code`s on an error, its cause and the cause's errors (undici wraps a refused connection in `TypeError: fetch failed`). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (typeof value !== 'object' || value === null || depth > 3) return;
    const { code, cause, errors } = value as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') codes.push(code);
    visit(cause, depth + 1);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

/** The message of an error with its cause's code (undici puts ECONNREFUSED there). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return code === undefined ? error.message : `${error.message} (${code})`;
}
