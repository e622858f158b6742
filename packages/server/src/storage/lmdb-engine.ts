// The default Engine: LMDB through lmdb-js (docs/design.md, "Storage"). Writes are committed in
// batches, one transaction at a time, through lmdb-js's asynchronous transactions: the
// batch's puts run on the main thread inside a write transaction that lmdb-js's write thread
// opened, and that thread commits it (writing the pages out), so a commit of many MiB no
// longer stops the event loop: reads and other requests go on meanwhile (issue 13, a 1 MiB
// PUT flood). While one batch commits, the next collects. The merge in `apply` must see
// writes still being committed, so records in flight are kept in `pending` until their
// commit is done (every one of a key's, not only its newest: see `pending`).
//
// Durability: a resolved `apply` is committed. By default commits are not fsynced: they
// sit in the OS page cache, which survives a crash of this process but not of the machine.
// With `durable`, `apply` also waits until the batch is flushed to disk (lmdb-js flushes
// after the commit, off the main thread), which survives power loss.
//
// A full disk (docs/architecture.md, "Disk full"): every commit, of records, hints or the
// node's own numbers, goes through `transact`, which first makes sure the data file has
// room for what the commit can add (data-file-reserve.ts) and refuses it with a
// StorageFullError when the disk has none. Only one commit is in flight at a time, so the
// pages it may add are the only ones past LMDB's end while the reserve is checked or
// grown. LMDB's write map is off: a page it could not back would end the process with
// SIGBUS. Other disk errors stop writes (`failed`).
//
// Ring order (docs/design.md, "Storage"; lmdb-ring-index.ts): every change of `records`
// also changes the ring index, bucket digests and purge list in the same transaction, so a
// crash cannot leave them apart. A store without a complete index (data format 2 or older)
// gets one built on open (lmdb-ring-build.ts).
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import {
  compareUtf8,
  diskFreeMarginBytes,
  lmdbBatchRecordsPerCommit,
  lmdbCommitBytesMaxDefault,
  lmdbOnLoopCommitBytesMax,
  lmdbMapBytesDefault,
  storageProbeIntervalMsDefault,
  storageReserveBytesDefault,
  StorageFailedError,
  StorageFullError,
  supersedes,
  type ApplyOutcome,
  type HintLimits,
  type Engine,
  type KeyHasher,
  type KeyVersion,
  type PurgeableEntry,
  type PurgeableOptions,
  type RangeSummary,
  type RingKeyEntry,
  type RingOrderedEngine,
  type RingScanEntry,
  type RingScanOptions,
  type ScanEntry,
  type ScanOptions,
  type StoredRecord,
} from '@ringkv/core';
import { DataFileReserve, filesystemSpace, type FilesystemSpace } from './data-file-reserve.js';
import { diskErrorKind, isIoError } from './disk-errors.js';
import { DiskState, type DiskStateEvents, type StorageStatus } from './disk-state.js';
import { LmdbChangeStore } from './lmdb-change-store.js';
import { LmdbHintStore } from './lmdb-hint-store.js';
import { buildRingIndex, type ProgressLog } from './lmdb-ring-build.js';
import type { BucketWrites } from './lmdb-bucket-digests.js';
import { LmdbRingIndex } from './lmdb-ring-index.js';
import { recordToRow, rowToRecord, rowVersionOf, type RecordRow, type RowVersion } from './record-rows.js';
import { estimateRecordBytes, insertionNeedBytes, pagesPerCommit, pagesPerWrite, recordPutBytes, removalNeedBytes, ringIndexWriteBytes } from './write-size.js';

/**
 * Records are stored as compact arrays (record-rows.ts): a value carried as JSON text (one
 * that holds a "__proto__" key, which lmdb-js's MessagePack would rename; see
 * packages/core/src/storage/json-text.ts) is kept as its text.
 */

/**
 * Runs `work` in one write transaction and resolves once it is committed: on the main
 * thread (`onLoop`, lmdb-js's `transactionSync`) or committed by lmdb-js's write thread
 * (an asynchronous `childTransaction`). Either way nothing of `work` is kept if it
 * throws. A test wraps it to inject disk faults.
 */
export type TransactionRunner = (work: () => void, onLoop: boolean) => Promise<void>;

/**
 * How the environment is opened. Every write goes through a transaction of the engine's,
 * so lmdb-js's batching of plain writes per event-loop turn is off: with it on, each
 * turn's batch began with a write instruction whose promise nobody holds, and a commit
 * that failed (an I/O error, or an error of LMDB's own, such as "reserved freelist had a
 * data entry with zero-size" seen in a benchmark's cleanup) rejected that promise too and
 * ended the process, though the engine had handled the failure.
 */
export function lmdbRootOptions(path: string, durable: boolean, mapBytes: number) {
  return { path, compression: false, noSync: !durable, useWritemap: false, mapSize: mapBytes, eventTurnBatching: false } as const;
}

/** How long to wait for the LMDB error behind an lmdb-js "Commit failed" (it follows at once). */
const commitErrorWaitMs = 1000;


/**
 * Who a write is for. Client writes (records, hints) are refused while the disk is full;
 * upkeep (removing delivered hints, discarding moved keys, the node's small numbers) may
 * still use the space already reserved, since most of it frees space.
 */
export type WriteKind = 'client' | 'upkeep';

/** How a write is queued and judged (LmdbWriter.write). */
export interface WriteOptions {
  /** The bound on the space its transaction may take: the disk check's, and the commit bound's. */
  needBytes: number;
  kind: WriteKind;
  /** 'in-order' (the default) shares a transaction with the turn's writes; 'after-clients' commits alone. */
  turn?: WriteTurn;
  /** What it puts (records and index rows), which decides whether it commits on the event loop; `needBytes` by default. */
  dataBytes?: number;
  /**
   * Called once its transaction is committed, before any write of it is answered:
   * in-memory counts of what the work changed follow the disk there, not a guess made
   * before it ran.
   */
  committed?: () => void;
}

/** What the hint store needs from the engine: its transactions. */
export interface LmdbWriter {
  /** Runs `work` in the next write transaction; resolves once it is committed. */
  write(work: () => void, options: WriteOptions): Promise<void>;
  readonly pageBytes: number;
  isOpen(): boolean;
}

export interface LmdbEngineOptions {
  path: string;
  /** The ring's key hasher (ring/hash.ts): a key's token, and its version hashes, in the ring index. */
  hash: KeyHasher;
  /**
   * Rebuild the ring index even if it is marked complete: the directory's format marker
   * (data-format.ts) says a release without the index may have written to it since.
   */
  rebuildRingIndex?: boolean;
  /** Where the progress of a ring index build goes. */
  log?: ProgressLog;
  /** Test seam: records per transaction of a ring index build (ringIndexBuildKeysPerCommit). */
  buildKeysPerCommit?: number;
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
  /** Bytes one commit takes from the queue (at least one write); lmdbCommitBytesMaxDefault. */
  commitBytesMax?: number;
}


interface QueuedWrite {
  work: () => void;
  /** The most the write can grow the data file by (pages included): what the disk must have room for. */
  needBytes: number;
  /** The bytes it puts (records and their index rows): what decides whether its commit may run on the event loop. */
  dataBytes: number;
  kind: WriteKind;
  /** Called once the transaction that ran `work` is committed (whether or not `work` threw). */
  committed: (() => void) | undefined;
  done(error?: unknown): void;
}

/**
 * When a queued write commits: with the writes before it, or after every write queued by a
 * client (a background batch of many records, which would hold a client's write up for
 * the length of its commit).
 */
export type WriteTurn = 'in-order' | 'after-clients';

/** A record `apply` or `applyBatch` claimed (in `pending`) over what the key held. */
interface ClaimedWrite {
  key: string;
  record: StoredRecord;
  /** The key held nothing and had no write in flight when this one was claimed. */
  fresh: boolean;
}

/** Pages of the change log's tree a batch can touch: its entries are appended at its end. */
const changeLogPathPages = 4;

export class LmdbEngine implements Engine, RingOrderedEngine, LmdbWriter {
  readonly kind = 'lmdb' as const;
  readonly pageBytes: number;
  private readonly root: RootDatabase;
  private readonly records: Database<RecordRow, string>;
  private readonly meta: Database<unknown, string>;
  private readonly index: LmdbRingIndex;
  /**
   * Per key, the records claimed by writes not yet settled, oldest first (each claimed over
   * the one before it). All of them, not only the newest, because writes of a key may
   * commit out of claim order and may fail: when the newest fails, an older one may still
   * commit, so a later write must be merged against that one; and a discard must not
   * remove the version stored while an older write of the key may still be put after it.
   */
  private readonly pending = new Map<string, StoredRecord[]>();
  /** Claimed records another write of their key was claimed over since (whether it committed or not). */
  private readonly overtaken = new WeakSet<StoredRecord>();
  private readonly durable: boolean;
  private readonly path: string;
  private readonly disk: DiskState;
  private readonly reserve: DataFileReserve;
  private readonly reserveBytes: number;
  private readonly runTransaction: TransactionRunner;
  private readonly space: (path: string) => FilesystemSpace;
  private readonly onWriteRefused: (() => void) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  /** What the last commit refused for want of space needed: space has returned once that fits. */
  private refusedNeedBytes = 0;
  private live = 0;
  private changeStore: LmdbChangeStore | undefined;
  private batch: QueuedWrite[] = [];
  /** Writes that wait until no write of `batch` is queued (WriteTurn 'after-clients'). */
  private afterClients: QueuedWrite[] = [];
  /** Commits of other writes while `afterClients` waited (it goes after one). */
  private clientCommitsWaited = 0;
  private readonly commitBytesMax: number;
  /** Estimated bytes of the writes queued or being committed (`queuedBytes`). */
  private queuedNeedBytes = 0;
  /** Set while batches are being committed one after another; unset once none is left. */
  private committing: Promise<void> | undefined;
  private closed = false;

  private constructor(options: LmdbEngineOptions) {
    this.durable = options.durable;
    this.path = options.path;
    this.space = options.space ?? filesystemSpace;
    this.reserveBytes = options.reserveBytes ?? storageReserveBytesDefault;
    this.onWriteRefused = options.events?.writeRefused;
    this.commitBytesMax = options.commitBytesMax ?? lmdbCommitBytesMaxDefault;
    // No write map, in either mode: see the header. Without `durable`, commits are not
    // fsynced: a committed write is in the OS page cache and survives a crash of this
    // process (not of the machine).
    this.root = open(lmdbRootOptions(options.path, options.durable, options.mapBytes ?? lmdbMapBytesDefault));
    this.records = this.root.openDB<RecordRow, string>({ name: 'records' });
    this.meta = this.root.openDB<unknown, string>({ name: 'meta' });
    this.index = new LmdbRingIndex(this.root, this.meta, options.hash);
    this.pageBytes = (this.root.getStats() as { pageSize: number }).pageSize;
    const base: TransactionRunner = async (work, onLoop) => {
      if (onLoop) this.root.transactionSync(work);
      // A child transaction: lmdb-js commits what an asynchronous transaction's callback
      // put even when it throws, and the records would then be stored without the bucket
      // digests that `commitBatch` writes last (or its write refused though committed). A
      // child is aborted when it throws, as `transactionSync` is.
      else await this.root.childTransaction(work);
    };
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
    try {
      if (options.rebuildRingIndex !== true && engine.index.isBuilt()) engine.index.load();
      else await engine.buildIndex(options.log, options.buildKeysPerCommit);
    } catch (error) {
      await engine.close();
      throw error;
    }
    // Live keys are the keys the buckets count less the tombstones the purge list holds:
    // no walk of the records, so a restart on millions of keys is quick.
    engine.live = engine.index.keyCount() - engine.index.tombstoneCount();
    try {
      engine.admit(pagesPerCommit * engine.pageBytes, 'client');
    } catch (error) {
      // Full already: the node starts anyway, and its state says why it refuses writes.
      if (!(error instanceof StorageFullError)) throw error;
    }
    return engine;
  }

  /** Builds the ring index from the records, before the engine takes any write. */
  private async buildIndex(log: ProgressLog | undefined, keysPerCommit: number | undefined): Promise<void> {
    try {
      await buildRingIndex({
        records: this.records,
        index: this.index,
        transact: (work, needBytes) => this.transact(work, needBytes, 'upkeep'),
        pageBytes: this.pageBytes,
        log,
        nowMs: () => Date.now(),
        ...(keysPerCommit === undefined ? {} : { keysPerCommit }),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`could not build the ring index of ${this.path} (data format 3): ${reason}. The records are untouched; the build starts again on the next start.`, { cause: error });
    }
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    return this.read(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    // Read and claim synchronously: no other apply may run between the compare and the set.
    const current = this.mergeBase(key);
    if (!supersedes(record, current)) return { applied: false, current: this.held(key) };
    this.refuseWhileFull();
    this.claim(key, record);
    const needBytes = estimateRecordBytes(key, record) + pagesPerWrite * this.pageBytes + ringIndexWriteBytes(key, record, current, this.pageBytes);
    await this.storeClaimed([{ key, record, fresh: current === undefined }], needBytes, recordPutBytes(key, record), 'in-order');
    return { applied: true, current: record };
  }

  async applyBatch(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<ApplyOutcome[]> {
    // A slice at a time, each merged and put in its own transaction, with a turn of the
    // event loop between: a batch of thousands of records would otherwise hold the event
    // loop for tens of milliseconds, and every client request with it.
    const outcomes: ApplyOutcome[] = [];
    const commits: Array<Promise<void>> = [];
    let refused: { reason: unknown } | undefined;
    try {
      for (let from = 0; from < entries.length; from += lmdbBatchRecordsPerCommit) {
        if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        commits.push(this.applySlice(entries.slice(from, from + lmdbBatchRecordsPerCommit), outcomes));
      }
    } catch (error) {
      refused = { reason: error }; // a full or failed store: the slices queued before still settle
    }
    const settled = await Promise.allSettled(commits);
    const failed = refused ?? settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return outcomes;
  }

  /** Merges `slice` at once (adding its outcomes), as `apply` does, and queues its records as one write; resolves once they are committed. */
  private applySlice(slice: ReadonlyArray<readonly [string, StoredRecord]>, outcomes: ApplyOutcome[]): Promise<void> {
    const writes: ClaimedWrite[] = [];
    let rowBytes = 0;
    for (const [key, record] of slice) {
      const current = this.mergeBase(key);
      if (!supersedes(record, current)) {
        outcomes.push({ applied: false, current: this.held(key) });
        continue;
      }
      if (writes.length === 0) this.refuseWhileFull();
      this.claim(key, record);
      writes.push({ key, record, fresh: current === undefined });
      outcomes.push({ applied: true, current: record });
      // Its record, its ring index rows, and the change log's entry in the same transaction.
      rowBytes += recordPutBytes(key, record);
    }
    if (writes.length === 0) return Promise.resolve();
    const needBytes = insertionNeedBytes([this.records, ...this.index.trees()], writes.length, rowBytes, this.pageBytes) + changeLogPathPages * this.pageBytes;
    // Judged by its bound, as before: a transfer's slice of small records stays off the
    // event loop of the node receiving it.
    return this.storeClaimed(writes, needBytes, needBytes, 'after-clients');
  }

  /** Throws the store's refusal (full or failed) for a client write, counting it. */
  private refuseWhileFull(): void {
    const refusal = this.disk.refusal();
    if (refusal === undefined) return;
    this.onWriteRefused?.();
    throw refusal;
  }

  /**
   * Puts records already claimed in `pending` in one queued write, with their ring index
   * rows and change log entries. Resolves once they are committed.
   *
   * The live count changes by what the transaction replaced, once it is committed: not by
   * what each write was merged against, which a write of the key committed, failed or
   * discarded since may have made stale.
   */
  private async storeClaimed(writes: readonly ClaimedWrite[], needBytes: number, dataBytes: number, turn: WriteTurn): Promise<void> {
    let liveChange = 0;
    let logged: Array<{ record: StoredRecord; bytes: number }> = [];
    try {
      await this.write(
        () => {
          liveChange = 0;
          logged = [];
          for (const { key, record, fresh } of writes) {
            // Writes of a key may commit out of the order they were claimed in: a client's
            // overtakes a batch queued after clients, and a batch takes its turn before a
            // client write held back by the commit bound. A write claimed over since then is
            // put only if it is still newer than what the key holds now (in this transaction).
            // One never overtaken is: every write put since its claim, or to be, is older.
            const overtaken = this.overtaken.has(record);
            if (overtaken && !supersedes(record, this.readVersion(key))) continue;
            const row = recordToRow(record);
            this.records.putSync(key, row);
            // A key that held nothing and had nothing in flight when this write was claimed,
            // and was not overtaken since, still holds nothing: no index row to read.
            const wasLive = this.index.stored(key, record, fresh && !overtaken);
            liveChange += (record.tombstone ? 0 : 1) - (wasLive ? 1 : 0);
            const entryBytes = this.changeStore?.stored(key, record, row);
            if (entryBytes !== undefined) logged.push({ record, bytes: entryBytes });
          }
        },
        {
          needBytes,
          kind: 'client',
          turn,
          dataBytes,
          committed: () => {
            this.live += liveChange;
            if (logged.length > 0) this.changeStore?.committed(logged);
          },
        },
      );
    } catch (error) {
      if (error instanceof StorageFullError || error instanceof StorageFailedError) this.onWriteRefused?.();
      throw error;
    } finally {
      for (const { key, record } of writes) this.unclaim(key, record);
    }
  }

  /** What a write of `key` is merged against: the newest of its writes in flight and what it holds. */
  private mergeBase(key: string): RowVersion | undefined {
    return newerOf(this.newestClaim(key), this.readVersion(key));
  }

  private newestClaim(key: string): StoredRecord | undefined {
    return this.pending.get(key)?.at(-1);
  }

  private claim(key: string, record: StoredRecord): void {
    const claims = this.pending.get(key);
    if (claims === undefined) {
      this.pending.set(key, [record]);
      return;
    }
    this.overtaken.add(claims.at(-1) as StoredRecord);
    claims.push(record);
  }

  /** The write of `record` settled (committed or failed): it no longer stands for the key. */
  private unclaim(key: string, record: StoredRecord): void {
    const claims = this.pending.get(key);
    const at = claims?.indexOf(record) ?? -1;
    if (claims === undefined || at < 0) return;
    claims.splice(at, 1);
    if (claims.length === 0) this.pending.delete(key);
  }

  async scan(options: ScanOptions): Promise<ScanEntry[]> {
    this.assertOpen();
    const prefix = options.prefix ?? '';
    const start = options.after !== undefined && compareUtf8(options.after, prefix) >= 0 ? options.after : prefix;
    const entries: ScanEntry[] = [];
    for (const { key, value } of this.records.getRange({ start: start === '' ? undefined : start })) {
      if (options.after !== undefined && key === options.after) continue;
      if (!key.startsWith(prefix)) break;
      entries.push({ key, record: rowToRecord(value) });
      if (entries.length >= options.limit) break;
    }
    return entries;
  }

  async discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    this.assertOpen();
    let removed: ScanEntry[] = [];
    // Removing rewrites the leaves it touches (copy on write): it needs pages too.
    await this.write(
      () => {
        removed = [];
        for (const { key, hlc, nodeId } of entries) {
          // A write of the key is in flight: it may be newer, or older and due to be put
          // only while the stored version is newer (it would come back if that were removed).
          if (this.pending.has(key)) continue;
          const row = this.records.get(key);
          if (row === undefined || row[0] !== hlc || row[1] !== nodeId) continue;
          this.records.removeSync(key);
          this.index.removed(key);
          removed.push({ key, record: rowToRecord(row) });
        }
      },
      {
        needBytes: removalNeedBytes(this.records, entries.length, this.pageBytes) + this.index.trees().reduce((bytes, tree) => bytes + removalNeedBytes(tree, entries.length, this.pageBytes), 0),
        kind: 'upkeep',
        committed: () => {
          for (const { record } of removed) if (!record.tombstone) this.live--;
        },
      },
    );
    return removed;
  }

  async ringScan(options: RingScanOptions): Promise<RingScanEntry[]> {
    this.assertOpen();
    // One synchronous walk: the index and the records are read in the same snapshot.
    return this.index.ringKeys(options).map(({ key, token }) => {
      const row = this.records.get(key);
      if (row === undefined) throw new Error(`the ring index lists ${JSON.stringify(key)}, which the records do not hold`);
      return { key, token, record: rowToRecord(row) };
    });
  }

  async ringKeys(options: RingScanOptions): Promise<RingKeyEntry[]> {
    this.assertOpen();
    return this.index.ringKeys(options);
  }

  async summarize(start: number, end: number): Promise<RangeSummary> {
    this.assertOpen();
    return this.index.summarize(start, end);
  }

  async purgeable(options: PurgeableOptions): Promise<PurgeableEntry[]> {
    this.assertOpen();
    return this.index.purgeable(options);
  }

  keyCount(): number {
    return this.index.keyCount();
  }

  /** Test and measurement seam: the ring index itself. */
  ringIndex(): LmdbRingIndex {
    return this.index;
  }

  /** Queues `work` for the next transaction (LmdbWriter); resolves once it is committed. */
  write(work: () => void, { needBytes, kind, turn = 'in-order', dataBytes = needBytes, committed }: WriteOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queuedNeedBytes += needBytes;
      const done = (error?: unknown) => {
        this.queuedNeedBytes -= needBytes;
        if (error === undefined) resolve();
        else reject(error);
      };
      (turn === 'in-order' ? this.batch : this.afterClients).push({ work, needBytes, dataBytes, kind, committed, done });
      // The first write of a turn starts the committer on the next turn, so the turn's
      // writes share a transaction; while a commit is in flight the committer takes them next.
      this.committing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.commitAll());
    });
  }

  /** Commits what is queued, one batch at a time, until nothing is left. */
  private async commitAll(): Promise<void> {
    try {
      while (this.batch.length > 0 || this.afterClients.length > 0) await this.commitBatch(this.takeBatch());
    } finally {
      this.committing = undefined;
    }
  }

  /**
   * The writes at the head of the queue up to `commitBytesMax`, and at least one. A write
   * queued after clients commits alone (a client's write does not wait for a batch's
   * records to be put, nor the event loop for more than one slice of them) and, while
   * others wait, after one commit of theirs: a steady stream of client writes does not
   * hold a transfer back for ever.
   */
  private takeBatch(): QueuedWrite[] {
    const afterClientsTurn = this.afterClients.length > 0 && (this.batch.length === 0 || this.clientCommitsWaited > 0);
    this.clientCommitsWaited = afterClientsTurn || this.afterClients.length === 0 ? 0 : this.clientCommitsWaited + 1;
    if (afterClientsTurn) return this.afterClients.splice(0, 1);
    const queue = this.batch;
    let count = 0;
    let bytes = 0;
    for (const item of queue) {
      if (count > 0 && bytes + item.needBytes > this.commitBytesMax) break;
      bytes += item.needBytes;
      count++;
    }
    return queue.splice(0, count);
  }

  /**
   * Bytes of writes queued or being committed, by the writes' estimates. A node sheds
   * client writes while its own replica lags this far behind (api/load-shedding.ts): with
   * commits off the event loop nothing else stops a flood from queueing here.
   */
  queuedBytes(): number {
    return this.queuedNeedBytes;
  }

  /** Commits one batch in one transaction; client writes are refused while the disk is full. */
  private async commitBatch(queued: QueuedWrite[]): Promise<void> {
    let batch = queued;
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
    let writesBytes = 0;
    let dataBytes = 0;
    for (const item of batch) {
      writesBytes += item.needBytes;
      dataBytes += item.dataBytes;
    }
    const needBytes = pagesPerCommit * this.pageBytes + this.index.transactionExtraBytes() + writesBytes;
    // By what the commit puts, not by its bound: the bound counts every page a write might
    // touch, so a batch of a dozen small PUTs passed 256 KiB and took the thread hops.
    const onLoop = !this.durable && dataBytes <= lmdbOnLoopCommitBytesMax;
    // One write's own error (thrown by its work) fails that write alone, as a write of its own would.
    const failures = new Map<QueuedWrite, unknown>();
    let bucketWrites: BucketWrites | undefined;
    try {
      await this.transact(
        () => {
          this.index.beginTransaction();
          for (const item of batch) {
            try {
              item.work();
            } catch (error) {
              failures.set(item, error);
            }
          }
          bucketWrites = this.index.endTransaction();
        },
        needBytes,
        batch.some((item) => item.kind === 'client') ? 'client' : 'upkeep',
        onLoop,
      );
    } catch (error) {
      for (const item of batch) item.done(error);
      return;
    }
    this.index.committed(bucketWrites);
    // The in-memory counts follow what committed, before any write is answered.
    for (const item of batch) item.committed?.();
    const settle = (flushError?: unknown) => {
      for (const item of batch) item.done(flushError ?? (failures.has(item) ? this.storageError(failures.get(item)) : undefined));
    };
    // With `durable` a write is acknowledged once flushed; the next batch commits meanwhile
    // (lmdb-js syncs a commit while the next one is written).
    if (this.durable) void this.flushed().then(() => settle(), settle);
    else settle();
  }

  /**
   * Runs one write transaction once the data file has room for `needBytes` more, and turns
   * what the disk throws into StorageFullError or StorageFailedError. Only `commitAll` calls
   * it, one at a time: nothing else writes between the check and the commit.
   */
  private async transact(work: () => void, needBytes: number, kind: WriteKind, onLoop = false): Promise<void> {
    await this.admitAsync(needBytes, kind);
    try {
      await this.runTransaction(work, onLoop);
    } catch (error) {
      throw this.storageError(await commitCause(error));
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
    this.settleAdmission(room, needBytes, kind);
  }

  /** `admit` for commits: the reserve grows off the event loop (data-file-reserve.ts). */
  private async admitAsync(needBytes: number, kind: WriteKind): Promise<void> {
    if (this.disk.state === 'failed') throw this.disk.refusal() as StorageFailedError;
    let room: boolean;
    try {
      room = await this.reserve.ensureAsync(this.usedEndBytes(), needBytes);
    } catch (error) {
      throw this.storageError(error);
    }
    this.settleAdmission(room, needBytes, kind);
  }

  private settleAdmission(room: boolean, needBytes: number, kind: WriteKind): void {
    if (room) {
      // Upkeep fits in what was reserved before: only a client write shows that space returned.
      if (kind === 'client') this.disk.markOk();
      return;
    }
    this.refusedNeedBytes = needBytes;
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

  /**
   * Space has returned when the reserve can be filled again and the commit last refused
   * would fit: a reserve that holds less would only be refused again (full, ok, full).
   */
  private probe(): void {
    // A commit in flight may be writing just past LMDB's end: the reserve is the committer's then.
    if (this.closed || this.disk.state !== 'full' || this.committing !== undefined) return;
    try {
      if (this.reserve.ensure(this.usedEndBytes(), Math.max(Math.min(this.reserveBytes, 4 * 1024 * 1024), this.refusedNeedBytes))) this.disk.markOk();
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
    return row === undefined ? undefined : rowToRecord(row);
  }

  /**
   * The version `key` holds, for a write to compare with: read from the row's bytes without
   * decoding a string value (record-rows.ts, rowVersionOf), or decoded whole when the value
   * is of another kind.
   */
  private readVersion(key: string): RowVersion | undefined {
    this.assertOpen();
    const bytes = this.records.getBinaryFast(key);
    if (bytes === undefined) return undefined;
    return rowVersionOf(bytes) ?? this.read(key);
  }

  /** The record a write lost to: claimed by a write not yet committed, or stored. */
  private held(key: string): StoredRecord {
    const current = newerOf(this.newestClaim(key), this.read(key));
    if (current === undefined) throw new Error(`no record for ${JSON.stringify(key)}, though a newer version was just read`);
    return current;
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
    await this.write(() => (value === undefined ? this.meta.removeSync(name) : this.meta.putSync(name, value)), { needBytes, kind: 'upkeep' });
    return true;
  }

  /** The durable change log kept in this environment (watches, lmdb-change-store.ts); its entries share the records' transactions. */
  openChangeStore(): LmdbChangeStore {
    this.changeStore ??= new LmdbChangeStore(this.root, this);
    return this.changeStore;
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
    // The commit in flight finishes (what is queued behind it is refused as closed).
    await this.committing;
    this.reserve.close();
    await this.root.close();
  }

  /** Background work (anti-entropy, hints) may still run while a node stops: fail it cleanly. */
  private assertOpen(): void {
    if (this.closed) throw new Error('the LMDB engine is closed');
  }
}

/**
 * The newer of a key's newest write in flight and what it holds: a newer write of the key
 * may have committed while older ones are still in flight.
 */
function newerOf<V extends RowVersion>(claim: StoredRecord | undefined, stored: V | undefined): StoredRecord | V | undefined {
  return claim === undefined || (stored !== undefined && supersedes(stored, claim)) ? stored : claim;
}

/**
 * lmdb-js rejects a failed asynchronous commit with a bare "Commit failed" whose LMDB error
 * (ENOSPC, EIO, ...) comes as a second, rejected promise: wait for that one, so the error
 * is sorted as what the disk said (disk-errors.ts).
 */
async function commitCause(error: unknown): Promise<unknown> {
  const inner = (error as { commitError?: unknown } | null)?.commitError;
  if (!(inner instanceof Promise)) return error;
  let timer: NodeJS.Timeout | undefined;
  const cause = await Promise.race([
    inner.then(
      () => error,
      (reason: unknown) => reason,
    ),
    new Promise<unknown>((resolve) => {
      timer = setTimeout(() => resolve(error), commitErrorWaitMs);
    }),
  ]);
  clearTimeout(timer);
  return cause;
}

