// A client for a whole ringkv cluster (docs/client.md). Given a few node URLs it learns
// the members and the ring (/cluster, /cluster/ring) and keeps them fresh, sends each
// key's request straight to one of the key's replicas (any node can coordinate any key,
// but a replica saves the hop to another node), fails over to other nodes when one is
// down, and retries only what is safe to retry (retry-policy.ts): reads, and writes that
// carry an Idempotency-Key (`idempotentWrites: true` gives every write one). Its watch (watch.ts)
// resumes on another node when one fails. It uses nothing but
// fetch, AbortController and timers, so it runs in Node and in browsers alike.
import { pause, timedSignal, untilAborted, type TimedSignal } from './abort-signals.js';
import {
  errorOfProblem,
  idempotencyHeaders,
  ifAbsentHeaders,
  ifMatchHeaders,
  newIdempotencyKey,
  RingkvError,
  RingkvIdempotencyKeyInFlightError,
  type ExpiryOptions,
  type IdempotencyOptions,
  type WriteReceipt,
} from './client.js';
import {
  attemptTimeoutMsDefault,
  attemptsMaxDefault,
  attemptsMaxMax,
  inFlightRetriesMax,
  ringRefreshGapMsMin,
  ringRefreshMsDefault,
  requestTimeoutMsDefault,
} from './client-limits.js';
import { clusterKeyEntries, clusterKeyPages, clusterKeysPath, type ClusterKeysOptions, type ScanKeysOptions } from './cluster-key-scan.js';
import { ClusterTopology, type TopologyMember } from './cluster-topology.js';
import { acksOf, problemOf, replayedOf, storePath, storePathWithQuery } from './http-answers.js';
import { describeError, failureKindOf, isRead, mayHaveApplied, mayRetryRequest, type AttemptFailure, type FailureKind } from './retry-policy.js';
import { RingLayoutError, RingMap, ringHashName } from './ring-map.js';
import { watchChanges, type WatchEvent, type WatchOptions } from './watch.js';
import type { ClusterInfo, ClusterKeyItem, ClusterKeysPage, ConsistencyLevel, DeleteResult, MemberInfo, ReadLevel, RingLayout, StoredValue } from './types.js';

export interface ClusterClientOptions {
  /** Base URLs of some nodes (`http://10.0.0.1:8000`); the client learns the others from them. */
  nodes: readonly string[];
  /** API token sent as `Authorization: Bearer <token>` (docs/security.md). */
  token?: string;
  /** The fetch to use (Node: one trusting the cluster's CA under TLS). Default: the platform fetch. */
  fetch?: typeof fetch;
  /** Bound on a whole request, every attempt included; default 10 s. */
  timeoutMs?: number;
  /** Bound on one attempt on one node, after which the next node is tried (reads only); default 4 s. */
  attemptTimeoutMs?: number;
  /** Nodes tried for one request; default 3. */
  attemptsMax?: number;
  /** The ring is fetched again when a request finds it older than this; default 30 s. */
  ringRefreshMs?: number;
  /** Send each key to its replicas (default true); false sends every request to the given nodes in turn. */
  routing?: boolean;
  /**
   * The URL to reach a member at, from the address it advertises and the URL of the node
   * that listed it; null to never send it requests. Default: the listing node's scheme
   * with the member's address (its host replaced by the listing node's when it is
   * 0.0.0.0 or [::]). Override it behind proxies or address translation.
   */
  memberUrl?: (member: Pick<MemberInfo, 'nodeId' | 'address'>, listedBy: string) => string | null;
  /** Hears every attempt: where it went and how it ended (logging, metrics). */
  onAttempt?: (event: AttemptEvent) => void;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /**
   * Give every write that names no `idempotencyKey` a fresh one (newIdempotencyKey), so that a
   * write whose outcome is unknown (a timeout, a reset, a 504) is retried on another node and
   * applied once. Default false. A write with `w` is sent without one: nodes refuse the two together.
   */
  idempotentWrites?: boolean;
}

export interface RequestOptions {
  /** Aborts the request, every attempt included; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Replaces the client's `timeoutMs` for this request. */
  timeoutMs?: number;
}

export interface ReadOptions extends RequestOptions {
  /** A consistency level, or `serial`: linearizable with conditional writes (a per-key Paxos round). */
  r?: ReadLevel;
}

/** Options of delete; put takes PutRequestOptions. */
export interface WriteOptions extends RequestOptions, IdempotencyOptions {
  /** Not with an Idempotency-Key (the node answers 400): a majority of the key's replicas decides those. */
  w?: ConsistencyLevel;
}

export interface PutRequestOptions extends WriteOptions, ExpiryOptions {}
/** Options of putIfMatch and createIfAbsent. */
export interface ConditionalPutRequestOptions extends RequestOptions, ExpiryOptions, IdempotencyOptions {}
/** Options of deleteIfMatch. */
export interface ConditionalDeleteRequestOptions extends RequestOptions, IdempotencyOptions {}

export interface AttemptEvent {
  method: string;
  key: string | undefined;
  url: string;
  /** `ok`, or how the attempt failed. */
  outcome: 'ok' | FailureKind;
  status?: number;
  durationMs: number;
}

export interface AttemptRecord extends AttemptFailure {
  url: string;
  detail: string;
}

/** No node gave an answer: every attempt failed to connect, broke or timed out. */
export class RingkvUnavailableError extends Error {
  readonly attempts: readonly AttemptRecord[];
  /** True when the request's time ran out (the client's `timeoutMs` or the request's own). */
  readonly timedOut: boolean;
  /** For writes: whether the write may have been applied all the same (false for reads). */
  readonly mayHaveApplied: boolean;
  /** The write's Idempotency-Key: sending the same write again with it answers its outcome without applying it twice. */
  readonly idempotencyKey: string | undefined;

  constructor(what: string, attempts: readonly AttemptRecord[], timedOut: boolean, mayHaveAppliedWrite: boolean, idempotencyKey?: string) {
    const tried = attempts.map((attempt) => `${attempt.url}: ${attempt.detail}`).join('; ');
    const next =
      idempotencyKey === undefined
        ? 'read the key before writing it again'
        : `send the same write again with Idempotency-Key ${idempotencyKey}: it answers the outcome and applies the write at most once`;
    const outcome = mayHaveAppliedWrite ? ` It may have been applied: ${next}.` : '';
    super(`${what}: no node answered${timedOut ? ' in time' : ''} (${tried || 'no node tried'}).${outcome}`);
    this.name = 'RingkvUnavailableError';
    this.attempts = attempts;
    this.timedOut = timedOut;
    this.mayHaveApplied = mayHaveAppliedWrite;
    this.idempotencyKey = idempotencyKey;
  }
}

/** What the client currently knows of the cluster. */
export interface TopologySnapshot {
  members: readonly TopologyMember[];
  /** Ranges of the ring in use for routing; 0 when routing is off or the ring is not known yet. */
  ringRanges: number;
  /** When the members and ring were last fetched (ms since the epoch); null if never. */
  fetchedAtMs: number | null;
  /** Why requests are not routed to replicas; null when they are. */
  routingProblem: string | null;
}

interface NodeAnswer {
  url: string;
  status: number;
  headers: Headers;
  body: unknown;
}

interface Call {
  method: 'GET' | 'PUT' | 'DELETE';
  /** The store key, which decides the nodes asked first; none for a request any node answers alike. */
  key: string | undefined;
  path: string;
  body?: unknown;
  options: RequestOptions;
  /** Sent with every attempt of this call; makes a write retryable like a read (retry-policy.ts). */
  idempotencyKey?: string;
  /** Error statuses that are answers, not failures (404 for a read). */
  acceptedStatuses?: readonly number[];
  /** If-Match or If-None-Match: without an Idempotency-Key, sent to another node only when it never reached one (retry-policy.ts). */
  conditionHeaders?: Readonly<Record<string, string>>;
}

export class RingkvClusterClient {
  private readonly topology: ClusterTopology;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly attemptsMax: number;
  private readonly ringRefreshMs: number;
  private readonly routing: boolean;
  private readonly memberUrl: NonNullable<ClusterClientOptions['memberUrl']>;
  private readonly onAttempt: ClusterClientOptions['onAttempt'];
  private readonly clock: () => number;
  private readonly idempotentWrites: boolean;
  private fetchedAtMs: number | null = null;
  private refreshRequestedAtMs = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private routingProblem: string | null = 'the ring has not been fetched yet';

  constructor(options: ClusterClientOptions) {
    const seeds = options.nodes.map((url) => url.replace(/\/+$/, ''));
    if (seeds.length === 0) throw new TypeError('RingkvClusterClient needs at least one node URL in `nodes`');
    const attemptsMax = options.attemptsMax ?? attemptsMaxDefault;
    if (!Number.isInteger(attemptsMax) || attemptsMax < 1 || attemptsMax > attemptsMaxMax) {
      throw new RangeError(`attemptsMax must be a whole number from 1 to ${attemptsMaxMax}, not ${attemptsMax}`);
    }
    this.topology = new ClusterTopology(seeds);
    this.token = options.token === '' ? undefined : options.token;
    // Bound to globalThis: a browser's fetch throws when called as a method of another object.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? attemptTimeoutMsDefault;
    this.attemptsMax = attemptsMax;
    this.ringRefreshMs = options.ringRefreshMs ?? ringRefreshMsDefault;
    this.routing = options.routing ?? true;
    this.memberUrl = options.memberUrl ?? defaultMemberUrl;
    this.onAttempt = options.onAttempt;
    this.clock = options.clock ?? (() => Date.now());
    this.idempotentWrites = options.idempotentWrites ?? false;
    if (!this.routing) this.routingProblem = 'routing is off (routing: false)';
  }

  /** The stored value, or null when the key is absent or deleted. */
  async get(key: string, options: ReadOptions = {}): Promise<StoredValue | null> {
    const answer = await this.call({ method: 'GET', key, path: storePath(key, 'r', options.r), options, acceptedStatuses: [404] });
    return answer.status === 404 ? null : (answer.body as StoredValue);
  }

  /**
   * Stores the value; with `ttl` the key expires (the answer's `expiresAt` says when). With an
   * Idempotency-Key (given, or made by `idempotentWrites`) a write whose outcome is unknown is
   * sent again, to another node if need be, and applied once; `replayed` is true when the answer
   * is the outcome of an earlier attempt. The same key with another request throws
   * RingkvIdempotencyKeyReusedError (422).
   */
  async put(key: string, value: unknown, options: PutRequestOptions = {}): Promise<WriteReceipt<StoredValue>> {
    const path = storePathWithQuery(key, { w: options.w, ttl: options.ttl });
    return receiptOf(await this.call({ method: 'PUT', key, path, body: { value }, options, ...this.idempotencyOf(options) }));
  }

  async delete(key: string, options: WriteOptions = {}): Promise<WriteReceipt<DeleteResult>> {
    return receiptOf(await this.call({ method: 'DELETE', key, path: storePath(key, 'w', options.w), options, ...this.idempotencyOf(options) }));
  }

  /**
   * Writes only if the key's current version is exactly `version`, decided by a majority of its
   * replicas; throws RingkvPreconditionFailedError (412, with the current version) otherwise.
   */
  async putIfMatch(key: string, value: unknown, version: string, options: ConditionalPutRequestOptions = {}): Promise<WriteReceipt<StoredValue>> {
    const path = storePathWithQuery(key, { ttl: options.ttl });
    return receiptOf(await this.call({ method: 'PUT', key, path, body: { value }, options, conditionHeaders: ifMatchHeaders(version), ...this.idempotencyOf(options) }));
  }

  /** Writes only if the key is absent or deleted; throws RingkvPreconditionFailedError (412) when it exists. */
  async createIfAbsent(key: string, value: unknown, options: ConditionalPutRequestOptions = {}): Promise<WriteReceipt<StoredValue>> {
    const path = storePathWithQuery(key, { ttl: options.ttl });
    return receiptOf(await this.call({ method: 'PUT', key, path, body: { value }, options, conditionHeaders: ifAbsentHeaders, ...this.idempotencyOf(options) }));
  }

  /** Deletes only if the key is still at `version`; throws RingkvPreconditionFailedError (412) otherwise. */
  async deleteIfMatch(key: string, version: string, options: ConditionalDeleteRequestOptions = {}): Promise<WriteReceipt<DeleteResult>> {
    const call: Call = { method: 'DELETE', key, path: storePath(key, 'w', undefined), options, conditionHeaders: ifMatchHeaders(version), ...this.idempotencyOf(options) };
    return receiptOf(await this.call(call));
  }

  /**
   * One page of the whole cluster's live keys (GET /cluster/keys), from any node: the listing is
   * the same through each, so a node that fails is replaced by the next like for a read. Pass
   * `nextCursor` back as `cursor`; a page may hold fewer keys than `limit` and still have a next one.
   */
  async clusterKeys(options: ClusterKeysOptions & RequestOptions = {}): Promise<ClusterKeysPage> {
    const { signal, timeoutMs, ...query } = options;
    const requestOptions: RequestOptions = { ...(signal === undefined ? {} : { signal }), ...(timeoutMs === undefined ? {} : { timeoutMs }) };
    const answer = await this.call({ method: 'GET', key: undefined, path: clusterKeysPath(query), options: requestOptions });
    return answer.body as ClusterKeysPage;
  }

  /**
   * Every live key of the cluster under `prefix`, page after page to the last, each page from
   * whichever node answers (the cursor carries on through any); with `values: true`, each key's
   * `{key, value, version, expiresAt?}`. `signal` ends the scan.
   */
  scanKeys(prefix?: string, options?: ScanKeysOptions & RequestOptions & { values?: false }): AsyncGenerator<string, void, undefined>;
  scanKeys(prefix: string, options: ScanKeysOptions & RequestOptions & { values: true }): AsyncGenerator<ClusterKeyItem, void, undefined>;
  scanKeys(prefix = '', options: ScanKeysOptions & RequestOptions = {}): AsyncGenerator<string | ClusterKeyItem, void, undefined> {
    const { signal, timeoutMs } = options;
    const requestOptions = { ...(signal === undefined ? {} : { signal }), ...(timeoutMs === undefined ? {} : { timeoutMs }) };
    return clusterKeyEntries(clusterKeyPages((page) => this.clusterKeys({ ...page, ...requestOptions }), prefix, options), options.values === true);
  }

  /**
   * The changes under `prefix` across the whole cluster (GET /watch), from now or after
   * `since`: `for await (const change of kv.watch({ prefix: 'users/', signal }))`. When the
   * stream breaks (the node died, it cut a watcher that fell behind, it answered 503) the
   * watch reopens on another node with the last cursor and misses nothing; `signal` ends it.
   * Throws WatchCursorExpiredError when the cursor is older than the nodes keep changes for
   * (list the keys again, then watch without `since`), RingkvUnavailableError (each node's
   * last failure in `attempts`) after `reconnectsMax` failures in a row.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    return watchChanges(
      {
        fetch: this.fetchImpl,
        headers: () => this.headers(),
        nodeFor: async (previous, signal) => {
          await this.ensureTopology(signal ?? new AbortController().signal);
          const candidates = this.topology.candidates(undefined, this.clock());
          return candidates.find((url) => url !== previous) ?? candidates[0]!;
        },
        nodeFailed: (url) => this.nodeFailed(url),
        nodeSucceeded: (url) => this.topology.markSucceeded(url),
        errorOf: errorOfProblem,
        // Each node's last failure: a watch may have tried the same few nodes many times.
        unavailableError: (attempts) => new RingkvUnavailableError(`GET /watch (${attempts.length} failures in a row)`, lastAttemptPerNode(attempts), false, false),
      },
      options,
    );
  }

  /**
   * The Idempotency-Key a write carries: the caller's (checked now, before anything is sent),
   * else a fresh one under `idempotentWrites` unless the write names a `w` (nodes refuse both).
   */
  private idempotencyOf(options: IdempotencyOptions & { w?: ConsistencyLevel }): { idempotencyKey?: string } {
    if (options.idempotencyKey !== undefined) {
      idempotencyHeaders(options.idempotencyKey);
      return { idempotencyKey: options.idempotencyKey };
    }
    return this.idempotentWrites && options.w === undefined ? { idempotencyKey: newIdempotencyKey() } : {};
  }

  /** The key's replicas (node ids, primary first) by the ring this client holds; empty before it has one. */
  replicasOf(key: string): readonly string[] {
    return this.topology.ring?.replicasOf(key) ?? [];
  }

  topologySnapshot(): TopologySnapshot {
    return {
      members: this.topology.memberList(),
      ringRanges: this.topology.ring?.rangeCount ?? 0,
      fetchedAtMs: this.fetchedAtMs,
      routingProblem: this.routingProblem,
    };
  }

  /** Fetches the members and the ring now (requests do it by themselves; this is for a start-up check). */
  async refresh(signal?: AbortSignal): Promise<void> {
    this.refreshing ??= this.fetchTopology().finally(() => (this.refreshing = undefined));
    await (signal === undefined ? this.refreshing : untilAborted(this.refreshing, signal));
  }

  /** Runs one request: to the best node first, then to others while the failure allows a retry. */
  private async call(call: Call): Promise<NodeAnswer> {
    const callerSignal = call.options.signal;
    const timeoutMs = call.options.timeoutMs ?? this.timeoutMs;
    const deadlineAtMs = this.clock() + timeoutMs;
    const deadline = timedSignal(callerSignal, timeoutMs);
    try {
      await this.ensureTopology(deadline.signal);
      const attempts: AttemptRecord[] = [];
      let lastProblem: RingkvError | undefined;
      let inFlightWaits = 0;
      const candidates = this.topology.candidates(call.key, this.clock()).slice(0, this.attemptsMax);
      for (let index = 0; index < candidates.length && !deadline.signal.aborted; ) {
        const url = candidates[index]!;
        const result = await this.attempt(url, call, deadline);
        if ('answer' in result) return result.answer;
        if (callerSignal?.aborted) throw callerSignal.reason;
        attempts.push(result.failure);
        lastProblem = result.problem;
        // The first request with this key is still being decided: ask the same node again once it says, if time allows.
        if (result.problem instanceof RingkvIdempotencyKeyInFlightError && call.idempotencyKey !== undefined && inFlightWaits < inFlightRetriesMax) {
          const waitMs = result.problem.retryAfterMs;
          if (this.clock() + waitMs >= deadlineAtMs || !(await pause(waitMs, deadline.signal))) break;
          inFlightWaits++;
          continue;
        }
        if (!mayRetryRequest(call.method, result.failure, { idempotencyKey: call.idempotencyKey, conditional: call.conditionHeaders !== undefined })) break;
        index++;
      }
      if (callerSignal?.aborted) throw callerSignal.reason;
      // The last node's own error answer says most about what went wrong; with none, say what every attempt met.
      if (attempts.at(-1)?.kind === 'answer' && lastProblem !== undefined) throw lastProblem;
      const mayHaveAppliedWrite = !isRead(call.method) && mayHaveApplied(attempts);
      throw new RingkvUnavailableError(`${call.method} ${call.key ?? call.path}`, attempts, deadline.timedOut(), mayHaveAppliedWrite, call.idempotencyKey);
    } finally {
      deadline.dispose();
    }
  }

  /** One attempt on one node: its answer, or how it failed (the client's view of the node is updated either way). */
  private async attempt(url: string, call: Call, deadline: TimedSignal): Promise<{ answer: NodeAnswer } | { failure: AttemptRecord; problem?: RingkvError }> {
    const attempt = timedSignal(deadline.signal, this.attemptTimeoutMs);
    const startedMs = this.clock();
    const report = (outcome: AttemptEvent['outcome'], status?: number) =>
      this.onAttempt?.({ method: call.method, key: call.key, url, outcome, ...(status === undefined ? {} : { status }), durationMs: this.clock() - startedMs });
    try {
      const response = await this.fetchImpl(`${url}${call.path}`, { method: call.method, headers: this.headers(call), signal: attempt.signal, ...bodyOf(call.body) });
      if (response.ok || call.acceptedStatuses?.includes(response.status)) {
        const body: unknown = response.status === 404 ? null : await response.json();
        this.topology.markSucceeded(url);
        report('ok', response.status);
        return { answer: { url, status: response.status, headers: response.headers, body } };
      }
      const problem = await problemOf(response);
      // A node that is starting (not yet in the ring) or shedding load is tried last for a while, and its refusal may mean the ring moved.
      if (response.status === 503) this.nodeFailed(url);
      else this.topology.markSucceeded(url);
      report('answer', response.status);
      const applied = problem.applied === false ? { applied: false } : {};
      const failure: AttemptRecord = { url, kind: 'answer', status: response.status, ...applied, detail: `${response.status} ${problem.title}: ${problem.detail}` };
      return { failure, problem: errorOfProblem(problem, response.headers) };
    } catch (error) {
      const kind = failureKindOf(error, attempt.timedOut() || deadline.timedOut());
      if (!call.options.signal?.aborted) this.nodeFailed(url);
      report(kind);
      return { failure: { url, kind, detail: describeError(error) } };
    } finally {
      attempt.dispose();
    }
  }

  /** Fetches the ring first if the client has none; starts a refresh in the background if it is old. */
  private async ensureTopology(signal: AbortSignal): Promise<void> {
    if (this.fetchedAtMs === null) {
      // Without a ring the request still goes out, to the given nodes: a failed fetch only costs the routing.
      await this.refresh(signal).catch(() => undefined);
      if (signal.aborted) throw signal.reason;
      return;
    }
    if (this.clock() - this.fetchedAtMs >= this.ringRefreshMs) this.refreshSoon();
  }

  /** A node failed: try it last for a while, and look again at the cluster (the ring may have moved). */
  private nodeFailed(url: string): void {
    this.topology.markFailed(url, this.clock());
    this.refreshSoon();
  }

  /** Starts a refresh in the background unless one ran within the last second. */
  private refreshSoon(): void {
    const nowMs = this.clock();
    if (this.refreshing !== undefined || nowMs - this.refreshRequestedAtMs < ringRefreshGapMsMin) return;
    this.refreshRequestedAtMs = nowMs;
    this.refresh().catch(() => undefined);
  }

  /** Asks nodes, best first, for the members and the ring, until one answers both. */
  private async fetchTopology(): Promise<void> {
    const problems: string[] = [];
    for (const url of this.topology.candidates(undefined, this.clock())) {
      try {
        const cluster = (await this.fetchJson(url, '/cluster')) as ClusterInfo;
        const ring = await this.routingRing(url, cluster);
        const members = cluster.members.flatMap((member) => {
          const memberUrl = this.memberUrl(member, url);
          return memberUrl === null ? [] : [{ nodeId: member.nodeId, url: memberUrl.replace(/\/+$/, ''), state: member.state, ringStatus: member.ringStatus }];
        });
        this.topology.update(members, ring);
        this.topology.markSucceeded(url);
        this.fetchedAtMs = this.clock();
        return;
      } catch (error) {
        if (!(error instanceof RingkvError)) this.topology.markFailed(url, this.clock());
        problems.push(`${url}: ${describeError(error)}`);
      }
    }
    throw new Error(`could not fetch the cluster's members from any node (${problems.join('; ')})`);
  }

  /** The ring to route by, or undefined (with the reason kept) when routing is off or the ring is not one this client can use. */
  private async routingRing(url: string, cluster: ClusterInfo): Promise<RingMap | undefined> {
    if (!this.routing) return undefined;
    if (cluster.ring.hash !== ringHashName) {
      this.routingProblem = `the cluster places keys with ${cluster.ring.hash}, which this client does not know (it knows ${ringHashName}): requests go to any node`;
      return undefined;
    }
    try {
      const ring = RingMap.fromLayout((await this.fetchJson(url, '/cluster/ring')) as RingLayout);
      this.routingProblem = ring.rangeCount === 0 ? 'the ring has no ranges yet' : null;
      return ring;
    } catch (error) {
      if (!(error instanceof RingkvError) && !(error instanceof RingLayoutError)) throw error;
      this.routingProblem = `${url}/cluster/ring was not usable: ${describeError(error)}`;
      return undefined;
    }
  }

  private async fetchJson(url: string, path: string): Promise<unknown> {
    const signal = timedSignal(undefined, this.attemptTimeoutMs);
    try {
      const response = await this.fetchImpl(`${url}${path}`, { headers: this.headers(), signal: signal.signal });
      if (!response.ok) throw new RingkvError(await problemOf(response));
      return await response.json();
    } finally {
      signal.dispose();
    }
  }

  private headers(call?: Call): Record<string, string> {
    const headers: Record<string, string> = { ...call?.conditionHeaders };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (call?.body !== undefined) headers['content-type'] = 'application/json';
    if (call?.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    return headers;
  }
}

function bodyOf(body: unknown): { body?: string } {
  return body === undefined ? {} : { body: JSON.stringify(body) };
}

/** The receipt of a write's 200 answer. */
function receiptOf<T>(answer: NodeAnswer): WriteReceipt<T> {
  return { body: answer.body as T, acks: acksOf({ headers: answer.headers }), replayed: replayedOf(answer.headers) };
}

function lastAttemptPerNode(attempts: readonly AttemptRecord[]): AttemptRecord[] {
  return [...new Map(attempts.map((attempt) => [attempt.url, attempt])).values()];
}

const unspecifiedHosts = new Set(['0.0.0.0', '[::]', '::']);

/** The listing node's scheme and the member's advertised address; an unspecified host becomes the listing node's. */
export function defaultMemberUrl(member: Pick<MemberInfo, 'address'>, listedBy: string): string {
  const via = new URL(listedBy === '' ? '/' : listedBy, globalThis.location?.href);
  const separator = member.address.lastIndexOf(':');
  const host = member.address.slice(0, separator);
  const address = unspecifiedHosts.has(host) ? `${via.hostname}${member.address.slice(separator)}` : member.address;
  return `${via.protocol}//${address}`;
}
