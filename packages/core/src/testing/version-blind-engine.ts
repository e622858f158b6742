// A faulty engine for the simulator's planted bugs (planted-bugs.ts): it stores every
// record it is given, even one older than its copy, by re-stamping it above what it holds
// (a version nobody issued). Late, duplicated or reordered writes then overwrite newer
// copies. Wrapping the engine plants the bug at the storage seam; the replica code that
// decides "newer" stays the production code.
import type { ApplyOutcome, Engine, KeyVersion, ScanEntry, ScanOptions } from '../storage/engine.js';
import type { StoredRecord } from '../storage/record.js';

export class VersionBlindEngine implements Engine {
  private readonly inner: Engine;

  constructor(inner: Engine) {
    this.inner = inner;
  }

  get kind(): Engine['kind'] {
    return this.inner.kind;
  }

  get(key: string): Promise<StoredRecord | undefined> {
    return this.inner.get(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    const current = await this.inner.get(key);
    const hlc = current === undefined ? record.hlc : Math.max(record.hlc, current.hlc + 1);
    return this.inner.apply(key, { ...record, hlc });
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
