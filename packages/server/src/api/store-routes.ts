// The key-value API of the original README: PUT, GET and DELETE /store/{key}, with
// per-request consistency (?w=, ?r=), the version as ETag and the number of replicas
// that answered in X-Ringkv-Acks. Plus GET /store/{key}/replicas for operators.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { formatVersion, isValidKey, keyBytesMax, replicaCountOf, utf8Length, type StoredRecord } from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { ProblemError, problemOf, sendProblem } from './problems.js';
import { carriedBodyValue } from './proto-key-bodies.js';
import { DeleteResultSchema, KeyParams, PutBody, ReadQuery, ReplicasSchema, StoredValueSchema, WriteQuery } from '@ringkv/client/schemas';
import { problemResponses } from './schemas.js';

export const storeRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['store'];

  api.put(
    '/store/:key',
    {
      schema: {
        tags,
        operationId: 'putValue',
        summary: 'Create or update a value',
        description: 'Writes to the key\'s N replicas and answers once W of them acknowledged.',
        params: KeyParams,
        querystring: WriteQuery,
        body: PutBody,
        response: { 200: StoredValueSchema, ...problemResponses(400, 413, 414, 415, 503, 504, 507) },
      },
    },
    async (request, reply) => {
      const key = checkedKey(request.params.key);
      requireReady(deps);
      const w = replicaCountOf(request.query.w, deps.replicas, 'w');
      // A value holding a "__proto__" key is carried as JSON text, so replicas and disks keep it exactly.
      const result = await deps.coordinator.put(key, carriedBodyValue(request.body, request.body.value), w);
      setVersionHeaders(reply, result.record, result.acks);
      return { key, value: request.body.value, version: formatVersion(result.record) };
    },
  );

  api.get(
    '/store/:key',
    {
      schema: {
        tags,
        operationId: 'getValue',
        summary: 'Read a value',
        description: 'Reads R replicas and returns the newest version; stale replicas are repaired in the background.',
        params: KeyParams,
        querystring: ReadQuery,
        response: { 200: StoredValueSchema, ...problemResponses(400, 404, 414, 503, 504) },
      },
    },
    async (request, reply) => {
      const key = checkedKey(request.params.key);
      requireReady(deps);
      const r = replicaCountOf(request.query.r, deps.replicas, 'r');
      const result = await deps.coordinator.read(key, r);
      if (result.record === undefined || result.record.tombstone) {
        // An absent key is an ordinary answer, not an error: reply without building an exception.
        const detail = `key ${JSON.stringify(key)} does not exist${result.record ? ' (it was deleted)' : ''}`;
        return sendProblem(reply, problemOf(404, 'key-not-found', 'Key not found', detail));
      }
      setVersionHeaders(reply, result.record, result.replies);
      return { key, value: result.record.value, version: formatVersion(result.record) };
    },
  );

  api.delete(
    '/store/:key',
    {
      schema: {
        tags,
        operationId: 'deleteValue',
        summary: 'Delete a key',
        description: 'Writes a tombstone to the key\'s replicas (W acks); later reads answer 404 on every node.',
        params: KeyParams,
        querystring: WriteQuery,
        response: { 200: DeleteResultSchema, ...problemResponses(400, 414, 503, 504, 507) },
      },
    },
    async (request, reply) => {
      const key = checkedKey(request.params.key);
      requireReady(deps);
      const w = replicaCountOf(request.query.w, deps.replicas, 'w');
      const result = await deps.coordinator.delete(key, w);
      setVersionHeaders(reply, result.record, result.acks);
      return { key, deleted: true as const, version: formatVersion(result.record) };
    },
  );

  api.get(
    '/store/:key/replicas',
    {
      schema: {
        tags,
        operationId: 'getReplicas',
        summary: "Every replica's copy of a key",
        description: 'Asks each of the key\'s replicas, in preference order, for the version it holds. No quorum, no repair.',
        params: KeyParams,
        response: { 200: ReplicasSchema, ...problemResponses(400, 414, 503) },
      },
    },
    async (request) => {
      const key = checkedKey(request.params.key);
      requireReady(deps);
      const copies = await deps.coordinator.inspect(key);
      return {
        key,
        owners: [...deps.coordinator.replicasOf(key)],
        replicas: copies.map((copy) => ({
          nodeId: copy.nodeId,
          status: copy.status,
          version: copy.record ? formatVersion(copy.record) : null,
          tombstone: copy.record?.tombstone ?? false,
          ...(copy.record && !copy.record.tombstone ? { value: copy.record.value } : {}),
        })),
      };
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

function setVersionHeaders(reply: FastifyReply, record: StoredRecord, acks: number): void {
  reply.header('etag', `"${formatVersion(record)}"`);
  reply.header('x-ringkv-acks', String(acks));
}
