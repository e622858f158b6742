// The ring's 65,536 bucket digests (packages/core/src/storage/ring-order.ts), kept by the
// LMDB engine in step with its ring index. In memory they are one table (digest and key
// count per bucket, 512 KiB), which summaries read. On disk they are a snapshot of the
// table plus a log: each write transaction appends one row holding the buckets it changed
// (their new values, coalesced over the batch), and once the log holds about a table's
// worth of entries, a transaction writes a fresh snapshot and empties the log.
//
// Why not a row per bucket: the writes of a batch land in random buckets, so updating
// rows in place dirtied about one page of the bucket tree per write (measured: a fifth of
// the write throughput); an appended row dirties one or two pages per transaction, and a
// snapshot costs 128 pages once per ~65,536 bucket changes.
//
// Opening reads the snapshot and replays the log: no key is read.
import type { Database, RootDatabase } from 'lmdb';
import { ringBucketCount } from '@ringkv/core';

/** Bytes of one log entry: the bucket (2), its digest (4) and its key count (4). */
const logEntryBytes = 10;
const snapshotKey = 0;

/** What one transaction changed, to be mirrored in the table once it is committed. */
export interface BucketWrites {
  buckets: number[];
  digests: number[];
  counts: number[];
  /** The transaction wrote a snapshot and emptied the log. */
  snapshot: boolean;
}

export class LmdbBucketDigests {
  private readonly snapshots: Database<Buffer, number>;
  private readonly log: Database<Buffer, number>;
  /** The committed digests and key counts. */
  private readonly digests = new Uint32Array(ringBucketCount);
  private readonly counts = new Uint32Array(ringBucketCount);
  private total = 0;
  /** Changes of the transaction being built, and the buckets they touch. */
  private readonly digestDeltas = new Uint32Array(ringBucketCount);
  private readonly countDeltas = new Int32Array(ringBucketCount);
  private readonly isTouched = new Uint8Array(ringBucketCount);
  private touched: number[] = [];
  /** Committed log rows and the entries they hold. */
  private logRows = 0;
  private logEntries = 0;

  constructor(root: RootDatabase) {
    this.snapshots = root.openDB<Buffer, number>({ name: 'bucket-snapshot', keyEncoding: 'uint32', encoding: 'binary' });
    this.log = root.openDB<Buffer, number>({ name: 'bucket-log', keyEncoding: 'uint32', encoding: 'binary' });
  }

  trees(): Array<Pick<Database, 'getStats'>> {
    return [this.snapshots, this.log];
  }

  /** Reads the snapshot and replays the log into the table. */
  load(): void {
    this.reset();
    const snapshot = this.snapshots.get(snapshotKey);
    if (snapshot !== undefined) {
      const words = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.length);
      for (let bucket = 0; bucket < ringBucketCount; bucket++) {
        this.digests[bucket] = words.getUint32(bucket * 8);
        this.counts[bucket] = words.getUint32(bucket * 8 + 4);
      }
    }
    for (const { key, value } of this.log.getRange({})) {
      const entries = new DataView(value.buffer, value.byteOffset, value.length);
      for (let offset = 0; offset < value.length; offset += logEntryBytes) {
        const bucket = entries.getUint16(offset);
        this.digests[bucket] = entries.getUint32(offset + 2);
        this.counts[bucket] = entries.getUint32(offset + 6);
      }
      this.logRows = Math.max(this.logRows, key);
      this.logEntries += value.length / logEntryBytes;
    }
    for (let bucket = 0; bucket < ringBucketCount; bucket++) this.total += this.counts[bucket] as number;
  }

  digest(bucket: number): number {
    return this.digests[bucket] as number;
  }

  keys(bucket: number): number {
    return this.counts[bucket] as number;
  }

  keyCount(): number {
    return this.total;
  }

  /** Starts a transaction's changes (dropping those of one that never reached its end). */
  begin(): void {
    for (const bucket of this.touched) {
      this.digestDeltas[bucket] = 0;
      this.countDeltas[bucket] = 0;
      this.isTouched[bucket] = 0;
    }
    this.touched = [];
  }

  /** A key of `bucket` changed: its version hash XORs in `digestDelta`, and the bucket gains `countDelta` keys. */
  note(bucket: number, digestDelta: number, countDelta: number): void {
    if (this.isTouched[bucket] === 0) {
      this.isTouched[bucket] = 1;
      this.touched.push(bucket);
    }
    this.digestDeltas[bucket] = ((this.digestDeltas[bucket] as number) ^ digestDelta) >>> 0;
    this.countDeltas[bucket] = (this.countDeltas[bucket] as number) + countDelta;
  }

  /** Buckets changed so far by the transaction being built. */
  touchedCount(): number {
    return this.touched.length;
  }

  /** True when the next transaction writes a snapshot (write-size.ts counts it). */
  snapshotDue(): boolean {
    return this.logEntries >= ringBucketCount;
  }

  /**
   * Writes the transaction's changes, in it: one log row, or a snapshot when one is due
   * (or `snapshot` asks). `committed` mirrors them once the commit is done.
   */
  end(snapshot = this.snapshotDue()): BucketWrites | undefined {
    if (this.touched.length === 0 && !snapshot) return undefined;
    const writes: BucketWrites = { buckets: [], digests: [], counts: [], snapshot };
    for (const bucket of this.touched) {
      const digest = ((this.digests[bucket] as number) ^ (this.digestDeltas[bucket] as number)) >>> 0;
      const count = (this.counts[bucket] as number) + (this.countDeltas[bucket] as number);
      if (count < 0 || (count === 0 && digest !== 0)) throw new Error(`ring bucket ${bucket} would hold ${count} keys with digest ${digest}`);
      writes.buckets.push(bucket);
      writes.digests.push(digest);
      writes.counts.push(count);
    }
    if (snapshot) this.writeSnapshot(writes);
    else this.log.putSync(this.logRows + 1, logRow(writes));
    this.begin();
    return writes;
  }

  committed(writes: BucketWrites | undefined): void {
    if (writes === undefined) return;
    for (let i = 0; i < writes.buckets.length; i++) {
      const bucket = writes.buckets[i] as number;
      this.total += (writes.counts[i] as number) - (this.counts[bucket] as number);
      this.digests[bucket] = writes.digests[i] as number;
      this.counts[bucket] = writes.counts[i] as number;
    }
    if (writes.snapshot) {
      this.logRows = 0;
      this.logEntries = 0;
    } else {
      this.logRows++;
      this.logEntries += writes.buckets.length;
    }
  }

  /** Empties the digests, in a write transaction (a build starts from nothing). */
  clear(): void {
    this.snapshots.clearSync();
    this.log.clearSync();
    this.begin();
    this.reset();
  }

  private writeSnapshot(writes: BucketWrites): void {
    const table = Buffer.allocUnsafe(ringBucketCount * 8);
    for (let bucket = 0; bucket < ringBucketCount; bucket++) {
      table.writeUInt32BE(this.digests[bucket] as number, bucket * 8);
      table.writeUInt32BE(this.counts[bucket] as number, bucket * 8 + 4);
    }
    for (let i = 0; i < writes.buckets.length; i++) {
      const bucket = writes.buckets[i] as number;
      table.writeUInt32BE(writes.digests[i] as number, bucket * 8);
      table.writeUInt32BE(writes.counts[i] as number, bucket * 8 + 4);
    }
    this.snapshots.putSync(snapshotKey, table);
    this.log.clearSync();
  }

  private reset(): void {
    this.digests.fill(0);
    this.counts.fill(0);
    this.total = 0;
    this.logRows = 0;
    this.logEntries = 0;
  }
}

function logRow(writes: BucketWrites): Buffer {
  const row = Buffer.allocUnsafe(writes.buckets.length * logEntryBytes);
  for (let i = 0; i < writes.buckets.length; i++) {
    row.writeUInt16BE(writes.buckets[i] as number, i * logEntryBytes);
    row.writeUInt32BE(writes.digests[i] as number, i * logEntryBytes + 2);
    row.writeUInt32BE(writes.counts[i] as number, i * logEntryBytes + 6);
  }
  return row;
}
