// An engine that passes every call to the one it wraps: the faulty engines of the planted
// bugs (planted-bugs.ts) extend it and change only the call they get wrong.
import type { ApplyOutcome, Engine, KeyVersion, ScanEntry, ScanOptions } from '../storage/engine.js';
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

  scan(options: ScanOptions): Promise<ScanEntry[]> {
    return this.inner.scan(options);
  }

  discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    return this.inner.discard(entries);
  }

  liveCount(): number {
    return this.inner.liveCount();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
