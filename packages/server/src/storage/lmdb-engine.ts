// The default Engine: LMDB through lmdb-js (docs/design.md, "Storage"). Writes are committed in
// batches, one transaction per event-loop turn. The merge in `apply` must see writes still
// being committed, so records in flight are kept in `pending` until their commit is done.
//
// Durability: a resolved `apply` is committed. By default commits are not fsynced: they
// sit in the OS page cache, which survives a crash of this process but not of the machine.
// With `durable`, `apply` also waits until the batch is flushed to disk (lmdb-js flushes
// after the commit, off the main thread), which survives power loss.
//
// A full disk (docs/architecture.md, "Disk full"): every commit, of records, hints or the
// node's own numbers, runs synchronously in `transact`, which first makes sure the data
// file has room for what the commit can add (data-file-reserve.ts) and refuses it with a
// StorageFullError when the disk has none. LMDB's write map is off: a page it could not
// back would end the process with SIGBUS. Other disk errors stop writes (`failed`).
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import {
  compareUtf8,
  diskFreeMarginBytes,
  JsonText,
  liveDelta,
  lmdbMapBytesDefault,
  storageProbeIntervalMsDefault,
  storageReserveBytesDefault,
  StorageFailedError,
  StorageFullError,
  supersedes,
  type ApplyOutcome,
  type HintLimits,
  type Engine,
  type KeyVersion,
  type ScanEntry,
  type ScanOptions,
  type StoredRecord,
} from '@ringkv/core';
import { DataFileReserve, filesystemSpace, type FilesystemSpace } from './data-file-reserve.js';
import { diskErrorKind, isIoError } from './disk-errors.js';
import { DiskState, type DiskStateEvents, type StorageStatus } from './disk-state.js';
import { LmdbHintStore } from './lmdb-hint-store.js';
import { estimateRecordBytes, pagesPerCommit, pagesPerWrite, removalNeedBytes } from './write-size.js';

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

/** Runs one write transaction. The engine's is lmdb-js's `transactionSync`; a test wraps it to inject disk faults. */
export type TransactionRunner = (work: () => void) => void;

/**
 * Who a write is for. Client writes (records, hints) are refused while the disk is full;
 * upkeep (removing delivered hints, discarding moved keys, the node's small numbers) may
 * still use the space already reserved, since most of it frees space.
 */
export type WriteKind = 'client' | 'upkeep';

/** What the hint store needs from the engine: its transactions. */
export interface LmdbWriter {
  /** Runs `work` in this turn's write transaction; resolves once it is committed. */
  write(work: () => void, needBytes: number, kind: WriteKind): Promise<void>;
  readonly pageBytes: number;
  isOpen(): boolean;
}

export interface LmdbEngineOptions {
  path: string;
  /** Wait for each batch to be flushed to disk before acknowledging it. */
  durable: boolean;
  /** LMDB's initial map; lmdb-js grows it to twice the used size before a write passes its end. */
  mapBytes?: number;
  /** Space kept allocated ahead of LMDB in its data file (data-file-reserve.ts). */
  reserveBytes?: number;
  /** While the disk is full, how often to check whether space has returned. */
  probeIntervalMs?: number;
  /** Told once per change of storage state, and of each client write refused for it. */
  events?: DiskStateEvents & { writeRefused?(): void };
  /** Test seam: wraps the transaction runner to inject disk faults (an I/O error, a full disk). */
  wrapTransaction?: (run: TransactionRunner) => TransactionRunner;
  /** Test seam: the filesystem's free space. */
  space?: (path: string) => FilesystemSpace;
}


interface QueuedWrite {
  work: () => void;
  needBytes: number;
  kind: WriteKind;
  done(error?: unknown): void;
}

export class LmdbEngine implements Engine, LmdbWriter {
  readonly kind = 'lmdb' as const;
  readonly pageBytes: number;
  private readonly root: RootDatabase;
  private readonly records: Database<StoredRow, string>;
  private readonly meta: Database<unknown, string>;
  private readonly pending = new Map<string, StoredRecord>();
  private readonly durable: boolean;
  private readonly path: string;
  private readonly disk: DiskState;
  private readonly reserve: DataFileReserve;
  private readonly reserveBytes: number;
  private readonly runTransaction: TransactionRunner;
  private readonly space: (path: string) => FilesystemSpace;
  private readonly onWriteRefused: (() => void) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private live = 0;
  private batch: QueuedWrite[] = [];
  private batchScheduled = false;
  private closed = false;

  private constructor(options: LmdbEngineOptions) {
    this.durable = options.durable;
    this.path = options.path;
    this.space = options.space ?? filesystemSpace;
    this.reserveBytes = options.reserveBytes ?? storageReserveBytesDefault;
    this.onWriteRefused = options.events?.writeRefused;
    // No write map, in either mode: see the header. Without `durable`, commits are not
    // fsynced: a committed write is in the OS page cache and survives a crash of this
    // process (not of the machine).
    this.root = open({
      path: options.path,
      compression: false,
      noSync: !options.durable,
      useWritemap: false,
      mapSize: options.mapBytes ?? lmdbMapBytesDefault,
    });
    this.records = this.root.openDB<StoredRow, string>({ name: 'records' });
    this.meta = this.root.openDB<unknown, string>({ name: 'meta' });
    this.pageBytes = (this.root.getStats() as { pageSize: number }).pageSize;
    const base: TransactionRunner = (work) => this.root.transactionSync(work);
    this.runTransaction = options.wrapTransaction ? options.wrapTransaction(base) : base;
    const probeIntervalMs = options.probeIntervalMs ?? storageProbeIntervalMsDefault;
    this.disk = new DiskState(() => Date.now(), probeIntervalMs, {
      changed: (status, previous) => {
        this.watchForSpace(status, probeIntervalMs);
        options.events?.changed?.(status, previous);
      },
    });
    this.reserve = new DataFileReserve(
      { filePath: join(options.path, 'data.mdb'), reserveBytes: this.reserveBytes, marginBytes: diskFreeMarginBytes, pageBytes: this.pageBytes, space: this.space },
      this.usedEndBytes(),
    );
  }

  /**
   * Opens (or creates) the store, counts its live keys and reserves space ahead. Opening
   * needs no free space on a store that exists: a node restarted on a full disk starts,
   * serves reads and refuses writes until space returns.
   */
  static async open(options: LmdbEngineOptions): Promise<LmdbEngine> {
    const engine = new LmdbEngine(options);
    for (const { value } of engine.records.getRange({})) if (value[2] !== rowTombstone) engine.live++;
    try {
      engine.admit(pagesPerCommit * engine.pageBytes, 'client');
    } catch (error) {
      // Full already: the node starts anyway, and its state says why it refuses writes.
      if (!(error instanceof StorageFullError)) throw error;
    }
    return engine;
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    return this.read(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    // Read and claim synchronously: no other apply may run between the compare and the set.
    const current = this.pending.get(key) ?? this.read(key);
    if (!supersedes(record, current)) return { applied: false, current: current as StoredRecord };
    const refusal = this.disk.refusal();
    if (refusal !== undefined) {
      this.onWriteRefused?.();
      throw refusal;
    }
    this.pending.set(key, record);
    this.live += liveDelta(current, record);
    try {
      const row = toRow(record);
      await this.write(() => this.records.putSync(key, row), estimateRecordBytes(key, record) + pagesPerWrite * this.pageBytes, 'client');
    } catch (error) {
      this.live -= liveDelta(current, record);
      if (error instanceof StorageFullError || error instanceof StorageFailedError) this.onWriteRefused?.();
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
    // Removing rewrites the leaves it touches (copy on write): it needs pages too.
    this.transact(
      () => {
        for (const { key, hlc, nodeId } of entries) {
          if (this.pending.has(key)) continue; // a newer write is being committed
          const row = this.records.get(key);
          if (row === undefined || row[0] !== hlc || row[1] !== nodeId) continue;
          this.records.removeSync(key);
          removed.push({ key, record: fromRow(row) });
        }
      },
      removalNeedBytes(this.records, entries.length, this.pageBytes),
      'upkeep',
    );
    for (const { record } of removed) if (!record.tombstone) this.live--;
    if (this.durable) await this.flushed();
    return removed;
  }

  /** Queues `work` for this turn's transaction (LmdbWriter). */
  write(work: () => void, needBytes: number, kind: WriteKind): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batch.push({ work, needBytes, kind, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (this.batchScheduled) return;
      this.batchScheduled = true;
      setImmediate(() => void this.commitBatch());
    });
  }

  /** Commits the turn's writes in one transaction; client writes are refused while the disk is full. */
  private async commitBatch(): Promise<void> {
    let batch = this.batch;
    this.batch = [];
    this.batchScheduled = false;
    if (this.closed) {
      for (const item of batch) item.done(new Error('the LMDB engine is closed'));
      return;
    }
    const refusal = this.disk.refusal();
    if (refusal !== undefined) {
      for (const item of batch) if (item.kind === 'client' || refusal instanceof StorageFailedError) item.done(refusal);
      batch = batch.filter((item) => item.kind === 'upkeep' && !(refusal instanceof StorageFailedError));
      if (batch.length === 0) return;
    }
    let needBytes = pagesPerCommit * this.pageBytes;
    for (const item of batch) needBytes += item.needBytes;
    try {
      this.transact(
        () => {
          for (const item of batch) item.work();
        },
        needBytes,
        batch.some((item) => item.kind === 'client') ? 'client' : 'upkeep',
      );
      if (this.durable) await this.flushed();
    } catch (error) {
      for (const item of batch) item.done(error);
      return;
    }
    for (const item of batch) item.done();
  }

  /**
   * Runs one write transaction once the data file has room for `needBytes` more, and turns
   * what the disk throws into StorageFullError or StorageFailedError. Synchronous: nothing
   * else writes between the check and the commit.
   */
  private transact(work: () => void, needBytes: number, kind: WriteKind): void {
    this.admit(needBytes, kind);
    try {
      this.runTransaction(work);
    } catch (error) {
      throw this.storageError(error);
    } finally {
      if (!this.closed) this.reserve.noteUsed(this.usedEndBytes());
    }
  }

  /** Makes room for `needBytes` or throws StorageFullError (and marks the store full). */
  private admit(needBytes: number, kind: WriteKind): void {
    if (this.disk.state === 'failed') throw this.disk.refusal() as StorageFailedError;
    let room: boolean;
    try {
      room = this.reserve.ensure(this.usedEndBytes(), needBytes);
    } catch (error) {
      throw this.storageError(error);
    }
    if (room) {
      // Upkeep fits in what was reserved before: only a client write shows that space returned.
      if (kind === 'client') this.disk.markOk();
      return;
    }
    this.disk.markFull(`${this.freeText()} free, a write needs ${needBytes} bytes more than the ${this.reserve.headroomBytes(this.usedEndBytes())} reserved`);
    throw this.disk.fullError();
  }

  /** Maps an error from LMDB or the filesystem to the typed error the replica answers with. */
  private storageError(error: unknown): unknown {
    if (error instanceof StorageFullError || error instanceof StorageFailedError) return error;
    const kind = diskErrorKind(error);
    const message = error instanceof Error ? error.message : String(error);
    // LMDB reports a short write on a full filesystem as EIO.
    if (kind === 'full' || (kind === 'failed' && isIoError(error) && this.freeBytes() < this.reserveBytes)) {
      this.disk.markFull(message);
      return this.disk.fullError();
    }
    if (kind === 'failed') {
      this.disk.markFailed(message);
      return this.disk.refusal();
    }
    return error;
  }

  /** While full, check on a timer whether space has returned, so an idle node recovers too. */
  private watchForSpace(status: StorageStatus, probeIntervalMs: number): void {
    if (status.state !== 'full') {
      if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      return;
    }
    this.probeTimer ??= setInterval(() => this.probe(), probeIntervalMs);
    this.probeTimer.unref();
  }

  /** Space has returned when the reserve can be filled again. */
  private probe(): void {
    if (this.closed || this.disk.state !== 'full') return;
    try {
      if (this.reserve.ensure(this.usedEndBytes(), Math.min(this.reserveBytes, 4 * 1024 * 1024))) this.disk.markOk();
    } catch (error) {
      this.storageError(error);
    }
  }

  private flushed(): Promise<void> {
    return Promise.resolve(this.root.flushed).then(
      () => undefined,
      (error: unknown) => {
        throw this.storageError(error);
      },
    );
  }

  /** Where LMDB's last page ends (its newest meta). */
  private usedEndBytes(): number {
    const info = (this.root as unknown as { env: { info(): { lastPageNumber: number } } }).env.info();
    return (info.lastPageNumber + 1) * this.pageBytes;
  }

  private freeBytes(): number {
    try {
      return this.space(this.path).freeBytes;
    } catch {
      return 0;
    }
  }

  private freeText(): string {
    return `${Math.round(this.freeBytes() / 1024)} KiB`;
  }

  private read(key: string): StoredRecord | undefined {
    this.assertOpen();
    const row = this.records.get(key);
    return row === undefined ? undefined : fromRow(row);
  }

  /** Whether writes are taken, and why not. */
  storageStatus(): StorageStatus {
    return this.disk.snapshot();
  }

  /** Bytes LMDB uses, the file's reserve ahead of it, and commits that outgrew the reserve. */
  storageUsage(): { dataBytes: number; reservedBytes: number; reserveOverruns: number } {
    if (this.closed) return { dataBytes: 0, reservedBytes: 0, reserveOverruns: this.reserve.overrunCount };
    const used = this.usedEndBytes();
    return { dataBytes: used, reservedBytes: this.reserve.headroomBytes(used), reserveOverruns: this.reserve.overrunCount };
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

  /** Resolves true once written; rejects (StorageFullError, ...) when it could not be. */
  async writeMeta(name: string, value: unknown): Promise<boolean> {
    this.assertOpen();
    const needBytes = estimateRecordBytes(name, { hlc: 0, nodeId: '', tombstone: false, value }) + pagesPerWrite * this.pageBytes;
    await this.write(() => (value === undefined ? this.meta.removeSync(name) : this.meta.putSync(name, value)), needBytes, 'upkeep');
    return true;
  }

  /** The durable hint store kept in this environment. */
  openHintStore(limits?: HintLimits): LmdbHintStore {
    return new LmdbHintStore(this.root, this, limits);
  }

  isOpen(): boolean {
    return !this.closed;
  }

  liveCount(): number {
    return this.live;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.reserve.close();
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
