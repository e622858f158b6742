// Builds the LMDB engine's ring index from its records (data format 3, data-format.ts;
// docs/upgrading.md): one pass over `records` in key order, in large write transactions,
// with progress logged at most once a second. The index is emptied first and marked
// complete only in the last transaction, so a build cut short by a crash starts again from
// nothing on the next open.
import type { Database } from 'lmdb';
import { ringBucketCount, ringIndexBuildKeysPerCommit, type StoredRecord } from '@ringkv/core';
import type { LmdbRingIndex } from './lmdb-ring-index.js';
import { isTombstoneRow, type RecordRow } from './record-rows.js';
import { clearNeedBytes, insertionNeedBytes, ringIndexRowBytes } from './write-size.js';

/** Where progress goes (the node's logger). */
export interface ProgressLog {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface RingIndexBuildDeps {
  records: Database<RecordRow, string>;
  index: LmdbRingIndex;
  /** Runs one write transaction once the data file has room for `needBytes`; resolves once committed. */
  transact(work: () => void, needBytes: number): Promise<void>;
  pageBytes: number;
  log: ProgressLog | undefined;
  nowMs(): number;
  /** Keys per transaction (ringIndexBuildKeysPerCommit). */
  keysPerCommit?: number;
}

export interface RingIndexBuildResult {
  keys: number;
  elapsedMs: number;
}

const progressIntervalMs = 1000;

type Versioned = [key: string, version: Pick<StoredRecord, 'hlc' | 'nodeId' | 'tombstone' | 'expiresAt'>];

export async function buildRingIndex(deps: RingIndexBuildDeps): Promise<RingIndexBuildResult> {
  const startedMs = deps.nowMs();
  const total = (deps.records.getStats() as { entryCount: number }).entryCount;
  const keysPerCommit = deps.keysPerCommit ?? ringIndexBuildKeysPerCommit;
  deps.log?.info({ keysTotal: total }, 'building the ring index from the records (data format 3); the node starts once it is done');
  await deps.transact(() => deps.index.clear(), clearNeedBytes(deps.index.trees(), deps.pageBytes));
  let done = 0;
  let loggedMs = startedMs;
  let after: string | undefined;
  let chunk = readChunk(deps.records, after, keysPerCommit);
  while (chunk.length > 0) {
    const rows = chunk;
    const rowBytes = rows.reduce((sum, [key, version]) => sum + ringIndexRowBytes(key, version), 0);
    const committing = deps.transact(() => {
      for (const [key, version] of rows) deps.index.added(key, version);
    }, insertionNeedBytes(deps.index.trees(), rows.length, rowBytes, deps.pageBytes));
    // The next chunk is read while this one commits on lmdb-js's write thread.
    after = (rows[rows.length - 1] as Versioned)[0];
    chunk = readChunk(deps.records, after, keysPerCommit);
    await committing;
    done += rows.length;
    if (deps.nowMs() - loggedMs >= progressIntervalMs) {
      loggedMs = deps.nowMs();
      deps.log?.info({ keysDone: done, keysTotal: total }, 'building the ring index');
    }
  }
  let writes: ReturnType<LmdbRingIndex['finishBuild']>;
  await deps.transact(() => (writes = deps.index.finishBuild()), insertionNeedBytes(deps.index.trees(), 0, ringBucketCount * 8, deps.pageBytes));
  deps.index.committed(writes);
  const elapsedMs = deps.nowMs() - startedMs;
  deps.log?.info({ keysDone: done, keysTotal: total, elapsedMs }, 'ring index built');
  return { keys: done, elapsedMs };
}

/** Up to `limit` records after `after`, reduced to their versions (the values are dropped at once). */
function readChunk(records: Database<RecordRow, string>, after: string | undefined, limit: number): Versioned[] {
  const chunk: Versioned[] = [];
  const range = after === undefined ? { limit } : { start: after, exclusiveStart: true, limit };
  for (const { key, value } of records.getRange(range)) {
    const tombstone = isTombstoneRow(value);
    chunk.push([key, { hlc: value[0], nodeId: value[1], tombstone, expiresAt: tombstone ? undefined : (value as [number, string, number, unknown, number?])[4] }]);
  }
  return chunk;
}
