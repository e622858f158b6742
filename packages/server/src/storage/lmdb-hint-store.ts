// Durable hints in LMDB (a `hints` database beside the records), so a coordinator that
// restarts still delivers what a down replica missed. Keys are `<target>\0<key>`, so one
// target's hints are a contiguous range. Counts per target are kept in memory (counted at
// open) to enforce the bounds without scanning.
import type { Database, RootDatabase } from 'lmdb';
import { hintLimitsDefault, supersedes, type Hint, type HintLimits, type HintStore, type StoredRecord } from '@ringkv/core';

/** [hlc, writer, tombstone, storedAtMs, value?] */
type HintRow = [number, string, 0 | 1, number, unknown?];

const separator = '\u0000';

export class LmdbHintStore implements HintStore {
  private readonly db: Database<HintRow, string>;
  private readonly counts = new Map<string, number>();
  private readonly limits: HintLimits;
  private total = 0;
  private readonly isOpen: () => boolean;

  /** `isOpen` turns false once the environment closes: late callers then fail cleanly. */
  constructor(root: RootDatabase, limits: HintLimits = hintLimitsDefault, isOpen: () => boolean = () => true) {
    this.db = root.openDB<HintRow, string>({ name: 'hints' });
    this.limits = limits;
    this.isOpen = isOpen;
    for (const key of this.db.getKeys({})) {
      const target = key.slice(0, key.indexOf(separator));
      this.counts.set(target, (this.counts.get(target) ?? 0) + 1);
      this.total++;
    }
  }

  async add(hint: Hint): Promise<boolean> {
    this.assertOpen();
    const id = `${hint.target}${separator}${hint.key}`;
    const held = this.db.get(id);
    if (held !== undefined) {
      if (supersedes(hint.record, recordOf(held))) await this.db.put(id, rowOf(hint));
      return true;
    }
    const forTarget = this.counts.get(hint.target) ?? 0;
    if (this.total >= this.limits.totalMax || forTarget >= this.limits.perTargetMax) return false;
    this.counts.set(hint.target, forTarget + 1);
    this.total++;
    await this.db.put(id, rowOf(hint));
    return true;
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

  async remove(delivered: readonly Hint[]): Promise<void> {
    for (const hint of delivered) {
      this.assertOpen();
      const id = `${hint.target}${separator}${hint.key}`;
      const held = this.db.get(id);
      if (held === undefined || held[0] !== hint.record.hlc || held[1] !== hint.record.nodeId) continue;
      await this.db.remove(id);
      this.counts.set(hint.target, (this.counts.get(hint.target) ?? 1) - 1);
      this.total--;
    }
  }

  private assertOpen(): void {
    if (!this.isOpen()) throw new Error('the LMDB engine is closed');
  }

  count(): number {
    return this.total;
  }

  oldestStoredAtMs(): number | null {
    let oldest: number | null = null;
    if (!this.isOpen()) return null;
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
  return record.tombstone ? [record.hlc, record.nodeId, 1, hint.storedAtMs] : [record.hlc, record.nodeId, 0, hint.storedAtMs, record.value];
}

function recordOf(row: HintRow): StoredRecord {
  return { hlc: row[0], nodeId: row[1], tombstone: row[2] === 1, value: row[2] === 1 ? undefined : row[4] };
}
