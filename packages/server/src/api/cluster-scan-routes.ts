// Cluster-wide listings: GET /cluster/keys (the live keys of the whole cluster, a page at a
// time, optionally with their values) and GET /admin/records (every key's newest copy as
// stored, tombstones and expired values included: what a backup reads). Both page through
// ClusterNode.scanPage (core cluster/key-scan.ts), whose cursor is a key, so a listing goes
// on through any node and across ring changes. /keys stays the node's own list (node-routes.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  formatVersion,
  isLiveAt,
  isValidKey,
  keyBytesMax,
  keysPageLimitDefault,
  keysPageLimitMax,
  keysPageScanMax,
  replicaCountOf,
  scanValueReadsInFlightMax,
  ScanUnavailableError,
  utf8Length,
  type ClusterScanPage,
  type ScanPageRequest,
  type StoredRecord,
} from '@ringkv/core';
import { clusterKeysQuerySchema, ClusterKeysPageSchema, ClusterRecordsPageSchema, keysQuerySchema } from '@ringkv/client/schemas';
import type { ApiDeps } from './api-deps.js';
import { decodeCursor, encodeCursor } from './node-routes.js';
import { ProblemError } from './problems.js';
import { problemResponse, problemResponses } from './schemas.js';
import { requireReady, storedAnswer } from './store-routes.js';
import { expiresAtOf } from './write-options.js';

const limits = { keysPageLimitDefault, keysPageLimitMax, keyBytesMax };
const ClusterKeysQuery = clusterKeysQuerySchema(limits);
const RecordsQuery = keysQuerySchema(limits);

const scanUnavailable = problemResponse(
  'Too many members did not answer (more than N-1: a key could have no replica that answered), or the node is still starting; the detail names them. Retry, or bring them back',
);

export const clusterScanRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/cluster/keys',
    {
      schema: {
        tags: ['cluster'],
        operationId: 'listClusterKeys',
        summary: 'List the live keys of the whole cluster, a page at a time',
        description:
          'Every member that has not left is asked for its keys after the cursor; the copies are merged by version, so each live key appears once, ' +
          'in UTF-8 byte order, while up to N-1 members are down. Deleted and expired keys never appear. With values=true, items holds each listed key ' +
          'read at r (default quorum). Pass nextCursor back as cursor; null means the last page. /keys lists one node only.',
        querystring: ClusterKeysQuery,
        response: { 200: ClusterKeysPageSchema, ...problemResponses(400), 503: scanUnavailable, ...problemResponses(504) },
      },
    },
    async (request) => {
      const query = request.query;
      const limit = query.limit ?? keysPageLimitDefault;
      const after = cursorKeyOf(query.cursor);
      const read = query.values === true ? readerOf(deps, query.r) : undefined;
      requireReady(deps);
      const page = await liveKeysPage(deps, query.prefix ?? '', after, limit);
      if (read === undefined) return page;
      return { ...page, items: await readItems(page.keys, read) };
    },
  );

  api.get(
    '/admin/records',
    {
      schema: {
        tags: ['cluster'],
        operationId: 'listClusterRecords',
        summary: "Every key's newest copy in the cluster, tombstones and expired values included",
        description:
          'The records a backup needs, a page at a time, in UTF-8 byte order: the newest version among the copies of every member that has not left, ' +
          'as it is stored (a delete is a tombstone; an expired value keeps its value and past expiresAt). Pass nextCursor back as cursor; null means the last page.',
        querystring: RecordsQuery,
        response: { 200: ClusterRecordsPageSchema, ...problemResponses(400), 503: scanUnavailable },
      },
    },
    async (request) => {
      const after = cursorKeyOf(request.query.cursor);
      requireReady(deps);
      const page = await scanned(deps, { prefix: request.query.prefix ?? '', after, limit: request.query.limit ?? keysPageLimitDefault });
      return { records: page.entries.map(([key, record]) => recordAnswer(key, record)), nextCursor: page.next === null ? null : encodeCursor(page.next) };
    },
  );
};

/** The key a cursor resumes after; one that is no key at all was not made by this API. */
function cursorKeyOf(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const key = decodeCursor(cursor);
  if (isValidKey(key)) return key;
  throw new ProblemError(400, 'bad-cursor', 'Invalid cursor', 'the cursor names no valid key; pass nextCursor from the previous page unchanged, or omit it to start over');
}

/**
 * One page of live keys: merged pages are walked until `limit` live keys are found, the
 * scan ends, or keysPageScanMax records (tombstones count) were walked; then a short page
 * with a cursor to go on. Expiry is judged once, at the page's start, as /keys does.
 */
async function liveKeysPage(deps: ApiDeps, prefix: string, start: string | null, limit: number): Promise<{ keys: string[]; nextCursor: string | null }> {
  const keys: string[] = [];
  // No key is longer than keyBytesMax, so none starts with a longer prefix.
  if (utf8Length(prefix) > keyBytesMax) return { keys, nextCursor: null };
  const atHlc = deps.hlcNow();
  // Rounds ask for at least a default page, so a page of a few keys among many tombstones takes few rounds.
  const roundLimit = Math.max(limit, keysPageLimitDefault);
  let after = start;
  for (let walked = 0; walked < keysPageScanMax; ) {
    const page = await scanned(deps, { prefix, after, limit: roundLimit });
    for (const [index, [key, record]] of page.entries.entries()) {
      walked++;
      if (isLiveAt(record, atHlc)) keys.push(key);
      if (keys.length === limit) {
        const exhausted = page.next === null && index === page.entries.length - 1;
        return { keys, nextCursor: exhausted ? null : encodeCursor(key) };
      }
    }
    if (page.next === null) return { keys, nextCursor: null };
    after = page.next;
  }
  return { keys, nextCursor: after === null ? null : encodeCursor(after) };
}

/** A merged page, with too few members answering as the 503 problem that names them. */
async function scanned(deps: Pick<ApiDeps, 'scanPage'>, page: ScanPageRequest): Promise<ClusterScanPage> {
  try {
    return await deps.scanPage(page);
  } catch (error) {
    if (!(error instanceof ScanUnavailableError)) throw error;
    throw new ProblemError(503, 'scan-unavailable', 'Too few members answered the scan', `${error.message}; nothing is missing from pages already answered: retry this page`, {
      unanswered: error.unanswered,
      toleratedFailures: error.tolerated,
    });
  }
}

type ReadOne = (key: string) => Promise<StoredRecord | undefined>;

/** How values=true reads each key: `?r=` as on GET /store/{key}, checked before anything is scanned. */
function readerOf(deps: Pick<ApiDeps, 'coordinator' | 'paxos' | 'replicas'>, level: string | undefined): ReadOne {
  if (level !== undefined && level.trim().toLowerCase() === 'serial') return (key) => deps.paxos.read(key);
  const r = replicaCountOf(level, deps.replicas, 'r');
  return async (key) => (await deps.coordinator.read(key, r)).record;
}

/** Each key read at most scanValueReadsInFlightMax at a time; a key absent or gone by now is left out. */
async function readItems(keys: readonly string[], read: ReadOne) {
  const records: Array<StoredRecord | undefined> = new Array(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const index = next++;
      records[index] = await read(keys[index] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(scanValueReadsInFlightMax, keys.length) }, worker));
  return keys.flatMap((key, index) => {
    const record = records[index];
    // The read's view already turns an expired value into a tombstone (record.ts, visibleAt).
    return record === undefined || record.tombstone ? [] : [storedAnswer(key, record)];
  });
}

/** A record as GET /admin/records answers it: as stored, with its version spelled both ways. */
function recordAnswer(key: string, record: StoredRecord) {
  const expiresAt = expiresAtOf(record);
  return {
    key,
    version: formatVersion(record),
    tombstone: record.tombstone,
    ...(record.tombstone ? {} : { value: record.value }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    hlc: record.hlc,
    nodeId: record.nodeId,
  };
}
