// The change log in LMDB (a `changes` database beside the records; the log itself is
// packages/core/src/watch/change-log.ts). Keys are positions (the replica's HLC at append,
// ordered as numbers), so a watch reads a contiguous range and pruning drops a prefix.
// Rows hold the key, the record as the records database stores it (record-rows.ts) and
// whether it is an expiry. Writes go through the engine's transactions (lmdb-engine.ts) as
// upkeep: a log entry follows a record already stored, so it may use the space reserved.
import type { Database, RootDatabase } from 'lmdb';
import { changeEntryBytes, type ChangeEntry, type ChangeStore, type StoredRecord } from '@ringkv/core';
import type { LmdbWriter } from './lmdb-engine.js';
import { recordToRow, rowToRecord, type RecordRow } from './record-rows.js';

type ChangeRow = [string, RecordRow, 0 | 1];

/** Where the highest pruned position is kept (in the changes database, below every position). */
const prunedKey = 0;
/** Entries one prune removes at most (the rest go on the next). */
const pruneBatchMax = 10_000;

export class LmdbChangeStore implements ChangeStore {
  private readonly db: Database<ChangeRow | number, number>;
  private readonly records: Database<RecordRow, string>;
  private readonly writer: LmdbWriter;
  private entries = 0;
  private bytes = 0;
  private pruned: number;

  constructor(root: RootDatabase, writer: LmdbWriter) {
    this.writer = writer;
    this.db = root.openDB<ChangeRow | number, number>({ name: 'changes' });
    this.records = root.openDB<RecordRow, string>({ name: 'records' });
    const pruned = this.db.get(prunedKey);
    this.pruned = typeof pruned === 'number' ? pruned : 0;
    for (const { value } of this.db.getRange({ start: prunedKey + 1 })) {
      this.entries++;
      this.bytes += changeEntryBytes(entryOf(0, value as ChangeRow));
    }
  }

  async append(entries: readonly ChangeEntry[]): Promise<void> {
    if (!this.writer.isOpen()) throw new Error('the LMDB engine is closed');
    let needBytes = 2 * this.writer.pageBytes;
    const rows = entries.map((entry) => {
      needBytes += changeEntryBytes(entry);
      return [entry.pos, [entry.key, recordToRow(entry.record), entry.expired ? 1 : 0] as ChangeRow] as const;
    });
    await this.writer.write(
      () => {
        for (const [pos, row] of rows) this.db.putSync(pos, row);
      },
      needBytes,
      'upkeep',
    );
    for (const entry of entries) {
      this.entries++;
      this.bytes += changeEntryBytes(entry);
    }
  }

  async appendWithRecord(key: string, record: StoredRecord, position: () => number): Promise<boolean> {
    if (!this.writer.isOpen()) return false;
    const row: ChangeRow = [key, recordToRow(record), 0];
    const bytes = changeEntryBytes({ pos: 0, key, record, expired: false });
    let appended = false;
    // Queued right behind the record's own write, so it runs in the same transaction: the
    // entry is stored with the record, or not at all (an older record was not applied).
    await this.writer.write(
      () => {
        const held = this.records.get(key);
        if (held === undefined || held[0] !== record.hlc || held[1] !== record.nodeId) return;
        this.db.putSync(position(), row);
        appended = true;
      },
      2 * this.writer.pageBytes + bytes,
      'upkeep',
    );
    if (appended) {
      this.entries++;
      this.bytes += bytes;
    }
    return appended;
  }

  read(after: number, limit: number): ChangeEntry[] {
    if (!this.writer.isOpen() || limit <= 0) return [];
    const entries: ChangeEntry[] = [];
    for (const { key, value } of this.db.getRange({ start: Math.max(after, prunedKey) + 1, limit })) entries.push(entryOf(key, value as ChangeRow));
    return entries;
  }

  async prune(beforePos: number, maxBytes: number): Promise<void> {
    if (!this.writer.isOpen()) return;
    const drop: number[] = [];
    let bytes = this.bytes;
    let droppedBytes = 0;
    for (const { key, value } of this.db.getRange({ start: prunedKey + 1 })) {
      if (drop.length >= pruneBatchMax) break;
      const size = changeEntryBytes(entryOf(key, value as ChangeRow));
      if (key >= beforePos && bytes <= maxBytes) break;
      drop.push(key);
      bytes -= size;
      droppedBytes += size;
    }
    if (drop.length === 0) return;
    const through = drop[drop.length - 1] as number;
    await this.writer.write(
      () => {
        for (const key of drop) this.db.removeSync(key);
        this.db.putSync(prunedKey, through);
      },
      (drop.length + 4) * 64 + 4 * this.writer.pageBytes,
      'upkeep',
    );
    this.entries -= drop.length;
    this.bytes -= droppedBytes;
    this.pruned = Math.max(this.pruned, through);
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
