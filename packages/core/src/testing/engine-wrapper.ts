// An engine that passes every call to the one it wraps: the faulty engines of the planted
// bugs (planted-bugs.ts) extend it and change only the call they get wrong.
import type { ApplyOutcome, Engine, KeyVersion, PurgeableEntry, PurgeableOptions, RingKeyEntry, RingScanEntry, RingScanOptions, ScanEntry, ScanOptions } from '../storage/engine.js';
import type { RangeSummary } from '../storage/ring-order.js';
import type { StoredRecord } from '../storage/record.js';

export class EngineWrapper implements Engine {
  protected readonly inner: Engine;

  constructor(inner: Engine) {
    this.inner = inner;
  }

  get kind(): Engine['kind'] {
    return this.inner.kind;
  }

  get(key: string): Promise<StoredRecord | undefined> {
    return this.inner.get(key);
  }

  apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    return this.inner.apply(key, record);
  }

  /** Record by record through `apply`, so a wrapper that changes `apply` changes batches too. */
  applyBatch(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<ApplyOutcome[]> {
    return Promise.all(entries.map(([key, record]) => this.apply(key, record)));
  }

  scan(options: ScanOptions): Promise<ScanEntry[]> {
    return this.inner.scan(options);
  }

  discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    return this.inner.discard(entries);
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
