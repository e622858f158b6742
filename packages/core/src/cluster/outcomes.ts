// The honest outcomes of a coordinated request (docs/design.md, "Honest outcomes"). Each is a
// typed error with a stable code that the API maps to an HTTP status.

export interface ReplicaFailure {
  nodeId: string;
  reason: string;
  /** The replica refused because its disk is full: nothing was applied there. */
  storageFull?: boolean;
}

/** Refused before anything was applied anywhere: safe to retry. HTTP 503. */
export class UnavailableError extends Error {
  readonly code = 'unavailable';
  readonly required: number;
  readonly failures: ReplicaFailure[];

  constructor(message: string, required: number, failures: ReplicaFailure[]) {
    super(message);
    this.name = 'UnavailableError';
    this.required = required;
    this.failures = failures;
  }
}

/** A write that some replica may have applied, without a quorum of acks. HTTP 504. */
export class OutcomeUnknownError extends Error {
  readonly code = 'outcome-unknown';
  readonly required: number;
  readonly acks: number;
  readonly failures: ReplicaFailure[];

  constructor(message: string, required: number, acks: number, failures: ReplicaFailure[]) {
    super(message);
    this.name = 'OutcomeUnknownError';
    this.required = required;
    this.acks = acks;
    this.failures = failures;
  }
}

/** A read that could not hear from enough replicas in time. HTTP 503, or 504 on timeouts. */
export class ReadFailedError extends Error {
  readonly code = 'read-failed';
  readonly required: number;
  readonly replies: number;
  readonly failures: ReplicaFailure[];
  readonly timedOut: boolean;

  constructor(message: string, required: number, replies: number, failures: ReplicaFailure[], timedOut: boolean) {
    super(message);
    this.name = 'ReadFailedError';
    this.required = required;
    this.replies = replies;
    this.failures = failures;
    this.timedOut = timedOut;
  }
}

/**
 * A write no replica applied, refused because replicas it needed are out of disk space.
 * HTTP 507: nothing was written; retrying helps only once an operator frees space.
 */
export class InsufficientStorageError extends Error {
  readonly code = 'insufficient-storage';
  readonly required: number;
  readonly failures: ReplicaFailure[];
  /** The replicas whose disks are full. */
  readonly fullNodes: string[];

  constructor(message: string, required: number, failures: ReplicaFailure[]) {
    super(message);
    this.name = 'InsufficientStorageError';
    this.required = required;
    this.failures = failures;
    this.fullNodes = failures.filter((failure) => failure.storageFull === true).map((failure) => failure.nodeId);
  }
}

/** Which answer a write that missed W gets: see `writeFailureAnswer`. */
export type WriteFailureAnswer = 'outcome-unknown' | 'insufficient-storage' | 'unavailable';

/**
 * The precedence of a failed write's answer when replicas failed for mixed reasons
 * (docs/architecture.md, "Disk full"):
 * 1. 504 outcome-unknown whenever some replica acked or may have applied the write (a
 *    timeout, a lost connection): "nothing was written" would be a lie, whatever else failed.
 * 2. Else 507 insufficient-storage if any replica refused because its disk is full:
 *    nothing was written, and retrying soon will not help until space is freed.
 * 3. Else 503 unavailable: nothing was written; replicas were down or refused, a retry may succeed.
 */
export function writeFailureAnswer(acks: number, maybeApplied: boolean, failures: readonly ReplicaFailure[]): WriteFailureAnswer {
  if (acks > 0 || maybeApplied) return 'outcome-unknown';
  if (failures.some((failure) => failure.storageFull === true)) return 'insufficient-storage';
  return 'unavailable';
}

export function describeFailures(failures: readonly ReplicaFailure[]): string {
  return failures.map((failure) => `${failure.nodeId} (${failure.reason})`).join(', ');
}
