// Upper estimates of the bytes a commit can add to LMDB's data file, so it is admitted
// only when the space reserved ahead of LMDB holds them (data-file-reserve.ts). A record
// is measured by walking its value once; strings count their UTF-8 bytes, as MessagePack
// stores them.
import type { Database } from 'lmdb';
import { JsonText, type StoredRecord } from '@ringkv/core';

/** Pages one write can add beyond its own bytes: its leaf, a split, a branch page on the way. */
export const pagesPerWrite = 3;
/** Pages one commit can add whatever it holds: the free list, the meta and DB roots. */
export const pagesPerCommit = 16;

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
