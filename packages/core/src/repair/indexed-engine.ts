// An Engine decorator that keeps the RangeIndex in step with every applied write, whoever
// applies it: the coordinator's local replica, the replica handler, read repair,
// anti-entropy or hint delivery. One place, so no write path can forget the index.
import type { ApplyOutcome, Engine, KeyVersion, PurgeableEntry, PurgeableOptions, RingKeyEntry, RingScanEntry, RingScanOptions, ScanEntry, ScanOptions } from '../storage/engine.js';
import type { RangeSummary } from '../storage/ring-order.js';
import type { StoredRecord } from '../storage/record.js';
import type { RangeIndex } from './range-index.js';

export class IndexedEngine implements Engine {
  private readonly inner: Engine;
  private readonly indexes: () => readonly RangeIndex[];

  /** `indexes` returns the live index and, during a rebuild, the one being built. */
  constructor(inner: Engine, indexes: () => readonly RangeIndex[]) {
    this.inner = inner;
    this.indexes = indexes;
  }

  get kind(): Engine['kind'] {
    return this.inner.kind;
  }

  get(key: string): Promise<StoredRecord | undefined> {
    return this.inner.get(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    const outcome = await this.inner.apply(key, record);
    if (outcome.applied) for (const index of this.indexes()) index.update(key, outcome.previous, outcome.current);
    return outcome;
  }

  scan(options: ScanOptions): Promise<ScanEntry[]> {
    return this.inner.scan(options);
  }

  async discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    const removed = await this.inner.discard(entries);
    for (const index of this.indexes()) for (const { key } of removed) index.remove(key);
    return removed;
  }

  ringScan(options: RingScanOptions): Promise<RingScanEntry[]> {
    return this.inner.ringScan(options);
  }

  ringKeys(options: RingScanOptions): Promise<RingKeyEntry[]> {
    return this.inner.ringKeys(options);
  }

  summarize(start: number, end: number): Promise<RangeSummary> {
    return this.inner.summarize(start, end);
  }

  purgeable(options: PurgeableOptions): Promise<PurgeableEntry[]> {
    return this.inner.purgeable(options);
  }

  keyCount(): number {
    return this.inner.keyCount();
  }

  liveCount(): number {
    return this.inner.liveCount();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
