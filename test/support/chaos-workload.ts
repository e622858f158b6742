// The client workload of a chaos run: a few workers, each the only writer of its own keys,
// send puts, deletes and quorum reads to random nodes and record every operation with its
// start and end time and its outcome. Outcomes are honest in the sense of docs/design.md,
// "Honest outcomes":
// ok (acknowledged), failed (certainly not applied: 4xx, 503, or a connection that was
// refused before anything was sent), unknown (504, 5xx, timeout, connection lost).
import { RingkvError, type RingkvClient } from '@ringkv/client';
import type { SeededRandom } from './chaos-random.js';

const failurePauseMs = 50;

export type OperationKind = 'put' | 'delete' | 'get';
export type Outcome = 'ok' | 'failed' | 'unknown';

export interface OperationRecord {
  id: number;
  worker: number;
  key: string;
  kind: OperationKind;
  /** The coordinator the request was sent to. */
  node: string;
  /** Milliseconds since the run's start (monotonic clock). */
  startMs: number;
  endMs: number;
  outcome: Outcome;
  /** HTTP status when the node answered. */
  status?: number;
  /** The version a successful write created or a successful read returned. */
  version?: string;
  /** A successful read: the id of the write whose value it returned, or null for absent. */
  observed?: number | null;
  /** A successful read that returned a value no write of this run made. */
  observedForeign?: string;
  detail?: string;
}

/** What a put writes: the operation's own id, so every read names the write it saw. */
export interface WrittenValue {
  op: number;
  key: string;
}

export interface WorkloadTarget {
  id: string;
  client: RingkvClient;
}

export interface WorkloadOptions {
  workers: number;
  keysPerWorker: number;
  /** Workers stop starting operations after this many ms of the run clock. */
  stopAtMs: number;
  operationsPerWorkerMax: number;
  /** Random pause between a worker's operations, 0..thinkMsMax. */
  thinkMsMax: number;
  /** Share of operations that are writes (puts and deletes); the rest are reads. */
  writeShare: number;
  /** Share of writes that are deletes. */
  deleteShare: number;
}

/** A monotonic clock that starts at zero when the run starts. */
export class RunClock {
  private readonly originMs = performance.now();

  nowMs(): number {
    return Math.round((performance.now() - this.originMs) * 10) / 10;
  }
}

export function keyOf(worker: number, keyIndex: number): string {
  return `chaos-w${worker}-k${keyIndex}`;
}

export class Workload {
  readonly operations: OperationRecord[] = [];
  private readonly targets: readonly WorkloadTarget[];
  private readonly options: WorkloadOptions;
  private readonly clock: RunClock;
  private nextId = 1;

  constructor(targets: readonly WorkloadTarget[], options: WorkloadOptions, clock: RunClock) {
    if (targets.length === 0) throw new Error('workload needs at least one node');
    this.targets = targets;
    this.options = options;
    this.clock = clock;
  }

  keys(): string[] {
    const keys: string[] = [];
    for (let worker = 0; worker < this.options.workers; worker++) {
      for (let index = 0; index < this.options.keysPerWorker; index++) keys.push(keyOf(worker, index));
    }
    return keys;
  }

  /** Runs every worker until `stopAtMs` (or its operation limit); resolves when all are done. */
  async run(random: SeededRandom): Promise<void> {
    const workers = Array.from({ length: this.options.workers }, (_, worker) => this.runWorker(worker, random.fork()));
    await Promise.all(workers);
  }

  private async runWorker(worker: number, random: SeededRandom): Promise<void> {
    const { keysPerWorker, operationsPerWorkerMax, stopAtMs, thinkMsMax, writeShare, deleteShare } = this.options;
    for (let count = 0; count < operationsPerWorkerMax && this.clock.nowMs() < stopAtMs; count++) {
      const key = keyOf(worker, random.integer(0, keysPerWorker - 1));
      const target = random.pick(this.targets);
      const kind: OperationKind = random.chance(writeShare) ? (random.chance(deleteShare) ? 'delete' : 'put') : 'get';
      const record = await this.perform(worker, key, kind, target);
      // Like a real client, back off a little after a failure instead of spinning on a dead node.
      const pauseMs = (thinkMsMax > 0 ? random.integer(0, thinkMsMax) : 0) + (record.outcome === 'ok' ? 0 : failurePauseMs);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  /** A successful read made without a request (the converged replicas), at the current time. */
  appendObservation(key: string, node: string, stored: { value: unknown; version: string } | undefined): OperationRecord {
    const atMs = this.clock.nowMs();
    const record: OperationRecord = { id: this.nextId++, worker: -1, key, kind: 'get', node, startMs: atMs, endMs: atMs, outcome: 'ok', status: 200 };
    observe(record, stored);
    this.operations.push(record);
    return record;
  }

  /** One operation, recorded whatever happens. */
  async perform(worker: number, key: string, kind: OperationKind, target: WorkloadTarget): Promise<OperationRecord> {
    const id = this.nextId++;
    const record: OperationRecord = { id, worker, key, kind, node: target.id, startMs: this.clock.nowMs(), endMs: 0, outcome: 'unknown' };
    this.operations.push(record);
    try {
      if (kind === 'put') {
        const value: WrittenValue = { op: id, key };
        const receipt = await target.client.put(key, value);
        record.version = receipt.body.version;
      } else if (kind === 'delete') {
        const receipt = await target.client.delete(key);
        record.version = receipt.body.version;
      } else {
        const stored = await target.client.get(key);
        observe(record, stored === null ? undefined : stored);
      }
      record.outcome = 'ok';
      record.status = 200;
    } catch (error) {
      Object.assign(record, classifyFailure(error));
    }
    record.endMs = this.clock.nowMs();
    return record;
  }
}

/** The outcome of a request that threw: definite failure or unknown (see the file header). */
export function classifyFailure(error: unknown): Pick<OperationRecord, 'outcome' | 'status' | 'detail'> {
  if (error instanceof RingkvError) {
    const definite = error.status === 503 || (error.status >= 400 && error.status < 500);
    return { outcome: definite ? 'failed' : 'unknown', status: error.status, detail: `${error.problem.title}: ${error.problem.detail}`.slice(0, 300) };
  }
  if (error instanceof Error && error.name === 'TimeoutError') return { outcome: 'unknown', detail: 'client timeout' };
  const code = causeCode(error);
  // Refused at connect: no byte of the request left this process, so nothing was applied.
  if (code === 'ECONNREFUSED') return { outcome: 'failed', detail: 'connection refused' };
  return { outcome: 'unknown', detail: code ?? (error instanceof Error ? error.message : String(error)) };
}

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function observe(record: OperationRecord, stored: { value: unknown; version: string } | undefined): void {
  if (stored === undefined) {
    record.observed = null;
    return;
  }
  record.version = stored.version;
  const op = writtenOpOf(stored.value, record.key);
  if (op === undefined) record.observedForeign = JSON.stringify(stored.value).slice(0, 200);
  else record.observed = op;
}

function writtenOpOf(value: unknown, key: string): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const written = value as Partial<WrittenValue>;
  if (written.key !== key || !Number.isInteger(written.op)) return undefined;
  return written.op;
}
