// The record of everything clients asked and were told, in virtual time: each operation
// with its invoke and complete times and its outcome (ok, failed = refused with nothing
// applied, unknown = may or may not have been applied). The checkers judge the cluster by
// this history alone, plus the crashes that lost data (a replica that loses its disk may
// legitimately lose the writes it acknowledged).

export type OperationKind = 'put' | 'delete' | 'read';
export type Outcome = 'pending' | 'ok' | 'failed' | 'unknown';
/** `workload`: phase one. `repair`: phase two's R=all sweep. `final`: the reads the checkers judge last. */
export type OperationPhase = 'workload' | 'repair' | 'final';

export interface Version {
  hlc: number;
  nodeId: string;
}

/**
 * What a read returned. `expiresAt` (an HLC timestamp) is the expiry of a value written
 * with a ttl; a tombstone with `expiresAt` is such a value seen after its expiry.
 */
export type ReadValue = { found: false } | { found: true; tombstone: boolean; value: unknown; version: Version; expiresAt?: number };

export interface Operation {
  id: number;
  /** `c1`, `c2`, … for workload clients; `checker` for phase two. */
  client: string;
  kind: OperationKind;
  key: string;
  /** The value a put writes; unique within a run, so a read names the write it saw. */
  value?: string;
  /** W for writes, R for reads, as a replica count (a majority for conditional writes and serial reads). */
  level: number;
  /** A conditional put (the cas profile): applies only if the key's version is `ifMatch`, or if it is absent (`ifNoneMatch`). */
  condition?: { ifMatch?: Version; ifNoneMatch?: true };
  /** A serial read (r=serial): linearizable with conditional writes. */
  serial?: true;
  /** A put with a ttl: the value expires this many seconds after its version's time. */
  ttlSeconds?: number;
  /** The expiry an acknowledged put with a ttl was given (an HLC timestamp). */
  expiresAt?: number;
  /**
   * For reads, bounds on the HLC time at which the coordinator judged expiry, taken from
   * its clock rather than from the answer: a timestamp it issued when the read began, and
   * the last one it had issued or seen when the answer came.
   */
  expiryJudgedAfter?: number;
  expiryJudgedBefore?: number;
  /** The coordinator the client sent the request to, and which process of it. */
  node: string;
  incarnation: number;
  phase: OperationPhase;
  invokeMs: number;
  completeMs?: number;
  outcome: Outcome;
  /** The version an acknowledged write was given. */
  version?: Version;
  /** What an ok read returned; for a conditional write refused with 412, the current record it was refused on. */
  read?: ReadValue;
  /** A conditional write whose condition did not hold (412): nothing was written. */
  preconditionFailed?: true;
  /** The version an acknowledged conditional write replaced (null: the key was absent). */
  previous?: Version | null;
  /** Why a request failed or ended with an unknown outcome. */
  reason?: string;
}

export interface DataLoss {
  atMs: number;
  nodeId: string;
}

export type OperationRequest = Pick<Operation, 'client' | 'kind' | 'key' | 'level' | 'node' | 'incarnation' | 'phase'> & Partial<Pick<Operation, 'value' | 'condition' | 'serial' | 'ttlSeconds'>>;

export class History {
  readonly operations: Operation[] = [];
  readonly dataLosses: DataLoss[] = [];

  invoke(request: OperationRequest, atMs: number): Operation {
    const operation: Operation = { ...request, id: this.operations.length + 1, invokeMs: atMs, outcome: 'pending' };
    this.operations.push(operation);
    return operation;
  }

  /** Records how an operation ended; later reports about a finished operation are ignored. */
  complete(operation: Operation, outcome: Exclude<Outcome, 'pending'>, atMs: number, details: Partial<Pick<Operation, 'version' | 'read' | 'reason' | 'preconditionFailed' | 'previous' | 'expiresAt' | 'expiryJudgedBefore'>> = {}): boolean {
    if (operation.outcome !== 'pending') return false;
    operation.outcome = outcome;
    operation.completeMs = atMs;
    Object.assign(operation, details);
    return true;
  }

  recordDataLoss(nodeId: string, atMs: number): void {
    this.dataLosses.push({ nodeId, atMs });
  }

  pending(): Operation[] {
    return this.operations.filter((operation) => operation.outcome === 'pending');
  }

  /** Operations per key, keys in the order they were first used. */
  byKey(): Map<string, Operation[]> {
    const keys = new Map<string, Operation[]>();
    for (const operation of this.operations) {
      const list = keys.get(operation.key);
      if (list === undefined) keys.set(operation.key, [operation]);
      else list.push(operation);
    }
    return keys;
  }

  /** Keys that some put or delete tried to change, in first-use order. */
  keysWritten(): string[] {
    const keys = new Set<string>();
    for (const operation of this.operations) if (operation.kind !== 'read') keys.add(operation.key);
    return [...keys];
  }

  /** Counts by outcome for a summary line. */
  outcomeCounts(): Record<Exclude<Outcome, 'pending'>, number> {
    const counts = { ok: 0, failed: 0, unknown: 0 };
    for (const operation of this.operations) if (operation.outcome !== 'pending') counts[operation.outcome]++;
    return counts;
  }
}
