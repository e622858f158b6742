// The key-value API of the original README: PUT, GET and DELETE /store/{key}, with
// per-request consistency (?w=, ?r=), the version as ETag and the number of replicas
// that answered in X-Ringkv-Acks. The key is the rest of the path, slashes included
// (`/store/users/42` is the key `users/42`, as Consul's /v1/kv/ takes it; %2F means the same);
// the replicas view is GET /cluster/replicas/{key} (cluster-routes.ts).
// Conditional writes (If-Match, If-None-Match) and serial reads (?r=serial) go to the
// key's Paxos round instead of the quorum coordinator (write-conditions.ts).
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { SwaggerTransform } from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ConsistencyError,
  formatVersion,
  isExpiredView,
  isValidKey,
  keyBytesMax,
  PreconditionFailedError,
  replicaCountOf,
  utf8Length,
  type IdempotencyTag,
  type StoredRecord,
  type WriteChange,
} from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { ProblemError, problemOf, sendProblem } from './problems.js';
import { carriedBodyValue } from './proto-key-bodies.js';
import {
  ConditionalDeleteHeaders,
  ConditionalPutHeaders,
  DeleteResultSchema,
  KeyParams,
  KeyPathParams,
  PreconditionFailedSchema,
  PutBody,
  PutQuery,
  ReadQuery,
  StoredValueSchema,
  WriteQuery,
} from '@ringkv/client/schemas';
import { problemResponse, problemResponses } from './schemas.js';
import { headerText, preconditionProblem, requestedCondition, weakTagProblem, type RequestedCondition } from './write-conditions.js';
import { storedValueBytes, valueTextOf } from './value-echo.js';
import { expiresAtOf, ttlFromQuery } from './write-options.js';
import { idempotencyOf } from './idempotency.js';
import { documentRouteAccess } from './openapi-security.js';

/** The answers conditional and idempotent writes add: their own 400 causes, 412 with the key's current version, 409 and 422. */
const conditionResponses = {
  400: problemResponse(
    'Bad input: malformed JSON or URL, a body without value, a bad consistency level or ttl; or a condition that is not one quoted version ' +
      '(If-Match), not * (If-None-Match), both headers at once, ?w= with a condition or an Idempotency-Key, or an Idempotency-Key that is not 1..255 visible ASCII characters',
  ),
  409: problemResponse('The first write of this Idempotency-Key is still in flight; nothing was written. Retry after Retry-After to get its outcome'),
  422: problemResponse('This Idempotency-Key was already used on the key for a different request (method, value, ttl or condition); nothing was written'),
  412: {
    description: "The condition did not hold: the key's version differs, or it exists (If-None-Match: *), or it is absent or deleted (If-Match). Nothing was written",
    content: { 'application/problem+json': { schema: PreconditionFailedSchema } },
  },
};

export const storeRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['store'];

  api.put(
    '/store/*',
    {
      config: { swaggerTransform: keyPathDocument },
      schema: {
        tags,
        operationId: 'putValue',
        summary: 'Create or update a value',
        description:
          'Writes to the key\'s N replicas and answers once W of them acknowledged. With If-Match or If-None-Match: * it writes only if the ' +
          "condition holds, decided by a majority of the key's replicas (per-key Paxos), linearizably with other conditional writes and serial reads. " +
          'With ?ttl= the key expires that many seconds after the write (expiresAt in the answer).',
        params: KeyPathParams,
        querystring: PutQuery,
        headers: ConditionalPutHeaders,
        body: PutBody,
        response: { 200: StoredValueSchema, ...problemResponses(413, 414, 415, 503, 504, 507), ...conditionResponses },
      },
    },
    async (request, reply) => {
      const key = checkedKey(request.params['*']);
      const requested = requestedCondition(request.headers, 'PUT', request.query.w !== undefined);
      const ttlSeconds = ttlFromQuery(request.query.ttl);
      const idempotency = idempotencyOf(
        request.headers['idempotency-key'],
        { method: 'PUT', valueText: valueTextOf(request.body) ?? JSON.stringify(request.body.value), ttlSeconds, ifMatch: headerText(request.headers['if-match']), ifNoneMatch: headerText(request.headers['if-none-match']) },
        request.query.w !== undefined,
      );
      requireReady(deps);
      // A value holding a "__proto__" key is carried as JSON text, so replicas and disks keep it exactly.
      const value = carriedBodyValue(request.body, request.body.value);
      if (requested.kind !== 'none' || idempotency !== undefined) {
        const record = await writeByPaxos(deps, reply, key, { value, tombstone: false, ttlSeconds }, requested, idempotency);
        setVersionHeaders(reply, record, majorityOf(deps, key));
        return echoStored(reply, key, request.body, record);
      }
      const w = replicaCountOf(request.query.w, deps.replicas, 'w');
      const result = await deps.coordinator.put(key, value, w, ttlSeconds);
      setVersionHeaders(reply, result.record, result.acks);
      return echoStored(reply, key, request.body, result.record);
    },
  );

  api.get(
    '/store/*',
    {
      config: { swaggerTransform: keyPathDocument },
      schema: {
        tags,
        operationId: 'getValue',
        summary: 'Read a value',
        description:
          'Reads R replicas and returns the newest version; stale replicas are repaired in the background. ' +
          "With r=serial, a per-key Paxos round among a majority of the key's replicas: it sees every conditional write answered before it.",
        params: KeyPathParams,
        querystring: ReadQuery,
        response: { 200: StoredValueSchema, ...problemResponses(400, 404, 414, 503, 504) },
      },
    },
    async (request, reply) => {
      const key = checkedKey(request.params['*']);
      const r = isSerial(request.query.r) ? ('serial' as const) : readCountOf(request.query.r, deps.replicas);
      requireReady(deps);
      const result = r === 'serial' ? { record: await deps.paxos.read(key), replies: majorityOf(deps, key) } : await deps.coordinator.read(key, r);
      if (result.record === undefined || result.record.tombstone) {
        // An absent key is an ordinary answer, not an error: reply without building an exception.
        return sendProblem(reply, keyNotFound(key, result.record));
      }
      setVersionHeaders(reply, result.record, result.replies);
      return storedAnswer(key, result.record);
    },
  );

  api.delete(
    '/store/*',
    {
      config: { swaggerTransform: keyPathDocument },
      schema: {
        tags,
        operationId: 'deleteValue',
        summary: 'Delete a key',
        description:
          "Writes a tombstone to the key's replicas (W acks); later reads answer 404 on every node. With If-Match it deletes only if the key " +
          "is still at that version, decided by a majority of the key's replicas (per-key Paxos).",
        params: KeyPathParams,
        querystring: WriteQuery,
        headers: ConditionalDeleteHeaders,
        response: { 200: DeleteResultSchema, ...problemResponses(414, 503, 504, 507), ...conditionResponses },
      },
    },
    async (request, reply) => {
      const key = checkedKey(request.params['*']);
      const requested = requestedCondition(request.headers, 'DELETE', request.query.w !== undefined);
      const idempotency = idempotencyOf(
        request.headers['idempotency-key'],
        { method: 'DELETE', valueText: undefined, ttlSeconds: undefined, ifMatch: headerText(request.headers['if-match']), ifNoneMatch: undefined },
        request.query.w !== undefined,
      );
      requireReady(deps);
      if (requested.kind !== 'none' || idempotency !== undefined) {
        const record = await writeByPaxos(deps, reply, key, { value: undefined, tombstone: true }, requested, idempotency);
        setVersionHeaders(reply, record, majorityOf(deps, key));
        return { key, deleted: true as const, version: formatVersion(record) };
      }
      const w = replicaCountOf(request.query.w, deps.replicas, 'w');
      const result = await deps.coordinator.delete(key, w);
      setVersionHeaders(reply, result.record, result.acks);
      return { key, deleted: true as const, version: formatVersion(result.record) };
    },
  );

  app.all('/store/', { schema: { hide: true } }, async () => {
    throw new ProblemError(400, 'invalid-key', 'Invalid key', 'the key is empty; use /store/{key} with a key of 1..1024 UTF-8 bytes');
  });
};

export function checkedKey(key: string): string {
  if (isValidKey(key)) return key;
  if (key.length === 0) throw new ProblemError(400, 'invalid-key', 'Invalid key', 'the key is empty; keys are 1..1024 UTF-8 bytes');
  throw new ProblemError(
    414,
    'key-too-long',
    'Key too long',
    `the key is ${utf8Length(key)} UTF-8 bytes; keys are at most ${keyBytesMax} bytes`,
    { limitBytes: keyBytesMax },
  );
}

/**
 * @fastify/swagger `transform` of a route whose key is the rest of the path (`/store/*`):
 * documented as `/store/{key}` with a `key` path parameter, which is what clients send, and
 * with the access the table gives it (openapi-security.ts).
 */
export const keyPathDocument: SwaggerTransform = (input) => {
  const { schema, url } = documentRouteAccess(input);
  return { schema: { ...schema, params: KeyParams }, url: url.replace(/\*$/, '{key}') };
};

export function requireReady(deps: Pick<ApiDeps, 'admitClients' | 'nodeId'>): void {
  if (deps.admitClients()) return;
  throw new ProblemError(
    503,
    'starting',
    'Node is starting',
    `node ${deps.nodeId} is not ready: it has not yet heard from all its seeds, or it is still joining the ring; retry in a moment or use another node`,
    { applied: false },
  );
}

/**
 * Runs a conditional or idempotent write through the key's Paxos round; a refused condition
 * becomes the 412 problem, and an answer replayed for an Idempotency-Key says so in a header.
 */
async function writeByPaxos(
  deps: Pick<ApiDeps, 'paxos'>,
  reply: FastifyReply,
  key: string,
  change: WriteChange,
  requested: RequestedCondition,
  idempotency: IdempotencyTag | undefined,
): Promise<StoredRecord> {
  // A weak tag never matches; the 412 still tells the version the key holds, read linearizably.
  if (requested.kind === 'never-matches') throw weakTagProblem(requested.tag, await deps.paxos.read(key));
  try {
    const result = await deps.paxos.write(key, change, requested.kind === 'condition' ? requested.condition : {}, idempotency);
    if (result.replayed === true) reply.header('idempotent-replayed', 'true');
    return result.record;
  } catch (error) {
    if (error instanceof PreconditionFailedError) throw preconditionProblem(error);
    throw error;
  }
}


/** The fewest replicas a Paxos round heard (a majority of the key's replicas), reported in X-Ringkv-Acks. */
function majorityOf(deps: Pick<ApiDeps, 'coordinator'>, key: string): number {
  return Math.floor(deps.coordinator.replicasOf(key).length / 2) + 1;
}

function isSerial(level: string | undefined): boolean {
  return level !== undefined && level.trim().toLowerCase() === 'serial';
}

/** The replica count of `?r=`; its error names serial too, which only reads take. */
function readCountOf(level: string | undefined, replicas: number): ReturnType<typeof replicaCountOf> {
  try {
    return replicaCountOf(level, replicas, 'r');
  } catch (error) {
    if (error instanceof ConsistencyError) throw new ConsistencyError(`${error.message}, or serial for a read linearizable with conditional writes`);
    throw error;
  }
}

function setVersionHeaders(reply: FastifyReply, record: StoredRecord, acks: number): void {
  const [etag, acksHeader] = versionHeaders(record, acks);
  reply.header('etag', etag);
  reply.header('x-ringkv-acks', acksHeader);
}

/** The ETag (the record's version) and X-Ringkv-Acks (replicas that answered) of an answer about a record. */
export function versionHeaders(record: StoredRecord, acks: number): [etag: string, acks: string] {
  return [`"${formatVersion(record)}"`, String(acks)];
}

/** The 404 of a read: the key is absent, deleted, or expired (`record` is what the read saw). */
export function keyNotFound(key: string, record: StoredRecord | undefined) {
  const why = record === undefined ? '' : isExpiredView(record) ? ' (its ttl has passed)' : ' (it was deleted)';
  return problemOf(404, 'key-not-found', 'Key not found', `key ${JSON.stringify(key)} does not exist${why}`);
}

/** The answer for a stored value: key, value, version, and expiresAt when it has a ttl. */
export function storedAnswer(key: string, record: StoredRecord): { key: string; value: unknown; version: string; expiresAt?: string } {
  const expiresAt = expiresAtOf(record);
  const answer = { key, value: record.value, version: formatVersion(record) };
  return expiresAt === undefined ? answer : { ...answer, expiresAt };
}

/** The PUT answer, around the value's own JSON text when the body parser kept it (value-echo.ts). */
function echoStored(reply: FastifyReply, key: string, body: { value: unknown }, record: StoredRecord) {
  const answer = storedValueBytes(body, key, formatVersion(record), expiresAtOf(record));
  if (answer === undefined) return storedAnswer(key, { ...record, value: body.value });
  return reply.type('application/json; charset=utf-8').send(answer);
}
