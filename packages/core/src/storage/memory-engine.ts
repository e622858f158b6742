// An in-memory Engine for tests, the simulator and `--storage memory`. Keys are kept in a
// Map; the sorted key list for scans is rebuilt only after new keys arrive.
import type { ApplyOutcome, Engine, KeyVersion, ScanEntry, ScanOptions } from './engine.js';
import { supersedes, type StoredRecord } from './record.js';
import { compareUtf8 } from '../keys.js';

export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const;
  private readonly records = new Map<string, StoredRecord>();
  private sortedKeys: string[] | null = [];
  private live = 0;
  private closed = false;

  async get(key: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    return this.records.get(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    this.assertOpen();
    const current = this.records.get(key);
    if (!supersedes(record, current)) return { applied: false, current: current as StoredRecord };
    if (current === undefined) this.sortedKeys = null;
    this.live += liveDelta(current, record);
    this.records.set(key, record);
    return { applied: true, current: record, previous: current };
  }

  async scan(options: ScanOptions): Promise<ScanEntry[]> {
    this.assertOpen();
    const keys = this.keysInOrder();
    const prefix = options.prefix ?? '';
    const start = options.after !== undefined && compareUtf8(options.after, prefix) > 0 ? options.after : prefix;
    let index = lowerBound(keys, start);
    if (options.after !== undefined && keys[index] === options.after) index++;
    const entries: ScanEntry[] = [];
    for (; index < keys.length && entries.length < options.limit; index++) {
      const key = keys[index] as string;
      if (!key.startsWith(prefix)) break;
      entries.push({ key, record: this.records.get(key) as StoredRecord });
    }
    return entries;
  }

  async discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    this.assertOpen();
    const removed: ScanEntry[] = [];
    for (const { key, hlc, nodeId } of entries) {
      const record = this.records.get(key);
      if (record === undefined || record.hlc !== hlc || record.nodeId !== nodeId) continue;
      this.records.delete(key);
      if (!record.tombstone) this.live--;
      this.sortedKeys = null;
      removed.push({ key, record });
    }
    return removed;
  }

  liveCount(): number {
    return this.live;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private keysInOrder(): string[] {
    if (this.sortedKeys === null) this.sortedKeys = [...this.records.keys()].sort(compareUtf8);
    return this.sortedKeys;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the memory engine is closed');
  }
}

/** How the live-key count changes when `next` replaces `previous`. */
export function liveDelta(previous: StoredRecord | undefined, next: StoredRecord): number {
  const wasLive = previous !== undefined && !previous.tombstone;
  if (wasLive === !next.tombstone) return 0;
  return next.tombstone ? -1 : 1;
}

function lowerBound(keys: readonly string[], target: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareUtf8(keys[middle] as string, target) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
