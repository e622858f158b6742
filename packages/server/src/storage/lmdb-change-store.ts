// The change log in LMDB (a `changes` database beside the records; the log itself is
// packages/core/src/watch/change-log.ts). Keys are [position, size]: the position (the
// replica's HLC at append) orders them, so a watch reads a contiguous range and pruning
// drops a prefix, and the entry's approximate size rides in the key, so counting and
// pruning read keys only, never a large value. Rows hold the key, the record as the
// records database stores it (record-rows.ts) and whether it is an expiry. An entry is
// written inside the transaction of its record when the change log asks for that
// (appendWithRecord, lmdb-engine.ts apply), else through the engine's transactions as
// upkeep: it follows a record already stored, so it may use the space reserved.
import type { Database, RootDatabase } from 'lmdb';
import { changeEntryBytes, type ChangeEntry, type ChangeStore, type StoredRecord } from '@ringkv/core';
import type { LmdbWriter } from './lmdb-engine.js';
import { recordToRow, rowToRecord, type RecordRow } from './record-rows.js';

type ChangeRow = [string, RecordRow, 0 | 1];

/** Where the highest pruned position is kept (in the changes database, below every entry's key). */
const prunedKey = [0];
/** Where entries begin. */
const firstEntryKey = [1];
type ChangeKey = number[];
/** Entries one prune removes at most (the rest go on the next). */
const pruneBatchMax = 10_000;

export class LmdbChangeStore implements ChangeStore {
  private readonly db: Database<ChangeRow | number, ChangeKey>;
  /** Records whose entries are to be stored with them, by the record object the engine is given; `stored` once committed. */
  private readonly expected = new Map<StoredRecord, { position: () => number; stored: boolean }>();
  private readonly writer: LmdbWriter;
  private entries = 0;
  private bytes = 0;
  private pruned: number;

  constructor(root: RootDatabase, writer: LmdbWriter) {
    this.writer = writer;
    this.db = root.openDB<ChangeRow | number, ChangeKey>({ name: 'changes' });
    const pruned = this.db.get(prunedKey);
    this.pruned = typeof pruned === 'number' ? pruned : 0;
    for (const key of this.db.getKeys({ start: firstEntryKey })) {
      this.entries++;
      this.bytes += key[1] ?? 0;
    }
  }

  async append(entries: readonly ChangeEntry[]): Promise<void> {
    if (!this.writer.isOpen()) throw new Error('the LMDB engine is closed');
    let needBytes = 2 * this.writer.pageBytes;
    const rows = entries.map((entry) => {
      const bytes = changeEntryBytes(entry);
      needBytes += bytes;
      return [[entry.pos, bytes] as ChangeKey, [entry.key, recordToRow(entry.record), entry.expired ? 1 : 0] as ChangeRow] as const;
    });
    await this.writer.write(
      () => {
        for (const [key, row] of rows) this.db.putSync(key, row);
      },
      {
        needBytes,
        kind: 'upkeep',
        committed: () => {
          for (const [key] of rows) this.counted(key[1] ?? 0);
        },
      },
    );
  }

  appendWithRecord(key: string, record: StoredRecord, position: () => number): () => boolean {
    const expected = { position, stored: false };
    this.expected.set(record, expected);
    return () => {
      this.expected.delete(record);
      return expected.stored;
    };
  }

  /**
   * Called by the engine inside the write that stores `record` (lmdb-engine.ts apply): the
   * entry of a record the change log expects goes into the same transaction. Returns the
   * entry's size when one was put, for `committed`: that transaction may still be aborted.
   */
  stored(key: string, record: StoredRecord, row: RecordRow): number | undefined {
    const expected = this.expected.get(record);
    if (expected === undefined || expected.stored) return undefined;
    const entry: ChangeRow = [key, row, 0];
    const bytes = changeEntryBytes({ pos: 0, key, record, expired: false });
    try {
      this.db.putSync([expected.position(), bytes], entry);
    } catch {
      // The record's own write must not fail for its entry (it is stored either way): the change log counts the miss.
      return undefined;
    }
    return bytes;
  }

  /** The transaction that `stored` put these records' entries in is committed. */
  committed(entries: ReadonlyArray<{ record: StoredRecord; bytes: number }>): void {
    for (const { record, bytes } of entries) {
      const expected = this.expected.get(record);
      if (expected !== undefined) expected.stored = true;
      this.counted(bytes);
    }
  }

  private counted(bytes: number): void {
    this.entries++;
    this.bytes += bytes;
  }

  read(after: number, limit: number): ChangeEntry[] {
    if (!this.writer.isOpen() || limit <= 0) return [];
    const entries: ChangeEntry[] = [];
    for (const { key, value } of this.db.getRange({ start: [Math.max(after, 0) + 1], limit })) entries.push(entryOf(key[0] as number, value as ChangeRow));
    return entries;
  }

  async prune(beforePos: number, maxBytes: number): Promise<void> {
    if (!this.writer.isOpen()) return;
    const drop: ChangeKey[] = [];
    let bytes = this.bytes;
    let droppedBytes = 0;
    for (const key of this.db.getKeys({ start: firstEntryKey })) {
      if (drop.length >= pruneBatchMax) break;
      const size = key[1] ?? 0;
      if ((key[0] as number) >= beforePos && bytes <= maxBytes) break;
      drop.push(key);
      bytes -= size;
      droppedBytes += size;
    }
    if (drop.length === 0) return;
    const through = (drop[drop.length - 1] as ChangeKey)[0] as number;
    await this.writer.write(
      () => {
        for (const key of drop) this.db.removeSync(key);
        this.db.putSync(prunedKey, through);
      },
      {
        needBytes: (drop.length + 4) * 64 + 4 * this.writer.pageBytes,
        kind: 'upkeep',
        committed: () => {
          this.entries -= drop.length;
          this.bytes -= droppedBytes;
          this.pruned = Math.max(this.pruned, through);
        },
      },
    );
  }

  prunedThrough(): number {
    return this.pruned;
  }

  size(): { entries: number; bytes: number } {
    return { entries: this.entries, bytes: this.bytes };
  }
}

function entryOf(pos: number, row: ChangeRow): ChangeEntry {
  return { pos, key: row[0], record: rowToRecord(row[1]), expired: row[2] === 1 };
}
