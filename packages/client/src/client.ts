// A typed client for one ringkv node's REST API. It uses the platform `fetch`, so the
// same code runs in Node (CLI, tests, benchmarks) and in the browser (dashboard).
import type {
  AuthIdentity,
  ClusterInfo,
  ClusterNodes,
  JobControl,
  JobList,
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
import { acksOf, problemOf, storePath } from './http-answers.js';
import type { BatchAnswer, BatchOp } from './batch-schemas.js';

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

/** The error for a node's problem answer: a RingkvPreconditionFailedError for 412, else a RingkvError. */
export function errorOfProblem(problem: Problem): RingkvError {
  return problem.status === 412 ? new RingkvPreconditionFailedError(problem as PreconditionFailedProblem) : new RingkvError(problem);
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

  async put(key: string, value: unknown, w?: ConsistencyLevel): Promise<WriteReceipt<StoredValue>> {
    const response = await this.send('PUT', storePath(key, 'w', w), { value });
    return { body: (await response.json()) as StoredValue, acks: acksOf(response) };
  }

  /**
   * Writes only if the key's current version is exactly `version` (as a read or write gave it),
   * decided by a majority of its replicas; throws RingkvPreconditionFailedError (412) otherwise.
   */
  async putIfMatch(key: string, value: unknown, version: string): Promise<WriteReceipt<StoredValue>> {
    const response = await this.send('PUT', storePath(key, 'w', undefined), { value }, [], ifMatchHeaders(version));
    return { body: (await response.json()) as StoredValue, acks: acksOf(response) };
  }

  /** Writes only if the key is absent or deleted; throws RingkvPreconditionFailedError (412) when it exists. */
  async createIfAbsent(key: string, value: unknown): Promise<WriteReceipt<StoredValue>> {
    const response = await this.send('PUT', storePath(key, 'w', undefined), { value }, [], ifAbsentHeaders);
    return { body: (await response.json()) as StoredValue, acks: acksOf(response) };
  }

  /** Deletes only if the key is still at `version`; throws RingkvPreconditionFailedError (412) otherwise. */
  async deleteIfMatch(key: string, version: string): Promise<WriteReceipt<DeleteResult>> {
    const response = await this.send('DELETE', storePath(key, 'w', undefined), undefined, [], ifMatchHeaders(version));
    return { body: (await response.json()) as DeleteResult, acks: acksOf(response) };
  }

  /** The stored value, or null when the key is absent or deleted. `serial` reads linearizably with conditional writes. */
  async get(key: string, r?: ReadLevel): Promise<StoredValue | null> {
    const response = await this.send('GET', storePath(key, 'r', r), undefined, [404]);
    if (response.status === 404) return null;
    return (await response.json()) as StoredValue;
  }

  async delete(key: string, w?: ConsistencyLevel): Promise<WriteReceipt<DeleteResult>> {
    const response = await this.send('DELETE', storePath(key, 'w', w));
    return { body: (await response.json()) as DeleteResult, acks: acksOf(response) };
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
    return this.json(`/store/${encodeURIComponent(key)}/replicas`);
  }

  status(): Promise<NodeStatus> {
    return this.json('/status');
  }

  health(): Promise<Health> {
    return this.json('/health');
  }

  keys(options: ListKeysOptions = {}): Promise<KeysPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.prefix) query.set('prefix', options.prefix);
    if (options.cursor) query.set('cursor', options.cursor);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return this.json(`/keys${suffix}`);
  }

  /** Every live key this node stores, page by page (bounded by `pagesMax`). */
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

  /** Decommissions this node: its ranges stream to their new owners, then it stops. */
  leave(): Promise<RingChange> {
    return this.post('/cluster/leave');
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

  private controlJob(id: string, action: 'pause' | 'resume', node: string | undefined): Promise<JobControl> {
    const query = node === undefined ? '' : `?node=${encodeURIComponent(node)}`;
    return this.post(`/jobs/${encodeURIComponent(id)}/${action}${query}`);
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

  private async send(
    method: string,
    path: string,
    body?: unknown,
    acceptedStatuses: number[] = [],
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.timeoutMs) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, init);
    if (response.ok || acceptedStatuses.includes(response.status)) return response;
    throw errorOfProblem(await problemOf(response));
  }
}
