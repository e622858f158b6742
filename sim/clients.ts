// The client side of the simulation: sends each operation to a coordinator's real
// Coordinator, and records in the history and the trace what a client would be told.
// Typed outcomes map to the honest outcomes of docs/design.md, "Honest outcomes": UnavailableError,
// InsufficientStorageError (507), ReadFailedError and PreconditionFailedError (412, with the
// record it was refused on) are "failed" (nothing applied), OutcomeUnknownError is "unknown".
// Conditional writes and serial reads (the cas profile) go to the node's Paxos proposer.
// Anything else (an InvariantError, a TypeError) is reported as a violation. A client
// whose coordinator crashes mid-request sees its connection drop: unknown for a write.
// Like the API, a node that does not yet know all its seeds refuses requests.
import {
  describeFailures,
  IdempotencyKeyInFlightError,
  InvariantError,
  InsufficientStorageError,
  OutcomeUnknownError,
  ReadFailedError,
  PreconditionFailedError,
  UnavailableError,
  formatVersion,
  type ClusterNode,
  type ConditionalWriteResult,
  type ReadResult,
  type StoredRecord,
  type WriteResult,
} from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';
import type { History, Operation, OperationRequest, Outcome, ReadValue, Version } from './history.js';
import type { Trace } from './trace.js';
import type { Violation } from './violations.js';

export interface ClientDriverDeps {
  cluster: InProcessCluster;
  history: History;
  trace: Trace;
  /** Virtual ms since the run started. */
  nowMs(): number;
  report(violation: Violation): void;
}

type Finished = Exclude<Outcome, 'pending'>;

/** Retries of a conditional put whose outcome was unknown, each through the next running node, this long apart. */
const idempotentRetriesMax = 3;
const idempotentRetryPauseMs = 20;
type Details = Partial<Pick<Operation, 'version' | 'read' | 'reason' | 'preconditionFailed' | 'previous' | 'expiresAt' | 'expiryJudgedBefore'>>;
type Finish = (outcome: Finished, details: Details) => void;

export class ClientDriver {
  private readonly deps: ClientDriverDeps;
  /** Operations in flight, in invoke order, with the function that ends each. */
  private readonly inflight = new Map<number, { operation: Operation; finish: Finish; via: string; retries: number }>();
  private retrying = true;

  constructor(deps: ClientDriverDeps) {
    this.deps = deps;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** From now on an unknown outcome is final: no request is sent again. */
  stopRetrying(): void {
    this.retrying = false;
  }

  /** Invokes an operation on `request.node`; `onDone` runs once it has an outcome. */
  submit(request: Omit<OperationRequest, 'incarnation'>, onDone: (operation: Operation) => void = () => undefined): Operation {
    const { cluster, history, trace } = this.deps;
    const member = cluster.member(request.node);
    const operation = history.invoke({ ...request, incarnation: member.incarnation }, this.deps.nowMs());
    // The coordinator judges expiry by a timestamp of its HLC issued after this one.
    if (operation.kind === 'read' && member.up) operation.expiryJudgedAfter = member.node.hlc.now();
    trace.add({ atMs: operation.invokeMs, kind: 'invoke', keys: [operation.key], operationId: operation.id, text: trace.describeOperation(operation) });
    const finish: Finish = (outcome, details) => {
      if (!history.complete(operation, outcome, this.deps.nowMs(), details)) return;
      this.inflight.delete(operation.id);
      trace.add({ atMs: operation.completeMs as number, kind: 'complete', keys: [operation.key], operationId: operation.id, text: trace.describeOutcome(operation) });
      onDone(operation);
    };
    this.inflight.set(operation.id, { operation, finish, via: request.node, retries: 0 });
    this.attempt(operation, request.node, 0, finish);
    return operation;
  }

  /**
   * One attempt of `operation` through `nodeId`. A conditional put carries an
   * Idempotency-Key (its unique value): when its outcome is unknown it is sent again,
   * the same request, through the next running node, up to idempotentRetriesMax times,
   * and the operation ends with the first definite answer.
   */
  private attempt(operation: Operation, nodeId: string, retries: number, finish: Finish): void {
    const member = this.deps.cluster.member(nodeId);
    const entry = this.inflight.get(operation.id);
    if (entry === undefined) return;
    entry.via = nodeId;
    entry.retries = retries;
    // An answer from an attempt the client has given up on (its coordinator crashed) is never heard.
    const current = () => this.inflight.get(operation.id) === entry && entry.retries === retries;
    let call: Promise<CallResult>;
    try {
      // A stopped process's port refuses the connection: nothing is sent to its core.
      if (!member.up) throw new NodeDownError(nodeId);
      // The API refuses requests until the node knows every seed (503 "starting"); so does the simulated client.
      if (!member.node.admitClients()) throw new NodeStartingError(nodeId);
      call = callNode(member.node, operation);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (result) => {
        // …and by one no later than the last its HLC issued before the answer.
        if (current()) finish('ok', { ...resultDetails(operation, result), ...(operation.kind === 'read' ? { expiryJudgedBefore: member.node.hlc.peek() } : {}) });
      },
      (error: unknown) => {
        if (!current()) return;
        const [outcome, details] = this.classify(operation, error);
        // Unknown, or in flight under its Idempotency-Key (409): the client asks again elsewhere.
        if (outcome === 'unknown' && this.retried(operation, nodeId, retries, finish)) return;
        // A retry refused before any replica heard it says nothing of an earlier attempt; a 412 does (its round found no trace of one).
        if (retries > 0 && outcome === 'failed' && details.preconditionFailed !== true) finish('unknown', { reason: `${details.reason ?? ''}, after an attempt of unknown outcome` });
        else finish(outcome, details);
      },
    );
  }

  /** Sends a conditional put again through the next running node, if it may be retried; false when it may not. */
  private retried(operation: Operation, nodeId: string, retries: number, finish: Finish): boolean {
    const next = this.nextRunning(nodeId);
    if (!this.retrying || operation.condition === undefined || retries >= idempotentRetriesMax || next === undefined) return false;
    const entry = this.inflight.get(operation.id);
    if (entry !== undefined) entry.retries = retries + 1;
    this.deps.cluster.clock.setTimer(idempotentRetryPauseMs, () => this.attempt(operation, next, retries + 1, finish));
    return true;
  }

  /** The running member after `nodeId` in member order, for a retry through another node. */
  private nextRunning(nodeId: string): string | undefined {
    const members = this.deps.cluster.members;
    const from = members.findIndex((member) => member.nodeId === nodeId);
    for (let step = 1; step < members.length; step++) {
      const member = members[(from + step) % members.length];
      if (member !== undefined && member.up && !member.retired) return member.nodeId;
    }
    return undefined;
  }

  /** The coordinator's process died: its clients see their connections drop (and retry a conditional put elsewhere). */
  coordinatorCrashed(nodeId: string): void {
    for (const { operation, finish, via, retries } of [...this.inflight.values()]) {
      if (via !== nodeId) continue;
      if (operation.kind !== 'read' && this.retried(operation, nodeId, retries, finish)) continue;
      finish(operation.kind === 'read' ? 'failed' : 'unknown', { reason: `coordinator ${nodeId} crashed` });
    }
  }

  /** Gives up on every operation still in flight, reporting each as hung. */
  abandonInflight(why: string): void {
    for (const { operation, finish } of [...this.inflight.values()]) {
      this.deps.report({
        kind: 'hung-operation',
        atMs: this.deps.nowMs(),
        key: operation.key,
        message: `op ${operation.id} (${operation.kind} ${operation.key} via ${operation.node}) got no answer: ${why}`,
        operationIds: [operation.id],
      });
      finish(operation.kind === 'read' ? 'failed' : 'unknown', { reason: `no answer (${why})` });
    }
  }

  private classify(operation: Operation, error: unknown): [Finished, Details] {
    if (error instanceof NodeStartingError || error instanceof NodeDownError) return ['failed', { reason: error.message }];
    if (error instanceof IdempotencyKeyInFlightError) return ['unknown', { reason: `in flight: ${error.message}` }];
    if (error instanceof PreconditionFailedError) return ['failed', { reason: `precondition failed: ${error.message}`, preconditionFailed: true, read: readValueOf(error.current) }];
    if (error instanceof UnavailableError) return ['failed', { reason: `unavailable: ${describeFailures(error.failures)}` }];
    if (error instanceof InsufficientStorageError) return ['failed', { reason: `insufficient storage: ${describeFailures(error.failures)}` }];
    if (error instanceof ReadFailedError) return ['failed', { reason: `read failed (${error.replies}/${error.required} answers): ${describeFailures(error.failures)}` }];
    if (error instanceof OutcomeUnknownError) return ['unknown', { reason: `${error.acks}/${error.required} acks: ${describeFailures(error.failures)}` }];
    const invariant = error instanceof InvariantError;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.deps.report({
      kind: invariant ? 'invariant' : 'unexpected-error',
      atMs: this.deps.nowMs(),
      key: operation.key,
      message: `op ${operation.id} (${operation.kind} ${operation.key} via ${operation.node}) ended with ${message}`,
      operationIds: [operation.id],
    });
    return [operation.kind === 'read' ? 'failed' : 'unknown', { reason: message }];
  }
}

/** A connection refused: the coordinator's process is not running. */
class NodeDownError extends Error {
  constructor(nodeId: string) {
    super(`${nodeId} is not running: the connection was refused`);
    this.name = 'NodeDownError';
  }
}

/** What the API's requireReady answers with 503 before the core is asked anything. */
class NodeStartingError extends Error {
  constructor(nodeId: string) {
    super(`${nodeId} is starting: it has not heard from all its seeds yet`);
    this.name = 'NodeStartingError';
  }
}

type CallResult = WriteResult | ReadResult | ConditionalWriteResult | { serialRecord: StoredRecord | undefined };

function callNode(node: ClusterNode, operation: Operation): Promise<CallResult> {
  const coordinator = node.coordinator;
  if (operation.condition !== undefined) {
    const { ifMatch, ifNoneMatch } = operation.condition;
    const condition = ifMatch !== undefined ? { ifMatch: formatVersion(ifMatch) } : { ifNoneMatch: ifNoneMatch === true };
    const change = operation.kind === 'delete' ? { value: undefined, tombstone: true } : { value: operation.value, tombstone: false };
    return node.paxos.write(operation.key, change, condition, { key: String(operation.value), fingerprint: 'sim' });
  }
  if (operation.serial === true) return node.paxos.read(operation.key).then((record) => ({ serialRecord: record }));
  switch (operation.kind) {
    case 'put':
      return coordinator.put(operation.key, operation.value, operation.level, operation.ttlSeconds);
    case 'delete':
      return coordinator.delete(operation.key, operation.level);
    case 'read':
      return coordinator.read(operation.key, operation.level);
  }
}

function resultDetails(operation: Operation, result: CallResult): Partial<Pick<Operation, 'version' | 'read' | 'previous'>> {
  if ('serialRecord' in result) return { read: readValueOf(result.serialRecord) };
  if (operation.kind !== 'read') {
    const { record } = result as WriteResult;
    const previous = 'previous' in result ? { previous: result.previous === undefined ? null : versionOf(result.previous) } : {};
    return { version: versionOf(record), ...previous, ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }) };
  }
  return { read: readValueOf((result as ReadResult).record) };
}

function versionOf(record: StoredRecord): Version {
  return { hlc: record.hlc, nodeId: record.nodeId };
}

function readValueOf(record: StoredRecord | undefined): ReadValue {
  if (record === undefined) return { found: false };
  const read: ReadValue = { found: true, tombstone: record.tombstone, value: record.value, version: versionOf(record) };
  if (record.expiresAt !== undefined) read.expiresAt = record.expiresAt;
  return read;
}
