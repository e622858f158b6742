// One node's own view, from the original README (/status, /keys, /node-info) plus
// /health and /metrics.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isLiveAt, keysPageLimitDefault, keysPageScanMax } from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { ProblemError } from './problems.js';
import { HealthSchema, KeysPageSchema, NodeInfoSchema, StatusSchema } from '@ringkv/client/schemas';
import { KeysQuery, problemResponses } from './schemas.js';

export const nodeRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['node'];

  api.get(
    '/status',
    { schema: { tags, operationId: 'getStatus', summary: 'Node status: uptime and key count', response: { 200: StatusSchema } } },
    async () => ({
      nodeId: deps.nodeId,
      ready: deps.isReady(),
      uptimeSeconds: uptimeSeconds(deps),
      keyCount: deps.engine.liveCount(),
    }),
  );

  api.get(
    '/health',
    { schema: { tags, operationId: 'getHealth', summary: 'Liveness and readiness; `storage` says whether the node takes writes', response: { 200: HealthSchema, 503: HealthSchema } } },
    async (_request, reply) => {
      const ready = deps.isReady();
      reply.code(ready ? 200 : 503);
      // A full or failed disk leaves the node alive and serving reads: still 200, with the detail.
      return { status: ready ? ('ok' as const) : ('starting' as const), nodeId: deps.nodeId, storage: deps.storageState() };
    },
  );

  api.get(
    '/keys',
    {
      schema: {
        tags,
        operationId: 'listKeys',
        summary: 'List the live keys stored on this node, a page at a time',
        description: 'Keys in byte order. Pass nextCursor back as cursor for the next page; null means the last page.',
        querystring: KeysQuery,
        response: { 200: KeysPageSchema, ...problemResponses(400) },
      },
    },
    async (request) => listKeys(deps, request.query.limit ?? keysPageLimitDefault, request.query.prefix ?? '', request.query.cursor),
  );

  api.get(
    '/node-info',
    { schema: { tags, operationId: 'getNodeInfo', summary: 'Detailed node information', response: { 200: NodeInfoSchema } } },
    async () => deps.nodeInfo(),
  );

  const metricsSchema = {
    tags,
    operationId: 'getMetrics',
    summary: 'Prometheus metrics (text format)',
    response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  };
  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
};

export function uptimeSeconds(deps: Pick<ApiDeps, 'startedAtMs'>): number {
  return Math.round((Date.now() - deps.startedAtMs) / 100) / 10;
}

/** One bounded page of live keys: walks at most keysPageScanMax entries, tombstones included. */
async function listKeys(deps: ApiDeps, limit: number, prefix: string, cursor: string | undefined) {
  let after = cursor === undefined ? undefined : decodeCursor(cursor);
  const keys: string[] = [];
  // Expiry is judged once, at the page's start: a key whose ttl has passed is not listed.
  const atHlc = deps.hlcNow();
  for (let walked = 0; walked < keysPageScanMax; ) {
    const wanted = Math.min(1000, keysPageScanMax - walked);
    const batch = await deps.engine.scan({ after, prefix, limit: wanted });
    for (const entry of batch) {
      walked++;
      after = entry.key;
      if (isLiveAt(entry.record, atHlc)) keys.push(entry.key);
      if (keys.length === limit) {
        const more = (await deps.engine.scan({ after, prefix, limit: 1 })).length > 0;
        return { keys, nextCursor: more ? encodeCursor(after) : null };
      }
    }
    if (batch.length < wanted) return { keys, nextCursor: null };
  }
  // Walked the most one page may (many tombstones): a short page, and a cursor to go on.
  return { keys, nextCursor: after === undefined ? null : encodeCursor(after) };
}

export function encodeCursor(key: string): string {
  return Buffer.from(`k:${key}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('k:') || encodeCursor(text.slice(2)) !== cursor) {
    throw new ProblemError(400, 'bad-cursor', 'Invalid cursor', 'the cursor was not made by this API; pass nextCursor from the previous page unchanged, or omit it to start over');
  }
  return text.slice(2);
}
