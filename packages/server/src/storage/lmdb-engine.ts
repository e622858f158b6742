// The default Engine: LMDB through lmdb-js (DESIGN.md, "Storage"). Writes are committed in
// batches, one transaction per event-loop turn. The merge in `apply` must see writes still
// being committed, so records in flight are kept in `pending` until their commit is done.
//
// Durability: a resolved `apply` is committed. By default commits are not fsynced: they
// sit in the OS page cache, which survives a crash of this process but not of the machine,
// and each turn's batch is committed synchronously (a non-synced commit takes microseconds,
// far less than handing it to lmdb-js's writer thread and waiting for the answer). With
// `durable`, writes go through lmdb-js's asynchronous batching and `apply` waits until the
// batch is flushed to disk, which survives power loss.
import { open, type Database, type RootDatabase } from 'lmdb';
import {
  compareUtf8,
  JsonText,
  liveDelta,
  supersedes,
  type ApplyOutcome,
  type HintLimits,
  type Engine,
  type KeyVersion,
  type ScanEntry,
  type ScanOptions,
  type StoredRecord,
} from '@ringkv/core';
import { LmdbHintStore } from './lmdb-hint-store.js';

/**
 * Records are stored as compact arrays: [hlc, nodeId, 1] for tombstones, [hlc, nodeId, 0,
 * value] for values, and [hlc, nodeId, 2, text] for a value carried as JSON text (one that
 * holds a "__proto__" key, which lmdb-js's MessagePack would rename; see
 * packages/core/src/storage/json-text.ts).
 */
type StoredRow = [number, string, typeof rowValue, unknown] | [number, string, typeof rowTombstone] | [number, string, typeof rowJsonText, string];

const rowValue = 0;
const rowTombstone = 1;
const rowJsonText = 2;

export interface LmdbEngineOptions {
  path: string;
  /** Wait for each batch to be flushed to disk before acknowledging it. */
  durable: boolean;
}

export class LmdbEngine implements Engine {
  readonly kind = 'lmdb' as const;
  private readonly root: RootDatabase;
  private readonly records: Database<StoredRow, string>;
  private readonly meta: Database<unknown, string>;
  private readonly pending = new Map<string, StoredRecord>();
  private readonly durable: boolean;
  private live = 0;
  private batch: Array<{ key: string; record: StoredRecord; done(error?: unknown): void }> = [];
  private batchScheduled = false;
  private closed = false;

  private constructor(options: LmdbEngineOptions) {
    this.durable = options.durable;
    // Without durable mode, commits are not fsynced: a committed write is in the OS page
    // cache and survives a crash of this process (not of the machine).
    this.root = open({ path: options.path, compression: false, noSync: !options.durable, useWritemap: !options.durable });
    this.records = this.root.openDB<StoredRow, string>({ name: 'records' });
    this.meta = this.root.openDB<unknown, string>({ name: 'meta' });
  }

  /** Opens (or creates) the store and counts its live keys. */
  static async open(options: LmdbEngineOptions): Promise<LmdbEngine> {
    const engine = new LmdbEngine(options);
    for (const { value } of engine.records.getRange({})) if (value[2] !== rowTombstone) engine.live++;
    return engine;
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    return this.read(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    // Read and claim synchronously: no other apply may run between the compare and the set.
    const current = this.pending.get(key) ?? this.read(key);
    if (!supersedes(record, current)) return { applied: false, current: current as StoredRecord };
    this.pending.set(key, record);
    this.live += liveDelta(current, record);
    try {
      if (this.durable) {
        await this.records.put(key, toRow(record));
        await this.root.flushed;
      } else {
        await this.commitInBatch(key, record);
      }
    } catch (error) {
      this.live -= liveDelta(current, record);
      throw error;
    } finally {
      if (this.pending.get(key) === record) this.pending.delete(key);
    }
    return { applied: true, current: record, previous: current };
  }

  async scan(options: ScanOptions): Promise<ScanEntry[]> {
    this.assertOpen();
    const prefix = options.prefix ?? '';
    const start = options.after !== undefined && compareUtf8(options.after, prefix) >= 0 ? options.after : prefix;
    const entries: ScanEntry[] = [];
    for (const { key, value } of this.records.getRange({ start: start === '' ? undefined : start })) {
      if (options.after !== undefined && key === options.after) continue;
      if (!key.startsWith(prefix)) break;
      entries.push({ key, record: fromRow(value) });
      if (entries.length >= options.limit) break;
    }
    return entries;
  }

  async discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    this.assertOpen();
    const removed: ScanEntry[] = [];
    this.root.transactionSync(() => {
      for (const { key, hlc, nodeId } of entries) {
        if (this.pending.has(key)) continue; // a newer write is being committed
        const row = this.records.get(key);
        if (row === undefined || row[0] !== hlc || row[1] !== nodeId) continue;
        this.records.removeSync(key);
        removed.push({ key, record: fromRow(row) });
      }
    });
    for (const { record } of removed) if (!record.tombstone) this.live--;
    if (this.durable) await this.root.flushed;
    return removed;
  }

  /** Queues a write for this turn's transaction. */
  private commitInBatch(key: string, record: StoredRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batch.push({ key, record, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (this.batchScheduled) return;
      this.batchScheduled = true;
      setImmediate(() => this.commitBatch());
    });
  }

  private commitBatch(): void {
    const batch = this.batch;
    this.batch = [];
    this.batchScheduled = false;
    if (this.closed) {
      for (const item of batch) item.done(new Error('the LMDB engine is closed'));
      return;
    }
    try {
      this.root.transactionSync(() => {
        for (const item of batch) this.records.putSync(item.key, toRow(item.record));
      });
    } catch (error) {
      for (const item of batch) item.done(error);
      return;
    }
    for (const item of batch) item.done();
  }

  private read(key: string): StoredRecord | undefined {
    this.assertOpen();
    const row = this.records.get(key);
    return row === undefined ? undefined : fromRow(row);
  }

  /** A number the node keeps beside its data (such as its clock's high-water mark). */
  readNumber(name: string): number | undefined {
    const value = this.readMeta(name);
    return typeof value === 'number' ? value : undefined;
  }

  writeNumber(name: string, value: number): Promise<boolean> {
    return this.writeMeta(name, value);
  }

  /** Any small value the node keeps beside its data (job checkpoints, the tombstone watermark). */
  readMeta(name: string): unknown {
    this.assertOpen();
    return this.meta.get(name);
  }

  writeMeta(name: string, value: unknown): Promise<boolean> {
    this.assertOpen();
    return value === undefined ? this.meta.remove(name) : this.meta.put(name, value);
  }

  /** The durable hint store kept in this environment. */
  openHintStore(limits?: HintLimits): LmdbHintStore {
    return new LmdbHintStore(this.root, limits, () => !this.closed);
  }

  liveCount(): number {
    return this.live;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.root.close();
  }

  /** Background work (anti-entropy, hints) may still run while a node stops: fail it cleanly. */
  private assertOpen(): void {
    if (this.closed) throw new Error('the LMDB engine is closed');
  }
}

function toRow(record: StoredRecord): StoredRow {
  if (record.tombstone) return [record.hlc, record.nodeId, rowTombstone];
  if (record.value instanceof JsonText) return [record.hlc, record.nodeId, rowJsonText, record.value.text];
  return [record.hlc, record.nodeId, rowValue, record.value];
}

function fromRow(row: StoredRow): StoredRecord {
  switch (row[2]) {
    case rowTombstone:
      return { hlc: row[0], nodeId: row[1], tombstone: true, value: undefined };
    case rowJsonText:
      return { hlc: row[0], nodeId: row[1], tombstone: false, value: new JsonText(row[3]) };
    default:
      return { hlc: row[0], nodeId: row[1], tombstone: false, value: row[3] };
  }
}
