// The honest outcomes of a coordinated request (DESIGN.md, "Honest outcomes"). Each is a
// typed error with a stable code that the API maps to an HTTP status.

export interface ReplicaFailure {
  nodeId: string;
  reason: string;
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

export function describeFailures(failures: readonly ReplicaFailure[]): string {
  return failures.map((failure) => `${failure.nodeId} (${failure.reason})`).join(', ');
}
