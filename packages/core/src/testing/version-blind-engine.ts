// A faulty engine for the simulator's planted bugs (planted-bugs.ts): it stores every
// record it is given, even one older than its copy, by re-stamping it above what it holds
// (a version nobody issued). Late, duplicated or reordered writes then overwrite newer
// copies. Wrapping the engine plants the bug at the storage seam; the replica code that
// decides "newer" stays the production code.
import type { ApplyOutcome } from '../storage/engine.js';
import type { StoredRecord } from '../storage/record.js';
import { EngineWrapper } from './engine-wrapper.js';

export class VersionBlindEngine extends EngineWrapper {
  override async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    const current = await this.inner.get(key);
    const hlc = current === undefined ? record.hlc : Math.max(record.hlc, current.hlc + 1);
    return this.inner.apply(key, { ...record, hlc });
  }
}

/** A faulty engine that stores a value written with a ttl as a permanent one: it never expires. */
export class TtlDroppingEngine extends EngineWrapper {
  override apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    if (record.expiresAt === undefined) return this.inner.apply(key, record);
    const { expiresAt: _dropped, ...permanent } = record;
    return this.inner.apply(key, permanent);
  }
}
