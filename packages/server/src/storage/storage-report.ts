// What a node says about its disk in /health, /node-info, /metrics and the dashboard
// (docs/architecture.md, "Disk full"): whether it takes writes, how much the data uses,
// what the data directory's filesystem has left, and a warning before it is full.
import type { DiskInfo } from '@ringkv/client';
import { filesystemSpace, type FilesystemSpace } from './data-file-reserve.js';
import type { StorageStatus } from './disk-state.js';

export interface StorageReportDeps {
  dataDir: string;
  /** Disk use (percent of the filesystem) above which a warning is given. */
  warnPercent: number;
  /** The engine's state; a memory engine is always `ok`. */
  status(): StorageStatus;
  /** LMDB's bytes; undefined for the memory engine. */
  usage(): { dataBytes: number; reservedBytes: number } | undefined;
  space?: (path: string) => FilesystemSpace;
}

export function storageReport(deps: StorageReportDeps): DiskInfo {
  const status = deps.status();
  const usage = deps.usage();
  let space: FilesystemSpace | undefined;
  try {
    space = (deps.space ?? filesystemSpace)(deps.dataDir);
  } catch {
    space = undefined; // the directory vanished or statfs failed: report what is known
  }
  const usedPercent = space === undefined || space.totalBytes === 0 ? null : round1((1 - space.freeBytes / space.totalBytes) * 100);
  return {
    state: status.state,
    reason: status.reason,
    sinceMs: status.sinceMs,
    dataBytes: usage?.dataBytes ?? null,
    reservedBytes: usage?.reservedBytes ?? null,
    filesystemBytes: space?.totalBytes ?? null,
    freeBytes: space?.freeBytes ?? null,
    usedPercent,
    warnPercent: deps.warnPercent,
    warning: warningFor(status, usedPercent, deps.warnPercent),
  };
}

function warningFor(status: StorageStatus, usedPercent: number | null, warnPercent: number): string | null {
  if (status.state === 'failed') {
    return `writes stopped: the disk failed (${status.reason ?? 'unknown'}). Check the disk and the system log, then restart the node; reads are still served`;
  }
  if (status.state === 'full') {
    return "writes are refused (507): the data directory's disk is full. Free space there or grow the volume; the node takes writes again by itself";
  }
  if (usedPercent !== null && usedPercent >= warnPercent) {
    return `the data directory's filesystem is ${usedPercent}% full (warning at ${warnPercent}%): free space or grow the volume before writes are refused`;
  }
  return null;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
