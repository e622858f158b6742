// Durable hints in LMDB (a `hints` database beside the records), so a coordinator that
// restarts still delivers what a down replica missed. Keys are `<target>\0<key>`, so one
// target's hints are a contiguous range. Counts per target are kept in memory (counted at
// open) to enforce the bounds without scanning, and to list the targets to deliver to:
// they change by what each commit did, read inside its transaction. Writes go through the engine's
// transactions (lmdb-engine.ts), which refuse new hints while the disk is full but still
// remove delivered ones.
import type { Database, RootDatabase } from 'lmdb';
import { hintLimitsDefault, JsonText, supersedes, type Hint, type HintLimits, type HintStore, type StoredRecord } from '@ringkv/core';
import type { LmdbWriter } from './lmdb-engine.js';
import { estimateRecordBytes, removalNeedBytes } from './write-size.js';

/**
 * [hlc, writer, flag, storedAtMs, value?]: flag 1 is a tombstone (no value), 0 a value, 2 a
 * value carried as JSON text (packages/core/src/storage/json-text.ts), as in the records rows.
 */
type HintRow = [number, string, 0 | 1 | 2, number, unknown?, number?];

const rowValue = 0;
const rowTombstone = 1;
const rowJsonText = 2;

const separator = '\u0000';

export class LmdbHintStore implements HintStore {
  private readonly db: Database<HintRow, string>;
  private readonly counts = new Map<string, number>();
  private readonly limits: HintLimits;
  private readonly writer: LmdbWriter;
  private total = 0;

  /** `writer` commits the store's changes; once it is closed, late callers fail cleanly. */
  constructor(root: RootDatabase, writer: LmdbWriter, limits: HintLimits = hintLimitsDefault) {
    this.db = root.openDB<HintRow, string>({ name: 'hints' });
    this.limits = limits;
    this.writer = writer;
    for (const key of this.db.getKeys({})) {
      const target = key.slice(0, key.indexOf(separator));
      this.counts.set(target, (this.counts.get(target) ?? 0) + 1);
      this.total++;
    }
  }

  async add(hint: Hint): Promise<boolean> {
    this.assertOpen();
    const id = `${hint.target}${separator}${hint.key}`;
    const needBytes = estimateRecordBytes(id, hint.record) + 3 * this.writer.pageBytes;
    const held = this.db.get(id);
    if (held !== undefined && !supersedes(hint.record, recordOf(held))) return true;
    // A new hint is counted before its commit so concurrent adds respect the bounds; what
    // the commit did settles it.
    let reserved = false;
    if (held === undefined) {
      const forTarget = this.counts.get(hint.target) ?? 0;
      if (this.total >= this.limits.totalMax || forTarget >= this.limits.perTargetMax) return false;
      this.changeCount(hint.target, 1);
      reserved = true;
    }
    let created = false;
    try {
      await this.writer.write(
        () => {
          // Adds and removals of this hint queued before this one (in this transaction or
          // committed since `held` was read) decide: an older hint must not replace a newer.
          const now = this.db.get(id);
          created = false;
          if (now !== undefined && !supersedes(hint.record, recordOf(now))) return;
          this.db.putSync(id, rowOf(hint));
          created = now === undefined;
        },
        {
          needBytes,
          kind: 'client',
          committed: () => {
            if (!created) return;
            if (reserved) reserved = false;
            else this.changeCount(hint.target, 1);
          },
        },
      );
    } finally {
      if (reserved) this.changeCount(hint.target, -1);
    }
    return true;
  }

  private changeCount(target: string, change: number): void {
    this.counts.set(target, (this.counts.get(target) ?? 0) + change);
    this.total += change;
  }

  targets(): string[] {
    return [...this.counts].filter(([, count]) => count > 0).map(([target]) => target);
  }

  async batch(target: string, limit: number): Promise<Hint[]> {
    this.assertOpen();
    const prefix = `${target}${separator}`;
    const hints: Hint[] = [];
    for (const { key, value } of this.db.getRange({ start: prefix, limit })) {
      if (!key.startsWith(prefix)) break;
      hints.push({ target, key: key.slice(prefix.length), record: recordOf(value), storedAtMs: value[3] });
    }
    return hints;
  }

  /** Removes the delivered hints still held at the delivered version, in one transaction. */
  async remove(delivered: readonly Hint[]): Promise<void> {
    this.assertOpen();
    let removed: string[] = [];
    await this.writer.write(
      () => {
        removed = [];
        for (const hint of delivered) {
          const id = `${hint.target}${separator}${hint.key}`;
          const held = this.db.get(id);
          if (held === undefined || held[0] !== hint.record.hlc || held[1] !== hint.record.nodeId) continue;
          this.db.removeSync(id);
          removed.push(hint.target);
        }
      },
      {
        needBytes: removalNeedBytes(this.db, delivered.length, this.writer.pageBytes),
        kind: 'upkeep',
        committed: () => {
          for (const target of removed) this.changeCount(target, -1);
        },
      },
    );
  }

  private assertOpen(): void {
    if (!this.writer.isOpen()) throw new Error('the LMDB engine is closed');
  }

  count(): number {
    return this.total;
  }

  oldestStoredAtMs(): number | null {
    let oldest: number | null = null;
    if (!this.writer.isOpen()) return null;
    for (const target of this.targets()) {
      for (const { value } of this.db.getRange({ start: `${target}${separator}`, limit: 1000 })) {
        if (oldest === null || value[3] < oldest) oldest = value[3];
      }
    }
    return oldest;
  }
}

function rowOf(hint: Hint): HintRow {
  const { record } = hint;
  if (record.tombstone) return [record.hlc, record.nodeId, rowTombstone, hint.storedAtMs];
  const row: HintRow =
    record.value instanceof JsonText
      ? [record.hlc, record.nodeId, rowJsonText, hint.storedAtMs, record.value.text]
      : [record.hlc, record.nodeId, rowValue, hint.storedAtMs, record.value];
  // A value with a ttl carries its expiry last; hints stored before ttls existed have none.
  if (record.expiresAt !== undefined) row.push(record.expiresAt);
  return row;
}

function recordOf(row: HintRow): StoredRecord {
  const base = { hlc: row[0], nodeId: row[1] };
  if (row[2] === rowTombstone) return { ...base, tombstone: true, value: undefined };
  const value = row[2] === rowJsonText ? new JsonText(row[4] as string) : row[4];
  return typeof row[5] === 'number' ? { ...base, tombstone: false, value, expiresAt: row[5] } : { ...base, tombstone: false, value };
}
