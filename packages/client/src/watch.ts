// The change feed (GET /watch) as an async iterable, shared by both clients. The stream is
// Server-Sent Events read with fetch rather than EventSource, which cannot send the
// Authorization header. Each event's `id` is a resume cursor: the iterator remembers the
// last one, and when the stream breaks (the node died, the network failed, the node cut a
// watcher that fell behind with `event: error`, or a node answered 503) it reopens the watch
// with `since=<last id>` on another node, which delivers every change after it exactly
// once (docs/client.md, "Watching changes"). Waits between failures grow and are bounded,
// and so is their number in a row. A cursor older than the nodes' retention is a 410: the
// caller must list the keys again and start a fresh watch, so that is thrown, not retried.
// Imports from the client modules are types only: client.ts and cluster-client.ts import
// this module, and hand it what it needs through WatchDeps.
import { pause } from './abort-signals.js';
import type { AttemptRecord } from './cluster-client.js';
import { watchEventCharsMax, watchIdleTimeoutMsDefault, watchReconnectsMaxDefault, watchRetryAfterMsMax, watchRetryDelayMsMax, watchRetryDelayMsMin } from './client-limits.js';
import { problemOf, retryAfterMsOf } from './http-answers.js';
import { describeError, failureKindOf } from './retry-policy.js';
import { ServerSentEventParser, type ServerSentEvent } from './server-sent-events.js';
import type { Problem } from './types.js';

/** The watch has begun: changes after `cursor` are delivered. Sent first on every (re)connection. */
export interface WatchReadyEvent {
  type: 'ready';
  cursor: string;
  /** The prefix the node watches ('' for every key). */
  prefix: string;
}

/** A key got a new value: the body and version a GET would have returned. */
export interface WatchPutEvent {
  type: 'put';
  cursor: string;
  key: string;
  value: unknown;
  version: string;
  /** When the value expires (RFC 3339), for a value written with a ttl. */
  expiresAt?: string;
}

/** A key was deleted, or (`expired`) its ttl ran out. */
export interface WatchDeleteEvent {
  type: 'delete';
  cursor: string;
  key: string;
  version: string;
  expired: boolean;
}

/** A heartbeat carrying the latest cursor, so an idle watcher can resume without loss. */
export interface WatchProgressEvent {
  type: 'progress';
  cursor: string;
}

export type WatchEvent = WatchReadyEvent | WatchPutEvent | WatchDeleteEvent | WatchProgressEvent;

/** Where a watch stands, for a status line or a log; `url` is the node's base URL ('' for the page's own origin). */
export type WatchStatus =
  | { state: 'connecting'; url: string; cursor: string | null }
  | { state: 'connected'; url: string; cursor: string | null }
  /** The stream broke (`reason`); the watch reopens on `url` after `waitMs`, failure `failures` in a row. */
  | { state: 'reconnecting'; url: string; cursor: string | null; reason: string; waitMs: number; failures: number };

export interface WatchOptions {
  /** Only keys starting with this ('' or absent: every key). Keys may contain `/`. */
  prefix?: string;
  /** Resume after this cursor (an event's `cursor` from an earlier watch); absent: from now. */
  since?: string;
  /** Ends the watch: the iteration then finishes without an error. */
  signal?: AbortSignal;
  /** Hears each connection, and each failure before the watch reopens. */
  onStatus?: (status: WatchStatus) => void;
  /** Failures in a row (no event delivered in between) after which the watch throws; default 30. */
  reconnectsMax?: number;
  /** The wait before the second attempt after failures in a row; it doubles each time… */
  retryDelayMsMin?: number;
  /** …up to this. The first reconnection after a stream that worked is immediate. */
  retryDelayMsMax?: number;
  /** A stream silent for this long (no heartbeat) is taken for dead and reopened; default 15 s. */
  idleTimeoutMs?: number;
}

/** What a watch needs from the client that opens it (the one-node client or the cluster client). */
export interface WatchDeps {
  fetch: typeof fetch;
  /** The headers every request of the client carries (Authorization). */
  headers(): Record<string, string>;
  /** The node to open the watch on next: one other than `previous` when the client knows another. */
  nodeFor(previous: string | undefined, signal: AbortSignal | undefined): Promise<string>;
  nodeFailed(url: string): void;
  nodeSucceeded(url: string): void;
  /** The error for a node's problem answer (WatchCursorExpiredError for the 410 of an expired cursor). */
  errorOf(problem: Problem, headers?: Pick<Headers, 'get'>): Error;
  /** The error thrown when the watch gives up after failures in a row that were not answers. */
  unavailableError(attempts: readonly AttemptRecord[], lastError: unknown): Error;
}

/** A node sent something that is not a watch event of this client's contract (a bug, or a node of another release). */
export class WatchProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchProtocolError';
  }
}

/** The problem type of a 410 that says the cursor is older than the nodes' retention (`urn:ringkv:problem:<code>`). */
export const watchCursorExpiredProblemCode = 'watch-cursor-expired';

/** GET /watch with the prefix and cursor that are set. */
export function watchPath(prefix: string, since: string | null): string {
  const query = new URLSearchParams();
  if (prefix !== '') query.set('prefix', prefix);
  if (since !== null) query.set('since', since);
  return query.size === 0 ? '/watch' : `/watch?${query.toString()}`;
}

interface WatchSettings {
  prefix: string;
  reconnectsMax: number;
  retryDelayMsMin: number;
  retryDelayMsMax: number;
  idleTimeoutMs: number;
}

function settingsOf(options: WatchOptions): WatchSettings {
  const settings = {
    prefix: options.prefix ?? '',
    reconnectsMax: options.reconnectsMax ?? watchReconnectsMaxDefault,
    retryDelayMsMin: options.retryDelayMsMin ?? watchRetryDelayMsMin,
    retryDelayMsMax: options.retryDelayMsMax ?? watchRetryDelayMsMax,
    idleTimeoutMs: options.idleTimeoutMs ?? watchIdleTimeoutMsDefault,
  };
  for (const name of ['reconnectsMax', 'retryDelayMsMin', 'retryDelayMsMax', 'idleTimeoutMs'] as const) {
    if (!Number.isInteger(settings[name]) || settings[name] < 0) throw new RangeError(`watch option ${name} must be a whole number ≥ 0, not ${settings[name]}`);
  }
  if (settings.idleTimeoutMs === 0) throw new RangeError('watch option idleTimeoutMs must be above 0: nodes send a heartbeat at least every 5 s');
  return settings;
}

/** What one stream's end leaves for the next attempt. */
interface StreamState {
  /** The last cursor delivered (or given as `since`); null before the first. */
  cursor: string | null;
  /** This stream delivered a change or heartbeat: the failures before it no longer count. */
  delivered: boolean;
}

type StreamEnd = { kind: 'aborted' } | { kind: 'failed'; failure: AttemptRecord; error: unknown; retryAfterMs?: number };

/**
 * The changes under `options.prefix`, from now or after `options.since`, as long as the
 * caller iterates: reopened on another node with the last cursor after a failure. Throws
 * WatchCursorExpiredError (410) for a cursor older than the retention, the node's error for
 * any other refusal (400, 401, 403), and gives up after `reconnectsMax` failures in a row.
 */
export async function* watchChanges(deps: WatchDeps, options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
  const settings = settingsOf(options);
  const { signal, onStatus } = options;
  const state: StreamState = { cursor: options.since === undefined || options.since === '' ? null : options.since, delivered: false };
  const failures: AttemptRecord[] = [];
  let lastEnd: Extract<StreamEnd, { kind: 'failed' }> | undefined;
  let url: string | undefined;
  while (signal?.aborted !== true) {
    if (lastEnd !== undefined && failures.length > settings.reconnectsMax) throw giveUpError(deps, failures, lastEnd);
    const next = await nodeOrAbort(deps, url, signal);
    if (next === undefined) return;
    if (lastEnd !== undefined) {
      // A node's Retry-After speaks for that node: another one is tried without waiting for it.
      const waitMs = retryWaitMs(failures.length, next === url ? lastEnd.retryAfterMs : undefined, settings);
      onStatus?.({ state: 'reconnecting', url: next, cursor: state.cursor, reason: lastEnd.failure.detail, waitMs, failures: failures.length });
      if (!(await pause(waitMs, signal))) return;
    }
    url = next;
    onStatus?.({ state: 'connecting', url, cursor: state.cursor });
    state.delivered = false;
    const end = yield* streamFrom(deps, url, settings, state, options);
    if (end.kind === 'aborted') return;
    if (state.delivered) failures.length = 0;
    failures.push(end.failure);
    lastEnd = end;
  }
}

async function nodeOrAbort(deps: WatchDeps, previous: string | undefined, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    return await deps.nodeFor(previous, signal);
  } catch (error) {
    if (signal?.aborted === true) return undefined;
    throw error;
  }
}

/** The last node's own problem when it answered one, else the client's "no node answered". */
function giveUpError(deps: WatchDeps, failures: readonly AttemptRecord[], lastEnd: Extract<StreamEnd, { kind: 'failed' }>): Error {
  if (lastEnd.failure.kind === 'answer' && lastEnd.error instanceof Error) return lastEnd.error;
  return deps.unavailableError(failures, lastEnd.error);
}

/**
 * The wait before failure `failures` in a row is followed by another attempt: none after the
 * first (another node is asked at once), then doubling from the minimum to the maximum, half
 * of it random so watchers cut off together do not come back together; at least the node's
 * Retry-After (bounded) when the same node is asked again.
 */
export function retryWaitMs(failures: number, retryAfterMs: number | undefined, settings: Pick<WatchSettings, 'retryDelayMsMin' | 'retryDelayMsMax'>, random = Math.random): number {
  const backoffMs = failures <= 1 ? 0 : Math.min(settings.retryDelayMsMax, settings.retryDelayMsMin * 2 ** Math.min(failures - 2, 20));
  const jitteredMs = Math.round(backoffMs / 2 + (random() * backoffMs) / 2);
  return retryAfterMs === undefined ? jitteredMs : Math.max(jitteredMs, Math.min(retryAfterMs, watchRetryAfterMsMax));
}

/** One stream from one node: its events, until it breaks, is aborted, or throws what must not be retried. */
async function* streamFrom(deps: WatchDeps, url: string, settings: WatchSettings, state: StreamState, options: WatchOptions): AsyncGenerator<WatchEvent, StreamEnd, undefined> {
  const connection = new WatchConnection(options.signal, settings.idleTimeoutMs);
  try {
    const opened = await connection.open(deps, url, watchPath(settings.prefix, state.cursor));
    if ('kind' in opened) return opened;
    options.onStatus?.({ state: 'connected', url, cursor: state.cursor });
    const parser = new ServerSentEventParser(watchEventCharsMax);
    for (;;) {
      const chunk = await connection.read(deps, opened.reader, url);
      if ('kind' in chunk) return chunk;
      for (const message of chunk.done ? parser.end() : parser.push(chunk.value)) {
        const item = itemOf(message);
        if (item === undefined) continue;
        if ('cut' in item) return cutOff(deps, url, item.cut);
        state.cursor = item.cursor;
        if (item.type !== 'ready') state.delivered = true;
        yield item;
      }
      if (chunk.done) {
        deps.nodeFailed(url);
        return { kind: 'failed', failure: { url, kind: 'no-answer', detail: 'the node ended the stream' }, error: new Error(`${url} ended the watch stream`) };
      }
    }
  } finally {
    connection.close();
  }
}

/** `event: error`: the node cut the stream (a watcher too far behind, say). A 410 in it ends the watch; anything else is resumed. */
function cutOff(deps: WatchDeps, url: string, problem: Problem): StreamEnd {
  const error = deps.errorOf(problem);
  if (problem.status === 410) throw error;
  return { kind: 'failed', failure: { url, kind: 'answer', status: problem.status, detail: `the node cut the stream: ${problem.title}: ${problem.detail}` }, error };
}

/**
 * One fetch of GET /watch and its body: aborted with the caller's signal, when the body is
 * silent longer than the idle timeout, and when the stream is done with (close).
 */
class WatchConnection {
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal | undefined;
  private readonly idleTimeoutMs: number;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private idled = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly onAbort = () => this.controller.abort(this.signal?.reason);

  constructor(signal: AbortSignal | undefined, idleTimeoutMs: number) {
    this.signal = signal;
    this.idleTimeoutMs = idleTimeoutMs;
    if (signal?.aborted === true) this.controller.abort(signal.reason);
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The body's reader after a 200, the end of this attempt after a 502/503/504 or no answer; throws for other refusals. */
  async open(deps: WatchDeps, url: string, path: string): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array> } | StreamEnd> {
    let response: Response;
    try {
      response = await this.idleBounded(deps.fetch(`${url}${path}`, { headers: { ...deps.headers(), accept: 'text/event-stream' }, signal: this.controller.signal }));
    } catch (error) {
      return this.broken(deps, url, error);
    }
    if (!response.ok) return refusal(deps, url, response);
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('text/event-stream') || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      throw new WatchProtocolError(`${url}${path} answered ${response.status} with ${contentType || 'no content type'}, not an event stream: is the node an older ringkv release without GET /watch?`);
    }
    deps.nodeSucceeded(url);
    this.reader = response.body.getReader();
    return { reader: this.reader };
  }

  /** The next chunk, or the end of this attempt when the stream broke, fell silent or was aborted. */
  async read(deps: WatchDeps, reader: ReadableStreamDefaultReader<Uint8Array>, url: string): Promise<ReadableStreamReadResult<Uint8Array> | StreamEnd> {
    try {
      return await this.idleBounded(reader.read());
    } catch (error) {
      if (this.signal?.aborted === true) return { kind: 'aborted' };
      deps.nodeFailed(url);
      const kind = failureKindOf(error, this.idled);
      const detail = this.idled ? `no event or heartbeat for ${this.idleTimeoutMs} ms` : `the stream broke (${describeError(error)})`;
      return { kind: 'failed', failure: { url, kind, detail }, error };
    }
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.reader?.cancel().catch(() => undefined);
    this.controller.abort(new DOMException('the watch stream is closed', 'AbortError'));
  }

  /** Settles as `work` does; if it takes longer than the idle timeout, the connection is aborted (and `work` rejects). */
  private async idleBounded<T>(work: Promise<T>): Promise<T> {
    this.idleTimer = setTimeout(() => {
      this.idled = true;
      this.controller.abort(new DOMException(`no data within ${this.idleTimeoutMs} ms`, 'TimeoutError'));
    }, this.idleTimeoutMs);
    try {
      return await work;
    } finally {
      clearTimeout(this.idleTimer);
    }
  }

  private broken(deps: WatchDeps, url: string, error: unknown): StreamEnd {
    if (this.signal?.aborted === true) return { kind: 'aborted' };
    deps.nodeFailed(url);
    return { kind: 'failed', failure: { url, kind: failureKindOf(error, this.idled), detail: describeError(error) }, error };
  }
}

/** A 502, 503 or 504 ends this attempt (the next goes to another node); every other refusal is thrown. */
async function refusal(deps: WatchDeps, url: string, response: Response): Promise<StreamEnd> {
  const problem = await problemOf(response);
  const error = deps.errorOf(problem, response.headers);
  if (![502, 503, 504].includes(response.status)) throw error;
  // A node at its watcher limit or not yet reaching enough replicas is tried last for a while.
  if (response.status === 503) deps.nodeFailed(url);
  const retryAfterMs = response.headers.has('retry-after') ? retryAfterMsOf(response.headers, 0) : undefined;
  const failure: AttemptRecord = { url, kind: 'answer', status: response.status, detail: `${response.status} ${problem.title}: ${problem.detail}` };
  return { kind: 'failed', failure, error, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

const eventNames = new Set(['ready', 'put', 'delete', 'progress', 'error']);

/** The watch event a stream message is, `cut` for `event: error`, or undefined for a message this client does not know (skipped). */
export function itemOf(message: ServerSentEvent): WatchEvent | { cut: Problem } | undefined {
  if (!eventNames.has(message.event)) return undefined;
  const data = dataOf(message);
  if (message.event === 'error') return { cut: problemOfData(data) };
  const cursor = message.hasId ? message.id : typeof data.cursor === 'string' ? data.cursor : '';
  if (cursor === '') throw new WatchProtocolError(`a watch "${message.event}" event came without an id (its resume cursor)`);
  switch (message.event) {
    case 'ready':
      return { type: 'ready', cursor, prefix: typeof data.prefix === 'string' ? data.prefix : '' };
    case 'progress':
      return { type: 'progress', cursor };
    case 'put':
      if (!('value' in data)) throw new WatchProtocolError(`a watch "put" event for ${JSON.stringify(data.key)} came without a value`);
      return {
        type: 'put',
        cursor,
        key: stringField(data, 'key', message.event),
        value: data.value,
        version: stringField(data, 'version', message.event),
        ...(typeof data.expiresAt === 'string' ? { expiresAt: data.expiresAt } : {}),
      };
    default:
      return { type: 'delete', cursor, key: stringField(data, 'key', message.event), version: stringField(data, 'version', message.event), expired: data.expired === true };
  }
}

function dataOf(message: ServerSentEvent): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw new WatchProtocolError(`a watch "${message.event}" event's data is not JSON: ${message.data.slice(0, 200)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new WatchProtocolError(`a watch "${message.event}" event's data is not a JSON object`);
  return data as Record<string, unknown>;
}

function stringField(data: Record<string, unknown>, name: string, event: string): string {
  const value = data[name];
  if (typeof value !== 'string') throw new WatchProtocolError(`a watch "${event}" event came without a string "${name}"`);
  return value;
}

/** The problem an `event: error` carries, with the members a problem must have filled in when the node left them out. */
function problemOfData(data: Record<string, unknown>): Problem {
  return {
    ...data,
    type: typeof data.type === 'string' ? data.type : 'about:blank',
    title: typeof data.title === 'string' ? data.title : 'The watch was cut off',
    status: typeof data.status === 'number' ? data.status : 500,
    detail: typeof data.detail === 'string' ? data.detail : 'resume from the last cursor',
  };
}
