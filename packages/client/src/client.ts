// A typed client for one ringkv node's REST API. It uses the platform `fetch`, so the
// same code runs in Node (CLI, tests, benchmarks) and in the browser (dashboard).
import type {
  AuthIdentity,
  ClusterInfo,
  ClusterKeyItem,
  ClusterKeysPage,
  ClusterNodes,
  JobControl,
  JobList,
  Pace,
  PaceUpdate,
  RingChange,
  ConsistencyLevel,
  DeleteResult,
  Health,
  KeyOwners,
  KeyReplicas,
  KeysPage,
  NodeInfo,
  NodeStatus,
  PreconditionFailedProblem,
  Problem,
  ReadLevel,
  RepairStatus,
  RingLayout,
  StoredValue,
} from './types.js';
import { idempotencyKeyCharsMax, inFlightRetryAfterMsDefault } from './client-limits.js';
import { acksOf, problemOf, replayedOf, retryAfterMsOf, storePath, storePathWithQuery } from './http-answers.js';
import type { BatchAnswer, BatchOp } from './batch-schemas.js';
import { clusterKeyEntries, clusterKeyPages, clusterKeysPath, type ClusterKeysOptions, type ScanKeysOptions } from './cluster-key-scan.js';
import { watchChanges, watchCursorExpiredProblemCode, type WatchEvent, type WatchOptions } from './watch.js';

export type { ClusterKeysOptions, ScanKeysOptions } from './cluster-key-scan.js';

/** The bounds callers outside this package need (the CLI asks again about a write in flight at most this often). */
export { idempotencyKeyCharsMax, inFlightRetriesMax, scanPagesMaxDefault } from './client-limits.js';

/** An error answer from a node, carrying its problem+json body. */
export class RingkvError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = 'RingkvError';
    this.status = problem.status;
    this.problem = problem;
  }
}

/**
 * A refused If-Match or If-None-Match (412): nothing was written. `currentVersion` is the
 * key's version now (null when absent), to read the key again and decide.
 */
export class RingkvPreconditionFailedError extends RingkvError {
  readonly currentVersion: string | null;
  /** The key is deleted (currentVersion is its tombstone's). */
  readonly deleted: boolean;

  constructor(problem: PreconditionFailedProblem) {
    super(problem);
    this.name = 'RingkvPreconditionFailedError';
    this.currentVersion = typeof problem.currentVersion === 'string' ? problem.currentVersion : null;
    this.deleted = problem.deleted === true;
  }
}

/**
 * The first request with this Idempotency-Key is still being decided (409): nothing new was
 * started. Ask again, with the same key, after `retryAfterMs` (the node's Retry-After); the
 * cluster client does so by itself within the request's time budget.
 */
export class RingkvIdempotencyKeyInFlightError extends RingkvError {
  readonly retryAfterMs: number;

  constructor(problem: Problem, retryAfterMs: number) {
    super(problem);
    this.name = 'RingkvIdempotencyKeyInFlightError';
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The Idempotency-Key was used before with a different request (another method, value, ttl
 * or condition) for this store key (422): nothing was written. A new request needs a new key.
 */
export class RingkvIdempotencyKeyReusedError extends RingkvError {
  constructor(problem: Problem) {
    super(problem);
    this.name = 'RingkvIdempotencyKeyReusedError';
  }
}

/**
 * The watch's cursor is older than the nodes keep changes for (410): changes after it may be
 * gone. List the keys again (scanKeys) and start a fresh watch without `since`.
 */
export class WatchCursorExpiredError extends RingkvError {
  constructor(problem: Problem) {
    super(problem);
    this.name = 'WatchCursorExpiredError';
  }
}

/** The problem types of the two Idempotency-Key refusals (`urn:ringkv:problem:<code>`). */
const inFlightProblemCode = 'idempotency-key-in-flight';
const reusedProblemCode = 'idempotency-key-reused';

/**
 * The error for a node's problem answer: RingkvPreconditionFailedError for 412, the
 * Idempotency-Key errors for their 409 and 422 (told apart from other 409s by the problem
 * type; `headers` give the Retry-After), WatchCursorExpiredError for a watch's 410, else a RingkvError.
 */
export function errorOfProblem(problem: Problem, headers?: Pick<Headers, 'get'>): RingkvError {
  if (problem.status === 412) return new RingkvPreconditionFailedError(problem as PreconditionFailedProblem);
  if (problem.status === 409 && problem.type.endsWith(inFlightProblemCode)) {
    return new RingkvIdempotencyKeyInFlightError(problem, headers === undefined ? inFlightRetryAfterMsDefault : retryAfterMsOf(headers, inFlightRetryAfterMsDefault));
  }
  if (problem.status === 422 && problem.type.endsWith(reusedProblemCode)) return new RingkvIdempotencyKeyReusedError(problem);
  if (problem.status === 410 && problem.type.endsWith(watchCursorExpiredProblemCode)) return new WatchCursorExpiredError(problem);
  return new RingkvError(problem);
}

/**
 * A fresh Idempotency-Key: a random UUID. Make one per logical write and send it with every
 * retry of that write. crypto.randomUUID exists only in secure contexts (https, localhost),
 * so a page served over plain http builds the same version-4 UUID from getRandomValues.
 */
export function newIdempotencyKey(): string {
  const webCrypto = globalThis.crypto;
  if (typeof webCrypto.randomUUID === 'function') return webCrypto.randomUUID();
  const bytes = webCrypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What is wrong with an Idempotency-Key (1..255 visible ASCII characters, 0x21..0x7E), or null when nothing is. */
export function idempotencyKeyProblem(key: string): string | null {
  if (key.length === 0) return 'an Idempotency-Key must not be empty';
  if (key.length > idempotencyKeyCharsMax) return `an Idempotency-Key has at most ${idempotencyKeyCharsMax} characters, this one ${key.length}`;
  if (!/^[\x21-\x7e]+$/.test(key)) return 'an Idempotency-Key holds only visible ASCII characters (no spaces, no accents); newIdempotencyKey() makes one';
  return null;
}

/**
 * The Idempotency-Key header, or none. A key that cannot be valid throws a RangeError before
 * anything is sent: fetch would refuse some such headers with a less helpful message.
 */
export function idempotencyHeaders(key: string | undefined): Record<string, string> {
  if (key === undefined) return {};
  const problem = idempotencyKeyProblem(key);
  if (problem !== null) throw new RangeError(problem);
  return { 'idempotency-key': key };
}

/** The If-Match header for a version: quoted as the ETag header gives it (a version already quoted is sent as is). */
export function ifMatchHeaders(version: string): Record<string, string> {
  return { 'if-match': version.startsWith('"') || version.startsWith('W/') ? version : `"${version}"` };
}

/** The header of a create-only write: If-None-Match: * (absent or deleted keys only). */
export const ifAbsentHeaders: Readonly<Record<string, string>> = { 'if-none-match': '*' };

export interface ClientOptions {
  /** Base URL of the node, e.g. `http://127.0.0.1:8000`; empty for same-origin (browser). */
  baseUrl: string;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** API token sent as `Authorization: Bearer <token>` (docs/security.md). */
  token?: string;
  /**
   * The fetch to use; Node callers pass one bound to a dispatcher that trusts the
   * cluster's CA (see `fetchTrusting` in @ringkv/server). Default: the platform fetch.
   */
  fetch?: typeof fetch;
}

export interface ListKeysOptions {
  limit?: number;
  prefix?: string;
  cursor?: string | null;
}

/** What a write answered besides its body. */
export interface WriteReceipt<T> {
  body: T;
  acks: number;
  /**
   * True when the node answered with the outcome it remembered for this Idempotency-Key
   * (Idempotent-Replayed: true): an earlier attempt wrote it, and this one wrote nothing.
   */
  replayed: boolean;
}

/** Idempotency-Key for a write: retries with the same key answer the first outcome and write nothing new. */
export interface IdempotencyOptions {
  /** 1..255 visible ASCII characters (newIdempotencyKey() makes one); not with `w` (the node answers 400). */
  idempotencyKey?: string;
}

/** A put's expiry. */
export interface ExpiryOptions {
  /**
   * Seconds until the key expires (a whole number, 1..630720000): from then on no read returns
   * it. The answer's `expiresAt` says when. A later put without ttl makes the key permanent again.
   */
  ttl?: number;
}

export interface PutOptions extends ExpiryOptions, IdempotencyOptions {
  w?: ConsistencyLevel;
}

export interface DeleteOptions extends IdempotencyOptions {
  w?: ConsistencyLevel;
}

/** Options of putIfMatch and createIfAbsent (a majority decides them, so no `w`). */
export type ConditionalPutOptions = ExpiryOptions & IdempotencyOptions;
/** Options of deleteIfMatch. */
export type ConditionalDeleteOptions = IdempotencyOptions;

/** A write's options, given as the options object or (as before options existed) as the `w` level alone. */
function writeOptionsOf<T extends { w?: ConsistencyLevel }>(options: ConsistencyLevel | T | undefined): T {
  return typeof options === 'object' ? options : ({ w: options } as T);
}

/** The receipt of a write's 200 answer. */
async function receiptOf<T>(response: Response): Promise<WriteReceipt<T>> {
  return { body: (await response.json()) as T, acks: acksOf(response), replayed: replayedOf(response.headers) };
}

/** `?node=<id>`, which asks the node to pass a request on to that member; nothing for the node itself. */
function nodeQuery(node: string | undefined): string {
  return node === undefined ? '' : `?node=${encodeURIComponent(node)}`;
}

export class RingkvClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.token = options.token === '' ? undefined : options.token;
    // Bound to globalThis: a browser's fetch throws when called as a method of another object.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Who this client's token is (role, prefix), and whether the node requires one at all. */
  me(): Promise<AuthIdentity> {
    return this.json('/auth/me');
  }

  /**
   * Stores the value (`options` may be the `w` level alone). With `ttl` the key expires; with
   * `idempotencyKey` a retry answers the first outcome (`replayed: true`), and the same key with
   * another request throws RingkvIdempotencyKeyReusedError (422), one still in flight
   * RingkvIdempotencyKeyInFlightError (409). This client sends one attempt; RingkvClusterClient retries.
   */
  async put(key: string, value: unknown, options?: ConsistencyLevel | PutOptions): Promise<WriteReceipt<StoredValue>> {
    const { w, ttl, idempotencyKey } = writeOptionsOf<PutOptions>(options);
    return receiptOf(await this.send('PUT', storePathWithQuery(key, { w, ttl }), { value }, [], idempotencyHeaders(idempotencyKey)));
  }

  /**
   * Writes only if the key's current version is exactly `version` (as a read or write gave it),
   * decided by a majority of its replicas; throws RingkvPreconditionFailedError (412) otherwise.
   */
  async putIfMatch(key: string, value: unknown, version: string, options: ConditionalPutOptions = {}): Promise<WriteReceipt<StoredValue>> {
    const headers = { ...ifMatchHeaders(version), ...idempotencyHeaders(options.idempotencyKey) };
    return receiptOf(await this.send('PUT', storePathWithQuery(key, { ttl: options.ttl }), { value }, [], headers));
  }

  /** Writes only if the key is absent or deleted; throws RingkvPreconditionFailedError (412) when it exists. */
  async createIfAbsent(key: string, value: unknown, options: ConditionalPutOptions = {}): Promise<WriteReceipt<StoredValue>> {
    const headers = { ...ifAbsentHeaders, ...idempotencyHeaders(options.idempotencyKey) };
    return receiptOf(await this.send('PUT', storePathWithQuery(key, { ttl: options.ttl }), { value }, [], headers));
  }

  /** Deletes only if the key is still at `version`; throws RingkvPreconditionFailedError (412) otherwise. */
  async deleteIfMatch(key: string, version: string, options: ConditionalDeleteOptions = {}): Promise<WriteReceipt<DeleteResult>> {
    const headers = { ...ifMatchHeaders(version), ...idempotencyHeaders(options.idempotencyKey) };
    return receiptOf(await this.send('DELETE', storePath(key, 'w', undefined), undefined, [], headers));
  }

  /** The stored value, or null when the key is absent or deleted. `serial` reads linearizably with conditional writes. */
  async get(key: string, r?: ReadLevel): Promise<StoredValue | null> {
    const response = await this.send('GET', storePath(key, 'r', r), undefined, [404]);
    if (response.status === 404) return null;
    return (await response.json()) as StoredValue;
  }

  /** Deletes the key (`options` may be the `w` level alone); `idempotencyKey` as for put. */
  async delete(key: string, options?: ConsistencyLevel | DeleteOptions): Promise<WriteReceipt<DeleteResult>> {
    const { w, idempotencyKey } = writeOptionsOf<DeleteOptions>(options);
    return receiptOf(await this.send('DELETE', storePath(key, 'w', w), undefined, [], idempotencyHeaders(idempotencyKey)));
  }

  /**
   * Many puts, gets and deletes in one request (POST /batch): one result per op, in order, each
   * the status and body its single request would have had. Not atomic; batch.ts splits long lists.
   */
  async batch(ops: readonly BatchOp[]): Promise<BatchAnswer> {
    const response = await this.send('POST', '/batch', { ops });
    return (await response.json()) as BatchAnswer;
  }

  replicas(key: string): Promise<KeyReplicas> {
    return this.json(`/cluster/replicas/${encodeURIComponent(key)}`);
  }

  status(): Promise<NodeStatus> {
    return this.json('/status');
  }

  health(): Promise<Health> {
    return this.json('/health');
  }

  /** One page of the live keys this node stores (GET /keys: its own replicas, not the whole cluster; see clusterKeys). */
  keys(options: ListKeysOptions = {}): Promise<KeysPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.prefix) query.set('prefix', options.prefix);
    if (options.cursor) query.set('cursor', options.cursor);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return this.json(`/keys${suffix}`);
  }

  /** Every live key this node stores (its own replicas), page by page (bounded by `pagesMax`); scanKeys lists the whole cluster. */
  async allKeys(prefix = '', pagesMax = 10_000): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < pagesMax; page++) {
      const result: KeysPage = await this.keys({ limit: 1000, prefix, cursor });
      keys.push(...result.keys);
      cursor = result.nextCursor;
      if (cursor === null) return keys;
    }
    throw new Error(`more than ${pagesMax} pages of keys`);
  }

  /**
   * One page of the whole cluster's live keys (GET /cluster/keys), in UTF-8 byte order; with
   * `values`, `items` holds each key's value read at `r`. Pass `nextCursor` back as `cursor`:
   * a page may hold fewer keys than `limit`, even none, and still have a next one. `keys()`
   * lists this node's own replicas only.
   */
  clusterKeys(options: ClusterKeysOptions = {}): Promise<ClusterKeysPage> {
    return this.json(clusterKeysPath(options));
  }

  /**
   * Every live key of the cluster under `prefix`, page after page to the last
   * (`for await (const key of client.scanKeys('users/'))`); with `values: true`, each key's
   * `{key, value, version, expiresAt?}`. A key that exists for the whole scan is yielded
   * exactly once; pages are fetched as the loop asks for them.
   */
  scanKeys(prefix?: string, options?: ScanKeysOptions & { values?: false }): AsyncGenerator<string, void, undefined>;
  scanKeys(prefix: string, options: ScanKeysOptions & { values: true }): AsyncGenerator<ClusterKeyItem, void, undefined>;
  scanKeys(prefix = '', options: ScanKeysOptions = {}): AsyncGenerator<string | ClusterKeyItem, void, undefined> {
    return clusterKeyEntries(clusterKeyPages((page) => this.clusterKeys(page), prefix, options), options.values === true);
  }

  /**
   * The changes under `prefix` (GET /watch) as they happen, from now or after `since`
   * (`for await (const change of client.watch({ prefix: 'users/' }))`). When the stream
   * breaks the watch reopens on this node with the last cursor; `signal` ends it. Throws
   * WatchCursorExpiredError when `since` is older than the node keeps changes for.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    return watchChanges(
      {
        fetch: this.fetchImpl,
        headers: () => this.authorizationHeaders(),
        nodeFor: () => Promise.resolve(this.baseUrl),
        nodeFailed: () => undefined,
        nodeSucceeded: () => undefined,
        errorOf: errorOfProblem,
        // Like every request of this client, a failure to reach the node is thrown as fetch threw it.
        unavailableError: (_attempts, lastError) => (lastError instanceof Error ? lastError : new Error(String(lastError))),
      },
      options,
    );
  }

  nodeInfo(): Promise<NodeInfo> {
    return this.json('/node-info');
  }

  cluster(): Promise<ClusterInfo> {
    return this.json('/cluster');
  }

  clusterNodes(): Promise<ClusterNodes> {
    return this.json('/cluster/nodes');
  }

  ring(): Promise<RingLayout> {
    return this.json('/cluster/ring');
  }

  owners(key: string): Promise<KeyOwners> {
    return this.json(`/cluster/owners/${encodeURIComponent(key)}`);
  }

  /** Forces an anti-entropy round with every peer of this node. */
  repair(): Promise<RepairStatus> {
    return this.post('/repair');
  }

  /**
   * Moves this node (started with --standby) into the ring: its ranges stream to it, then it
   * is normal. With `node`, this node asks that member to join instead (the dashboard's way).
   */
  join(node?: string): Promise<RingChange> {
    return this.post(`/cluster/join${nodeQuery(node)}`);
  }

  /**
   * Decommissions this node: its ranges stream to their new owners, then it stops. With
   * `node`, this node asks that member to leave instead.
   */
  leave(node?: string): Promise<RingChange> {
    return this.post(`/cluster/leave${nodeQuery(node)}`);
  }

  /** Removes a dead member for good; the survivors re-replicate its ranges. */
  remove(nodeId: string): Promise<RingChange> {
    return this.post(`/cluster/remove/${encodeURIComponent(nodeId)}`);
  }

  /** This node's data-movement jobs. */
  jobs(): Promise<JobList> {
    return this.json('/jobs');
  }

  /** Every member's data-movement jobs. */
  clusterJobs(): Promise<JobList> {
    return this.json('/cluster/jobs');
  }

  /** Pauses transfer job `id` on `node` (this node by default; another member's is forwarded). */
  pauseJob(id: string, node?: string): Promise<JobControl> {
    return this.controlJob(id, 'pause', node);
  }

  resumeJob(id: string, node?: string): Promise<JobControl> {
    return this.controlJob(id, 'resume', node);
  }

  /**
   * Sets the pace of `node`'s background jobs (this node by default; another member's is
   * forwarded): the cap on the megabytes per second it receives in transfers (0 lifts it),
   * the floor of the share of time they keep under client load, or both; a number alone is
   * the cap. Not kept across a restart: the node starts again from --transfer-mb-per-s and
   * --background-share-min.
   */
  async setPace(update: PaceUpdate | number, node?: string): Promise<Pace> {
    const body: PaceUpdate = typeof update === 'number' ? { transferMbPerSecond: update } : update;
    const response = await this.send('PUT', `/jobs/pace${nodeQuery(node)}`, body);
    return (await response.json()) as Pace;
  }

  private controlJob(id: string, action: 'pause' | 'resume', node: string | undefined): Promise<JobControl> {
    return this.post(`/jobs/${encodeURIComponent(id)}/${action}${nodeQuery(node)}`);
  }

  async metrics(): Promise<string> {
    const response = await this.send('GET', '/metrics');
    return response.text();
  }

  private async json<T>(path: string): Promise<T> {
    const response = await this.send('GET', path);
    return (await response.json()) as T;
  }

  /** A POST without a body whose answer is JSON. */
  private async post<T>(path: string): Promise<T> {
    const response = await this.send('POST', path);
    return (await response.json()) as T;
  }

  private authorizationHeaders(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    acceptedStatuses: number[] = [],
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...extraHeaders, ...this.authorizationHeaders() };
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    if (response.ok || acceptedStatuses.includes(response.status)) return response;
    throw errorOfProblem(await problemOf(response), response.headers);
  }
}
