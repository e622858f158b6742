// The storage seam (docs/design.md, "Storage"; docs/style.md, "One contract, one
// compliance suite"). One contract, documented here once; the memory engine, the LMDB
// engine and any simulated engine pass the same compliance suite
// (packages/server/src/storage/engine-compliance.ts).
import type { StoredRecord } from './record.js';
import type { RangeSummary, RingCursor } from './ring-order.js';

export interface ApplyOutcome {
  /** True when the record was newer than what was stored and is now stored. */
  applied: boolean;
  /** What the engine holds for the key after the call. */
  current: StoredRecord;
}

export interface ScanOptions {
  /** Start strictly after this key (a page cursor). */
  after?: string;
  /** Only keys that start with this prefix. */
  prefix?: string;
  /** At most this many entries (live or tombstones) are returned. */
  limit: number;
}

/** A key at one version, for `discard`. */
export interface KeyVersion {
  key: string;
  hlc: number;
  nodeId: string;
}

export interface ScanEntry {
  key: string;
  record: StoredRecord;
}

/**
 * An ordered key-value store of records.
 * - `apply` is a merge: it stores the record only if it is newer than the stored one
 *   (records/compareVersions), atomically with respect to other `apply` calls on the key.
 * - When `apply` resolves, a later `get` on this engine sees the result, and the write
 *   survives a crash of the process (and, with durable mode, of the machine).
 * - `scan` walks keys in ascending byte order of their UTF-8 encoding, tombstones included.
 * - Errors reject the promise; the engine stays usable for other keys.
 * - It keeps its records in ring order too (RingOrderedEngine, below).
 */
export interface Engine extends RingOrderedEngine {
  readonly kind: 'memory' | 'lmdb';
  get(key: string): Promise<StoredRecord | undefined>;
  apply(key: string, record: StoredRecord): Promise<ApplyOutcome>;
  /**
   * Applies each record as `apply` does (a merge per key, in the order given) as one write:
   * the engine may store them in one transaction, after the client writes already waiting.
   * For background work that brings many records at once (transfers). Outcomes come in the
   * order of `entries`. It rejects as a whole, though some records may be stored: each merge
   * is safe to repeat.
   */
  applyBatch(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<ApplyOutcome[]>;
  scan(options: ScanOptions): Promise<ScanEntry[]>;
  /**
   * Removes each key that still holds exactly the given version (a key the node no longer
   * owns, or a tombstone every replica has verified); a key written since is kept.
   * Resolves with the records removed.
   */
  discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]>;
  /** Live (non-tombstone) keys stored. */
  liveCount(): number;
  close(): Promise<void>;
}

/** A walk of the ring index over the arc (start, end] (storage/ring-order.ts, arcSpans). */
export interface RingScanOptions {
  /** Exclusive start token of the arc (a ring range's start). */
  start: number;
  /** Inclusive end token; start >= end wraps past the top of the circle, start === end is all of it. */
  end: number;
  /** Resume strictly after this place in ring order (a page cursor). */
  after?: RingCursor;
  /** At most this many entries (live or tombstones) are returned. */
  limit: number;
}

export interface RingScanEntry extends ScanEntry {
  token: number;
}

export interface RingKeyEntry {
  key: string;
  token: number;
  /** storage/ring-order.ts, versionHash, of the version the engine holds. */
  versionHash: number;
}

export interface PurgeableOptions {
  /** Only records gone before this HLC time (Infinity: every tombstone and ttl value). */
  below: number;
  /** Resume strictly after this entry of the previous page. */
  after?: { goneAt: number; key: string };
  limit: number;
}

export interface PurgeableEntry extends KeyVersion {
  goneAt: number;
  tombstone: boolean;
}

/**
 * What an engine keeps in ring order (storage/ring-order.ts), in step with its records: in
 * the same transaction as each write, so a crash cannot leave them apart.
 * - `ringScan` and `ringKeys` walk the arc in ring order (token, then key bytes); an arc
 *   that wraps is walked from just after `start` to the top of the circle, then from 0.
 *   `after` is a cursor returned by the previous page of the same walk.
 * - `summarize` is the XOR of the version hashes of the arc's keys and their count.
 * - `purgeable` lists tombstones and ttl values by the time they are gone (record.ts,
 *   goneAt: a tombstone's HLC, a value's expiresAt), lowest first, then by key bytes, only
 *   those gone before `below`, without walking other keys.
 */
export interface RingOrderedEngine {
  ringScan(options: RingScanOptions): Promise<RingScanEntry[]>;
  ringKeys(options: RingScanOptions): Promise<RingKeyEntry[]>;
  summarize(start: number, end: number): Promise<RangeSummary>;
  purgeable(options: PurgeableOptions): Promise<PurgeableEntry[]>;
  /** Keys stored, live and tombstones. */
  keyCount(): number;
}
