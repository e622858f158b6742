// The counter workload of the conditional-write test: K clients each loop "serial read,
// then PUT If-Match (If-None-Match: * while the key is absent) with the count plus one" on
// one key, through a random node per request, over plain HTTP as any application would
// (THE CONTRACT in docs/design.md, "Conditional writes"). Every request goes into the
// simulator's History shape: invoke and complete times on one monotonic clock, and an
// outcome that is honest (docs/design.md, "Honest outcomes"): 200 ok; 412 refused with the
// version it was refused on; 503 or a refused connection failed, nothing written; 504, any
// other 5xx, a timeout or a lost connection unknown. Each write's value names its writer, so
// a read that sees it names the write, even one whose answer never came.
import type { SeededRandom } from './chaos-random.js';
import type { RunClock } from './chaos-workload.js';
import { classifyFailure } from './chaos-workload.js';
import type { History, Operation, ReadValue, Version } from './cas-linearizability.js';

/** What the clients store: the count, and which request wrote it (unique in a run). */
export interface CounterValue {
  count: number;
  writer: string;
}

export interface CounterTarget {
  id: string;
  url: string;
}

export interface CounterWorkloadOptions {
  clients: number;
  key: string;
  /** Clients start no request after this many ms of the run clock. */
  stopAtMs: number;
  requestTimeoutMs: number;
  /** Bound on each client's requests, whatever the clock says. */
  requestsPerClientMax: number;
  /** A client's pause after a request that did not succeed, so a dead node is not hammered. */
  failurePauseMs: number;
}

export interface CounterWorkloadDeps {
  targets: readonly CounterTarget[];
  fetch: typeof fetch;
  token: string;
  clock: RunClock;
  history: History;
}

/** One HTTP exchange: the status and parsed body, or what was thrown. */
export type Answer = { status: number; body: unknown } | { error: unknown };

/** How an answer ends an operation in the History, and a label to count it under. */
export interface Classified {
  outcome: 'ok' | 'failed' | 'unknown';
  label: string;
  details: Partial<Pick<Operation, 'version' | 'read' | 'reason' | 'preconditionFailed' | 'previous'>>;
  /** An answer THE CONTRACT does not allow here (a 400, a malformed body...). */
  unexpected?: string;
}

const serialLevel = 2;

/** Retries of an increment whose outcome was unknown, through other nodes, with its Idempotency-Key. */
const idempotentRetriesMax = 4;

export class CounterWorkload {
  /** Answers by label ("put 200", "read 503", "put no answer"...). */
  readonly answers = new Map<string, number>();
  readonly unexpected: string[] = [];
  private readonly deps: CounterWorkloadDeps;
  private readonly options: CounterWorkloadOptions;
  private readonly incarnations = new Map<string, number>();
  private writes = 0;

  constructor(deps: CounterWorkloadDeps, options: CounterWorkloadOptions) {
    if (deps.targets.length === 0) throw new Error('the counter workload needs at least one node');
    this.deps = deps;
    this.options = options;
  }

  /** The harness restarted a node: later requests to it go to a new incarnation. */
  noteRestart(nodeId: string): void {
    this.incarnations.set(nodeId, (this.incarnations.get(nodeId) ?? 0) + 1);
  }

  async run(random: SeededRandom): Promise<void> {
    await Promise.all(Array.from({ length: this.options.clients }, (_, index) => this.runClient(`c${index + 1}`, random.fork())));
  }

  private async runClient(client: string, random: SeededRandom): Promise<void> {
    const { requestsPerClientMax, stopAtMs, failurePauseMs } = this.options;
    let requests = 0;
    while (requests < requestsPerClientMax && this.deps.clock.nowMs() < stopAtMs) {
      const read = await this.serialRead(client, random.pick(this.deps.targets), 'workload');
      requests += 1;
      if (read.outcome !== 'ok' || read.read === undefined || (read.read.found && read.read.tombstone)) {
        await sleep(failurePauseMs);
        continue;
      }
      if (this.deps.clock.nowMs() >= stopAtMs) break;
      const write = await this.conditionalPut(client, random.pick(this.deps.targets), read.read);
      requests += 1;
      if (write.outcome !== 'ok' && write.preconditionFailed !== true) await sleep(failurePauseMs);
    }
  }

  /** A linearizable read (r=serial), recorded in the history. */
  async serialRead(client: string, target: CounterTarget, phase: 'workload' | 'final'): Promise<Operation> {
    const { key } = this.options;
    const operation = this.deps.history.invoke(
      { client, kind: 'read', key, level: serialLevel, serial: true, node: target.id, incarnation: this.incarnationOf(target.id), phase },
      this.deps.clock.nowMs(),
    );
    const answer = await this.send(target, 'GET', `/store/${encodeURIComponent(key)}?r=serial`, {}, undefined);
    this.finish(operation, 'read', classifyReadAnswer(answer));
    return operation;
  }

  /**
   * PUT the count after what `current` shows, on the condition that `current` is still the
   * key's version, with an Idempotency-Key: an attempt whose outcome is unknown (504, no
   * answer) or still in flight (409) is sent again, same request and key, through another
   * node, and the operation ends with the first definite answer. The retries resolve
   * unknown outcomes without ever applying an increment twice.
   */
  private async conditionalPut(client: string, target: CounterTarget, current: ReadValue): Promise<Operation> {
    const { key } = this.options;
    this.writes += 1;
    const value: CounterValue = { count: (current.found ? countOf(current.value) : 0) + 1, writer: `${client}#${this.writes}` };
    const condition = current.found ? { ifMatch: current.version } : { ifNoneMatch: true as const };
    const operation = this.deps.history.invoke(
      { client, kind: 'put', key, value: tokenOf(value), level: serialLevel, condition, node: target.id, incarnation: this.incarnationOf(target.id), phase: 'workload' },
      this.deps.clock.nowMs(),
    );
    const conditionHeader: Record<string, string> = current.found ? { 'if-match': `"${current.version.hlc}-${current.version.nodeId}"` } : { 'if-none-match': '*' };
    const header = { ...conditionHeader, 'idempotency-key': value.writer };
    let via = target;
    let classified = classifyWriteAnswer(await this.send(via, 'PUT', `/store/${encodeURIComponent(key)}`, header, JSON.stringify({ value })), current.found ? current.version : null);
    let maybeApplied = false;
    for (let retry = 1; retry <= idempotentRetriesMax && (classified.outcome === 'unknown' || classified.label === '409'); retry++) {
      maybeApplied = true;
      this.answers.set(`put ${classified.label}, retried`, (this.answers.get(`put ${classified.label}, retried`) ?? 0) + 1);
      await sleep(this.options.failurePauseMs * 2);
      via = this.deps.targets.find((other) => other.id !== via.id && other.id !== target.id) ?? via;
      classified = classifyWriteAnswer(await this.send(via, 'PUT', `/store/${encodeURIComponent(key)}`, header, JSON.stringify({ value })), current.found ? current.version : null);
    }
    // Still in flight after the retries: its outcome is not known.
    if (classified.label === '409') classified = { outcome: 'unknown', label: '409', details: { reason: 'still in flight after the retries' } };
    // A retry refused before it reached the replicas (no connection, 503) says nothing of an
    // earlier attempt that may have been accepted; a 412 does: the retry's round found no
    // trace of it, so it was never chosen and never will be (docs/design.md, "Idempotent writes").
    if (maybeApplied && classified.outcome === 'failed' && classified.details.preconditionFailed !== true) {
      classified = { outcome: 'unknown', label: `${classified.label} after an unknown attempt`, details: { reason: `${classified.details.reason ?? ''}, after an attempt of unknown outcome` } };
    }
    this.finish(operation, 'put', classified);
    return operation;
  }

  private finish(operation: Operation, kind: 'read' | 'put', classified: Classified): void {
    this.deps.history.complete(operation, classified.outcome, this.deps.clock.nowMs(), classified.details);
    const label = `${kind} ${classified.label}`;
    this.answers.set(label, (this.answers.get(label) ?? 0) + 1);
    if (classified.unexpected !== undefined && this.unexpected.length < 20) this.unexpected.push(`op ${operation.id} (${label} via ${operation.node}): ${classified.unexpected}`);
  }

  private async send(target: CounterTarget, method: 'GET' | 'PUT', path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
    try {
      const response = await this.deps.fetch(`${target.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.deps.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      const text = await response.text();
      return { status: response.status, body: parseJson(text) };
    } catch (error) {
      return { error };
    }
  }

  private incarnationOf(nodeId: string): number {
    return this.incarnations.get(nodeId) ?? 0;
  }
}

/** A serial read's answer: 200 the value and version, 404 absent; 503 failed; 504 or no answer unknown. */
export function classifyReadAnswer(answer: Answer): Classified {
  if ('error' in answer) return fromThrown(answer.error);
  const { status, body } = answer;
  if (status === 200) {
    const version = versionOf(field(body, 'version'));
    const value = field(body, 'value');
    if (version === undefined || !isCounterValue(value)) return { outcome: 'failed', label: '200 malformed', details: { reason: 'malformed 200' }, unexpected: `200 without a counter value and a version: ${preview(body)}` };
    return { outcome: 'ok', label: '200', details: { read: { found: true, tombstone: false, value: tokenOf(value), version } } };
  }
  if (status === 404) return { outcome: 'ok', label: '404', details: { read: { found: false } } };
  return fromStatus(status, body);
}

/** A conditional write's answer (THE CONTRACT): 200 won over `expected`; 412 refused, with the version it met. */
export function classifyWriteAnswer(answer: Answer, expected: Version | null): Classified {
  if ('error' in answer) return fromThrown(answer.error);
  const { status, body } = answer;
  if (status === 200) {
    const version = versionOf(field(body, 'version'));
    if (version === undefined) return { outcome: 'unknown', label: '200 malformed', details: { reason: 'no version' }, unexpected: `200 without a version: ${preview(body)}` };
    return { outcome: 'ok', label: '200', details: { version, previous: expected } };
  }
  if (status === 412) {
    const currentVersion = field(body, 'currentVersion');
    if (currentVersion === null) return { outcome: 'failed', label: '412', details: { preconditionFailed: true, read: { found: false }, reason: 'absent' } };
    const version = versionOf(currentVersion);
    if (version === undefined) return { outcome: 'failed', label: '412 malformed', details: { reason: 'malformed 412' }, unexpected: `412 without currentVersion: ${preview(body)}` };
    // The 412 names the version, not the value: the checker needs only the version to place it.
    const read: ReadValue = { found: true, tombstone: field(body, 'deleted') === true, value: undefined, version };
    return { outcome: 'failed', label: '412', details: { preconditionFailed: true, read, reason: `current ${String(currentVersion)}` } };
  }
  return fromStatus(status, body);
}

function fromStatus(status: number, body: unknown): Classified {
  const reason = `${status} ${String(field(body, 'title') ?? '')}: ${String(field(body, 'detail') ?? '')}`.slice(0, 300);
  if (status === 503) return { outcome: 'failed', label: '503', details: { reason } };
  if (status >= 500) return { outcome: 'unknown', label: String(status), details: { reason } };
  return { outcome: 'failed', label: String(status), details: { reason }, unexpected: reason };
}

function fromThrown(error: unknown): Classified {
  const { outcome, detail } = classifyFailure(error);
  return { outcome, label: outcome === 'failed' ? 'refused' : 'no answer', details: { reason: detail ?? 'no answer' } };
}

/** `"<hlc>-<node id>"` as the server formats versions (packages/core/src/storage/record.ts). */
export function versionOf(text: unknown): Version | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(\d+)-(.+)$/.exec(text);
  if (match === null) return undefined;
  const hlc = Number(match[1]);
  return Number.isSafeInteger(hlc) ? { hlc, nodeId: match[2] as string } : undefined;
}

/** The History names a written value by one string; unique because the writer is. */
export function tokenOf(value: CounterValue): string {
  return `${value.count}/${value.writer}`;
}

export function countOf(token: unknown): number {
  const count = Number(String(token).split('/')[0]);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`not a counter token: ${String(token)}`);
  return count;
}

function isCounterValue(value: unknown): value is CounterValue {
  return typeof value === 'object' && value !== null && Number.isSafeInteger((value as CounterValue).count) && typeof (value as CounterValue).writer === 'string';
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function preview(body: unknown): string {
  return JSON.stringify(body)?.slice(0, 200) ?? String(body);
}

/**
 * The counter's bounds (issue 11): every acknowledged increment took effect exactly once,
 * and only increments whose outcome is unknown may have been added on top.
 */
export function counterProblem(history: History, finalCount: number): string | undefined {
  const writes = history.operations.filter((operation) => operation.kind === 'put' && operation.condition !== undefined);
  const acknowledged = writes.filter((operation) => operation.outcome === 'ok').length;
  const unknown = writes.filter((operation) => operation.outcome === 'unknown').length;
  if (finalCount < acknowledged) return `the counter ended at ${finalCount}, below the ${acknowledged} increments answered 200: acknowledged increments were lost`;
  if (finalCount > acknowledged + unknown) return `the counter ended at ${finalCount}, above the ${acknowledged} answered 200 plus the ${unknown} of unknown outcome: an increment refused or never sent took effect`;
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
