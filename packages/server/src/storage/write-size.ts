// Upper estimates of the bytes a commit can add to LMDB's data file, so it is admitted
// only when the space reserved ahead of LMDB holds them (data-file-reserve.ts). A record
// is measured by walking its value once; strings count their UTF-8 bytes, as MessagePack
// stores them.
import type { Database } from 'lmdb';
import { goneAt, JsonText, type StoredRecord } from '@ringkv/core';

/** Pages one write can add beyond its own bytes: its leaf, a split, a branch page on the way. */
export const pagesPerWrite = 3;
/** Pages one commit can add whatever it holds: the free list, the meta and DB roots. */
export const pagesPerCommit = 16;

/** LMDB's header of one row in a leaf page, and the slot pointing to it. */
const lmdbNodeBytes = 10;

/** MessagePack's largest header for one item (a str32, map32 or float64 marker and length). */
const itemOverheadBytes = 9;
/** The row's own fields: its version, writer id and flag. */
const rowOverheadBytes = 64;

export function estimateRecordBytes(key: string, record: StoredRecord): number {
  return Buffer.byteLength(key) + Buffer.byteLength(record.nodeId) + rowOverheadBytes + (record.tombstone ? 0 : estimateValueBytes(record.value));
}

export function estimateValueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value) + itemOverheadBytes;
  if (value instanceof JsonText) return Buffer.byteLength(value.text) + itemOverheadBytes;
  if (Array.isArray(value)) {
    let bytes = itemOverheadBytes;
    for (const item of value) bytes += estimateValueBytes(item);
    return bytes;
  }
  if (typeof value === 'object' && value !== null) {
    let bytes = itemOverheadBytes;
    for (const [name, item] of Object.entries(value)) bytes += Buffer.byteLength(name) + itemOverheadBytes + estimateValueBytes(item);
    return bytes;
  }
  return itemOverheadBytes;
}

/**
 * The pages removing `count` keys can add: each leaf and branch page it touches is copied
 * (at most every page of the tree), and the free list grows by the pages set free.
 */
export function removalNeedBytes(db: Pick<Database, 'getStats'>, count: number, pageBytes: number): number {
  const stats = db.getStats() as { treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number; entryCount: number };
  const leaves = Math.min(count, stats.treeLeafPageCount);
  const overflowPerEntry = stats.entryCount === 0 ? 0 : Math.ceil(stats.overflowPages / stats.entryCount);
  const freeListPages = Math.ceil((count * (overflowPerEntry + 1) * 8) / pageBytes);
  return (leaves + stats.treeBranchPageCount + freeListPages + pagesPerCommit) * pageBytes;
}

type Version = Pick<StoredRecord, 'hlc' | 'nodeId' | 'tombstone' | 'expiresAt'>;

/** The bytes of a key's ring index rows (lmdb-ring-index.ts): its ring row, and its purge row when it has a goneAt. */
export function ringIndexRowBytes(key: string, version: Version): number {
  const keyBytes = Buffer.byteLength(key);
  const ring = 4 + keyBytes + 12 + lmdbNodeBytes;
  return goneAt(version) === undefined ? ring : ring + 8 + keyBytes + Buffer.byteLength(version.nodeId) + itemOverheadBytes * 3 + lmdbNodeBytes;
}

/** What one write of a record puts: the record, its change log entry (about the same) and its ring index rows. */
export function recordPutBytes(key: string, record: StoredRecord): number {
  return 2 * estimateRecordBytes(key, record) + ringIndexRowBytes(key, record);
}

/**
 * What a write adds for the ring index beside its record: its rows, the pages of the ring
 * tree (and of the purge tree when the new or the old version has a goneAt) as for any
 * write, and one page of the bucket tree (65,536 short rows at most, so two levels).
 */
export function ringIndexWriteBytes(key: string, record: Version, current: Version | undefined, pageBytes: number): number {
  const purgeTouched = goneAt(record) !== undefined || (current !== undefined && goneAt(current) !== undefined);
  return ringIndexRowBytes(key, record) + (pagesPerWrite * (purgeTouched ? 2 : 1) + 1) * pageBytes;
}

type TreeStats = { treeBranchPageCount: number; treeLeafPageCount: number; entryCount: number };

/**
 * The pages a transaction inserting `count` rows of `rowBytes` in all can add to `trees`:
 * each page it touches is copied once (at most every page the trees hold), and the new rows
 * fill pages at least half full.
 */
export function insertionNeedBytes(trees: ReadonlyArray<Pick<Database, 'getStats'>>, count: number, rowBytes: number, pageBytes: number): number {
  let pages = pagesPerCommit + Math.ceil((2 * rowBytes) / pageBytes);
  for (const tree of trees) {
    const stats = tree.getStats() as TreeStats;
    pages += Math.min(count, stats.treeLeafPageCount) + stats.treeBranchPageCount;
  }
  return pages * pageBytes;
}

/** Emptying `trees` adds no pages but the free list's entries for theirs. */
export function clearNeedBytes(trees: ReadonlyArray<Pick<Database, 'getStats'>>, pageBytes: number): number {
  let freed = 0;
  for (const tree of trees) {
    const stats = tree.getStats() as TreeStats & { overflowPages: number };
    freed += stats.treeLeafPageCount + stats.treeBranchPageCount + stats.overflowPages;
  }
  return (pagesPerCommit + Math.ceil((freed * 8) / pageBytes)) * pageBytes;
}
