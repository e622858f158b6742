// The LMDB engine's records in ring order (packages/core/src/storage/ring-order.ts;
// docs/design.md, "Storage"), kept in the same write transaction as the records:
// - `ring`: one row per key, (token, key bytes) -> version hash [+ goneAt], so a ring range
//   is one contiguous cursor walk;
// - the bucket digests (lmdb-bucket-digests.ts): XOR of version hashes and key count per
//   bucket, written once per transaction with the batch's changes coalesced;
// - `purge`: one row per tombstone or ttl value, (goneAt, key bytes) -> its version, so the
//   purge reads the records gone before a time without walking the others.
// Nothing here is per key on the heap: the only memory is the bucket table (512 KiB).
import type { Database, RootDatabase } from 'lmdb';
import {
  arcSpans,
  coverArc,
  goneAt,
  ringBucketCount,
  ringBucketOf,
  tokenSpace,
  versionHash,
  type KeyHasher,
  type PurgeableEntry,
  type PurgeableOptions,
  type RangeSummary,
  type RingKeyEntry,
  type RingScanOptions,
  type StoredRecord,
  type TokenSpan,
} from '@ringkv/core';
import { LmdbBucketDigests, type BucketWrites } from './lmdb-bucket-digests.js';
import {
  purgeRowGoneAt,
  purgeRowKey,
  purgeRowKeyText,
  purgeTimeStart,
  ringRowKey,
  ringRowKeyText,
  ringRowToken,
  ringRowValue,
  ringTokenStart,
  ringValueGoneAt,
  ringValueHash,
  type PurgeRow,
} from './ring-rows.js';

/** The meta row saying the ring index is complete; written with the last rows of a build. */
export const ringIndexBuiltName = 'ring-index-built';
/** What that row holds: bumped if the rows' layout ever changes, so an older build is rebuilt. */
const ringIndexLayout = 1;
const lastToken = tokenSpace - 1;

export class LmdbRingIndex {
  private readonly ring: Database<Buffer, Buffer>;
  private readonly purge: Database<PurgeRow, Buffer>;
  private readonly buckets: LmdbBucketDigests;

  constructor(
    root: RootDatabase,
    private readonly meta: Database<unknown, string>,
    private readonly hash: KeyHasher,
  ) {
    this.ring = root.openDB<Buffer, Buffer>({ name: 'ring', keyEncoding: 'binary', encoding: 'binary' });
    this.purge = root.openDB<PurgeRow, Buffer>({ name: 'purge', keyEncoding: 'binary' });
    this.buckets = new LmdbBucketDigests(root);
  }

  /** The index's trees, whose sizes bound what a transaction may copy (write-size.ts). */
  trees(): Array<Pick<Database, 'getStats'>> {
    return [this.ring, this.purge, ...this.buckets.trees()];
  }

  /** True when the last build finished (and no write since went around the index). */
  isBuilt(): boolean {
    return this.meta.get(ringIndexBuiltName) === ringIndexLayout;
  }

  /** Reads the bucket digests into memory: no key is read. */
  load(): void {
    this.buckets.load();
  }

  // --- Inside a write transaction -------------------------------------------------------

  /** Starts a transaction's changes (dropping those of one that never reached its end). */
  beginTransaction(): void {
    this.buckets.begin();
  }

  /**
   * `record` replaces whatever the key held. The old version is read from the ring row,
   * which is small, rather than from the record, which may be large; `fresh` says the key
   * is known to hold nothing (a transfer into a new node writes mostly such keys), and
   * skips that read. Returns whether the key held a value (not a tombstone): the engine
   * counts live keys by what each commit replaced.
   */
  stored(key: string, record: StoredRecord, fresh = false): boolean {
    const keyBytes = Buffer.from(key, 'utf8');
    const token = this.hash(key);
    const rowKey = ringRowKey(token, keyBytes);
    const old = fresh ? undefined : this.ring.getBinaryFast(rowKey);
    // The buffer is LMDB's and reused by the next read: take what is needed now.
    const oldHash = old === undefined ? 0 : ringValueHash(old);
    const oldGoneAt = old === undefined ? undefined : ringValueGoneAt(old);
    const hash = versionHash(this.hash, key, record);
    const gone = goneAt(record);
    this.ring.putSync(rowKey, ringRowValue(hash, gone));
    // A ring row without goneAt is a value without a ttl; one with it has a purge row that says which.
    let wasLive = old !== undefined;
    if (oldGoneAt !== undefined) {
      const purgeKey = purgeRowKey(oldGoneAt, keyBytes);
      wasLive = this.purge.get(purgeKey)?.[2] === false;
      this.purge.removeSync(purgeKey);
    }
    if (gone !== undefined) this.purge.putSync(purgeRowKey(gone, keyBytes), [record.hlc, record.nodeId, record.tombstone]);
    this.buckets.note(ringBucketOf(token), oldHash ^ hash, old === undefined ? 1 : 0);
    return wasLive;
  }

  /** The key's record was removed. */
  removed(key: string): void {
    const keyBytes = Buffer.from(key, 'utf8');
    const token = this.hash(key);
    const rowKey = ringRowKey(token, keyBytes);
    const old = this.ring.getBinaryFast(rowKey);
    if (old === undefined) throw new Error(`the ring index has no row for the stored key ${JSON.stringify(key)}`);
    const oldHash = ringValueHash(old);
    const oldGoneAt = ringValueGoneAt(old);
    this.ring.removeSync(rowKey);
    if (oldGoneAt !== undefined) this.purge.removeSync(purgeRowKey(oldGoneAt, keyBytes));
    this.buckets.note(ringBucketOf(token), oldHash, -1);
  }

  /** Writes the transaction's bucket changes; `committed` mirrors them once the commit is done. */
  endTransaction(): BucketWrites | undefined {
    return this.buckets.end();
  }

  /** Bytes the next transaction adds beyond its writes' own: a snapshot of the bucket digests when one is due. */
  transactionExtraBytes(): number {
    return this.buckets.snapshotDue() ? ringBucketCount * 8 : 0;
  }

  committed(writes: BucketWrites | undefined): void {
    this.buckets.committed(writes);
  }

  // --- Building from the records (data format 3, lmdb-ring-build.ts) ---------------------

  /** Empties the index (in a write transaction): a build starts from nothing, even after a crash mid-build. */
  clear(): void {
    this.meta.removeSync(ringIndexBuiltName);
    this.ring.clearSync();
    this.purge.clearSync();
    this.buckets.clear();
  }

  /**
   * Adds a key the index does not hold yet, in a write transaction of a build. The bucket
   * changes stay in the delta table across the build's transactions: `finishBuild` writes them.
   */
  added(key: string, record: Pick<StoredRecord, 'hlc' | 'nodeId' | 'tombstone' | 'expiresAt'>): void {
    const keyBytes = Buffer.from(key, 'utf8');
    const token = this.hash(key);
    const hash = versionHash(this.hash, key, record);
    const gone = goneAt(record);
    this.ring.putSync(ringRowKey(token, keyBytes), ringRowValue(hash, gone));
    if (gone !== undefined) this.purge.putSync(purgeRowKey(gone, keyBytes), [record.hlc, record.nodeId, record.tombstone]);
    this.buckets.note(ringBucketOf(token), hash, 1);
  }

  /** The last transaction of a build: the bucket digests' snapshot and the mark that the index is complete. */
  finishBuild(): BucketWrites | undefined {
    const writes = this.buckets.end(true);
    this.meta.putSync(ringIndexBuiltName, ringIndexLayout);
    return writes;
  }

  // --- Reads -----------------------------------------------------------------------------

  /** The ring rows of the arc (start, end] in ring order, after the cursor, at most `limit`. */
  ringKeys(options: RingScanOptions): RingKeyEntry[] {
    const entries: RingKeyEntry[] = [];
    for (const span of spansFrom(options)) {
      const range = span.after === undefined ? { start: ringTokenStart(span.lo) } : { start: ringRowKey(span.after.token, Buffer.from(span.after.key, 'utf8')), exclusiveStart: true };
      for (const { key, value } of this.ring.getRange({ ...range, end: spanEnd(span.hi), limit: options.limit - entries.length })) {
        entries.push({ key: ringRowKeyText(key), token: ringRowToken(key), versionHash: ringValueHash(value) });
      }
      if (entries.length >= options.limit) break;
    }
    return entries;
  }

  summarize(start: number, end: number): RangeSummary {
    const cover = coverArc(start, end);
    let digest = 0;
    let keys = 0;
    for (const { first, last } of cover.buckets) {
      for (let bucket = first; bucket <= last; bucket++) {
        digest ^= this.buckets.digest(bucket);
        keys += this.buckets.keys(bucket);
      }
    }
    for (const edge of cover.edges) {
      for (const { value } of this.ring.getRange({ start: ringTokenStart(edge.lo), end: spanEnd(edge.hi) })) {
        digest ^= ringValueHash(value);
        keys++;
      }
    }
    return { digest: digest >>> 0, keys };
  }

  purgeable(options: PurgeableOptions): PurgeableEntry[] {
    const range =
      options.after === undefined ? {} : { start: purgeRowKey(options.after.goneAt, Buffer.from(options.after.key, 'utf8')), exclusiveStart: true };
    const end = Number.isFinite(options.below) && options.below <= Number.MAX_SAFE_INTEGER ? purgeTimeStart(Math.max(0, Math.ceil(options.below))) : undefined;
    const entries: PurgeableEntry[] = [];
    for (const { key, value } of this.purge.getRange({ ...range, end, limit: options.limit })) {
      entries.push({ key: purgeRowKeyText(key), goneAt: purgeRowGoneAt(key), hlc: value[0], nodeId: value[1], tombstone: value[2] });
    }
    return entries;
  }

  /** Tombstones stored: a walk of the purge list's values (tombstones and ttl values only). */
  tombstoneCount(): number {
    let count = 0;
    for (const { value } of this.purge.getRange({})) if (value[2]) count++;
    return count;
  }

  keyCount(): number {
    return this.buckets.keyCount();
  }
}

/** The arc's spans in walk order, the first one resuming after the cursor and those before it left out. */
function spansFrom(options: RingScanOptions): Array<TokenSpan & { after?: { token: number; key: string } }> {
  const spans = arcSpans(options.start, options.end);
  const { after } = options;
  if (after === undefined) return spans;
  const index = spans.findIndex((span) => after.token >= span.lo && after.token <= span.hi);
  if (index < 0) return [];
  return [{ ...(spans[index] as TokenSpan), after }, ...spans.slice(index + 1)];
}

/** The exclusive end of a span's rows: the first row of the next token, none past the top. */
function spanEnd(hi: number): Buffer | undefined {
  return hi === lastToken ? undefined : ringTokenStart(hi + 1);
}
