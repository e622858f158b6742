// Opens a node's storage engine with what the disk-full handling needs around it
// (docs/architecture.md, "Disk full"): each change of storage state logged once and
// counted, refused writes counted, and the report /health, /node-info, /metrics and the
// dashboard show.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DiskInfo } from '@ringkv/client';
import { MemoryEngine, type Engine, type KeyHasher } from '@ringkv/core';
import type { NodeConfig } from '../config.js';
import type { StorageState, StorageStatus } from './disk-state.js';
import { ringIndexFormat } from './data-format.js';
import { LmdbEngine } from './lmdb-engine.js';
import { storageReport } from './storage-report.js';

export interface StorageCounts {
  /** Changes into each state since start. */
  changes: Record<StorageState, number>;
  /** Client writes this node's storage refused (full or failed). */
  refusedWrites: number;
}

export interface NodeStorage {
  engine: Engine;
  /** The LMDB engine, when the node stores on disk. */
  lmdb: LmdbEngine | undefined;
  state(): StorageState;
  report(): DiskInfo;
  counts: StorageCounts;
}

type StorageConfig = Pick<NodeConfig, 'storage' | 'dataDir' | 'durable' | 'lmdbMapBytes' | 'storageReserveBytes' | 'diskWarnPercent'>;

/**
 * `formatFound` is the data format the directory was in (data-format.ts, checkDataFormat):
 * below the ring index's format, a release without the index may have written to it, so
 * the LMDB engine rebuilds its index even if one is marked complete.
 * `hash` is the ring's: engines keep their records in ring order by it (packages/core/src/storage/ring-order.ts).
 */
export async function openNodeStorage(config: StorageConfig, hash: KeyHasher, log: Pick<Logger, 'info' | 'warn' | 'error'>, formatFound: number): Promise<NodeStorage> {
  const counts: StorageCounts = { changes: { ok: 0, full: 0, failed: 0 }, refusedWrites: 0 };
  const changed = (status: StorageStatus, previous: StorageState) => {
    counts.changes[status.state]++;
    const fields = { storage: status.state, from: previous, reason: status.reason };
    if (status.state === 'full') log.warn(fields, 'storage full: refusing writes (507) until space returns; reads are still served');
    else if (status.state === 'failed') log.error(fields, 'storage failed: writes stopped until the node is restarted; reads are still served');
    else log.info(fields, 'storage has room again: taking writes');
  };
  const lmdb =
    config.storage === 'lmdb'
      ? await LmdbEngine.open({
          path: join(config.dataDir, 'lmdb'),
          hash,
          rebuildRingIndex: formatFound < ringIndexFormat,
          log: { info: (fields, message) => log.info(fields, message) },
          durable: config.durable,
          mapBytes: config.lmdbMapBytes,
          reserveBytes: config.storageReserveBytes,
          events: { changed, writeRefused: () => counts.refusedWrites++ },
        })
      : undefined;
  const memoryStatus: StorageStatus = { state: 'ok', reason: null, sinceMs: Date.now() };
  const status = () => lmdb?.storageStatus() ?? memoryStatus;
  // A store that is already full at start says so once, like any later change.
  if (status().state !== 'ok') changed(status(), 'ok');
  return {
    engine: lmdb ?? new MemoryEngine(hash),
    lmdb,
    state: () => status().state,
    report: () => storageReport({ dataDir: config.dataDir, warnPercent: config.diskWarnPercent, status, usage: () => lmdb?.storageUsage() }),
    counts,
  };
}
