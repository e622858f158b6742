// The client side of the simulation: sends each operation to a coordinator's real
// Coordinator, and records in the history and the trace what a client would be told.
// Typed outcomes map to the honest outcomes of docs/design.md, "Honest outcomes": UnavailableError,
// InsufficientStorageError (507) and ReadFailedError are "failed" (nothing applied),
// OutcomeUnknownError is "unknown".
// Anything else (an InvariantError, a TypeError) is reported as a violation. A client
// whose coordinator crashes mid-request sees its connection drop: unknown for a write.
// Like the API, a node that does not yet know all its seeds refuses requests.
import {
  describeFailures,
  InvariantError,
  InsufficientStorageError,
  OutcomeUnknownError,
  ReadFailedError,
  UnavailableError,
  type Coordinator,
  type ReadResult,
  type WriteResult,
} from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';
import type { History, Operation, OperationRequest, Outcome } from './history.js';
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
type Finish = (outcome: Finished, details: Partial<Pick<Operation, 'version' | 'read' | 'reason'>>) => void;

export class ClientDriver {
  private readonly deps: ClientDriverDeps;
  /** Operations in flight, in invoke order, with the function that ends each. */
  private readonly inflight = new Map<number, { operation: Operation; finish: Finish }>();

  constructor(deps: ClientDriverDeps) {
    this.deps = deps;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Invokes an operation on `request.node`; `onDone` runs once it has an outcome. */
  submit(request: Omit<OperationRequest, 'incarnation'>, onDone: (operation: Operation) => void = () => undefined): Operation {
    const { cluster, history, trace } = this.deps;
    const member = cluster.member(request.node);
    const operation = history.invoke({ ...request, incarnation: member.incarnation }, this.deps.nowMs());
    trace.add({ atMs: operation.invokeMs, kind: 'invoke', keys: [operation.key], operationId: operation.id, text: trace.describeOperation(operation) });
    const finish: Finish = (outcome, details) => {
      if (!history.complete(operation, outcome, this.deps.nowMs(), details)) return;
      this.inflight.delete(operation.id);
      trace.add({ atMs: operation.completeMs as number, kind: 'complete', keys: [operation.key], operationId: operation.id, text: trace.describeOutcome(operation) });
      onDone(operation);
    };
    this.inflight.set(operation.id, { operation, finish });
    let call: Promise<WriteResult | ReadResult>;
    try {
      // A stopped process's port refuses the connection: nothing is sent to its core.
      if (!member.up) throw new NodeDownError(request.node);
      // The API refuses requests until the node knows every seed (503 "starting"); so does the simulated client.
      if (!member.node.admitClients()) throw new NodeStartingError(request.node);
      call = callCoordinator(member.node.coordinator, operation);
    } catch (error) {
      call = Promise.reject(error);
    }
    call.then(
      (result) => finish('ok', resultDetails(operation, result)),
      (error: unknown) => finish(...this.classify(operation, error)),
    );
    return operation;
  }

  /** The coordinator's process died: its clients see their connections drop. */
  coordinatorCrashed(nodeId: string): void {
    for (const { operation, finish } of [...this.inflight.values()]) {
      if (operation.node !== nodeId) continue;
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

  private classify(operation: Operation, error: unknown): [Finished, { reason: string }] {
    if (error instanceof NodeStartingError || error instanceof NodeDownError) return ['failed', { reason: error.message }];
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

function callCoordinator(coordinator: Coordinator, operation: Operation): Promise<WriteResult | ReadResult> {
  switch (operation.kind) {
    case 'put':
      return coordinator.put(operation.key, operation.value, operation.level);
    case 'delete':
      return coordinator.delete(operation.key, operation.level);
    case 'read':
      return coordinator.read(operation.key, operation.level);
  }
}

function resultDetails(operation: Operation, result: WriteResult | ReadResult): Partial<Pick<Operation, 'version' | 'read'>> {
  if (operation.kind !== 'read') {
    const { record } = result as WriteResult;
    return { version: { hlc: record.hlc, nodeId: record.nodeId } };
  }
  const { record } = result as ReadResult;
  if (record === undefined) return { read: { found: false } };
  return { read: { found: true, tombstone: record.tombstone, value: record.value, version: { hlc: record.hlc, nodeId: record.nodeId } } };
}
