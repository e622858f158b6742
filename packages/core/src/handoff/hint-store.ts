// Hints (docs/design.md, "Repair": writes meant for a down replica go elsewhere
// with a hint, delivered when it returns). A hint is the newest record a target replica
// missed for a key; a newer hint for the same (target, key) replaces an older one. Hints
// are bounded per target and in total: past the bound a hint is dropped and counted, and
// anti-entropy repairs that key later instead. The memory store serves tests and
// `--storage memory`; the LMDB store (packages/server) keeps hints on disk.
import { hintsPerTargetMaxDefault, hintsTotalMaxDefault } from '../limits.js';
import { supersedes, type StoredRecord } from '../storage/record.js';

export interface Hint {
  target: string;
  key: string;
  record: StoredRecord;
  storedAtMs: number;
}

export interface HintLimits {
  perTargetMax: number;
  totalMax: number;
}

export const hintLimitsDefault: HintLimits = { perTargetMax: hintsPerTargetMaxDefault, totalMax: hintsTotalMaxDefault };

export interface HintStore {
  /** Keeps the hint unless a newer one is held; false when it was dropped for the bounds. */
  add(hint: Hint): Promise<boolean>;
  /** Targets that have hints waiting. */
  targets(): string[];
  /** Up to `limit` hints for a target. */
  batch(target: string, limit: number): Promise<Hint[]>;
  /** Removes delivered hints, unless a newer hint replaced one meanwhile. */
  remove(delivered: readonly Hint[]): Promise<void>;
  count(): number;
  /** When the oldest waiting hint was stored, or null. */
  oldestStoredAtMs(): number | null;
}

export class MemoryHintStore implements HintStore {
  private readonly byTarget = new Map<string, Map<string, Hint>>();
  private total = 0;
  private readonly limits: HintLimits;

  constructor(limits: HintLimits = hintLimitsDefault) {
    this.limits = limits;
  }

  async add(hint: Hint): Promise<boolean> {
    let hints = this.byTarget.get(hint.target);
    const held = hints?.get(hint.key);
    if (held !== undefined) {
      if (supersedes(hint.record, held.record)) hints?.set(hint.key, hint);
      return true;
    }
    if (this.total >= this.limits.totalMax || (hints?.size ?? 0) >= this.limits.perTargetMax) return false;
    if (hints === undefined) {
      hints = new Map();
      this.byTarget.set(hint.target, hints);
    }
    hints.set(hint.key, hint);
    this.total++;
    return true;
  }

  targets(): string[] {
    return [...this.byTarget.keys()];
  }

  async batch(target: string, limit: number): Promise<Hint[]> {
    const hints = this.byTarget.get(target);
    if (hints === undefined) return [];
    const out: Hint[] = [];
    for (const hint of hints.values()) {
      if (out.length >= limit) break;
      out.push(hint);
    }
    return out;
  }

  async remove(delivered: readonly Hint[]): Promise<void> {
    for (const hint of delivered) {
      const hints = this.byTarget.get(hint.target);
      if (hints?.get(hint.key) !== hint) continue;
      hints.delete(hint.key);
      this.total--;
      if (hints.size === 0) this.byTarget.delete(hint.target);
    }
  }

  count(): number {
    return this.total;
  }

  oldestStoredAtMs(): number | null {
    let oldest: number | null = null;
    for (const hints of this.byTarget.values()) {
      for (const hint of hints.values()) if (oldest === null || hint.storedAtMs < oldest) oldest = hint.storedAtMs;
    }
    return oldest;
  }
}
