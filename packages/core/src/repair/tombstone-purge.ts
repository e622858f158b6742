// Tombstone purging that cannot bring deleted data back (docs/design.md, "Repair": never on a
// timer alone). Every member publishes its repair horizon: the oldest time at which one of
// its ranges was last verified equal on all of that range's replicas. A tombstone older
// than every member's horizon (less a margin for messages still in flight and for clock
// skew) is on every replica of its range, so all of them may drop it.
//
// The cutoff is a watermark on the HLC, which only rises and is kept on disk:
// - tombstones below it are removed from storage and from anti-entropy's digests;
// - a tombstone below it that arrives later is not stored (it would be purged anyway);
// - a write (or hint) stamped below it is refused as too old, so a message delayed past
//   the margin cannot revive a value whose tombstone is gone: the coordinator re-stamps.
// Anti-entropy carries each side's watermark and both sides adopt the higher one before
// their digests are compared, so replicas agree on which tombstones exist.
import type { BackgroundPace } from '../clock/background-budget.js';
import { hlcLogicalBits } from '../clock/hlc.js';
import type { JobStore } from '../rebalance/job.js';
import type { Engine } from '../storage/engine.js';
import { goneAt, type StoredRecord } from '../storage/record.js';

export interface TombstonePurgeDeps {
  /** Lists what is below the watermark (purgeable, in its ring index) and drops it. */
  engine: Engine;
  store: JobStore;
  nowMs(): number;
  /** Published repair horizons (ms, 0 for none yet) of every member that holds data. */
  horizons(): readonly number[];
  /** Where the purge cutoff comes from; `purgeBelowEveryHorizon` by default. */
  policy?: PurgePolicy;
  /**
   * True while the ring changes (a transition under way or a replaced ring settling): no
   * watermark rises and nothing is purged then. A node gaining a range may hold an older
   * copy of a key (a write that reached it, then a crash that cost it the delete), and no
   * horizon covers the ranges it is gaining: purged now, the delete could not reach it by
   * the transfer, and its old copy would come back.
   */
  ringChanging?(): boolean;
  /** Called when the watermark rises: the node's clock moves above it, so its own writes are never refused as too old. */
  raised?(watermark: number): void;
  /** Paces the batches so that the purge yields to clients (clock/background-budget.ts); unpaced without it. */
  budget?: BackgroundPace;
  events?: { tombstonesPurged?(count: number): void };
}

export interface TombstonePurgeOptions {
  /** Subtracted from the lowest horizon: covers messages in flight and clock skew between nodes. */
  marginMs: number;
  /** Tombstones removed per storage call. */
  batch: number;
}

/** A tombstone below the watermark, or a value that expired below it: purged everywhere, so never stored again. */
export function purgedBy(record: Pick<StoredRecord, 'tombstone' | 'hlc' | 'expiresAt'>, watermark: number): boolean {
  const gone = goneAt(record);
  return gone !== undefined && gone < watermark;
}

/**
 * A record below the watermark is settled: every replica verified it, or what replaced it,
 * since it was written. A hint that old is never needed, and taking it could revive a key
 * whose newer tombstone was purged (the hint was held back, or its holder's watermark
 * lags the receiver's), so hints below the watermark are dropped. Repair still moves such
 * records: a replica that lost its disk needs them.
 */
export function settledBy(record: Pick<StoredRecord, 'hlc'>, watermark: number): boolean {
  return record.hlc < watermark;
}

/** Where the purge cutoff comes from, before the margin is taken off. */
export interface PurgePolicy {
  /** Wall ms below which every tombstone may go (0: none may yet), from the members' horizons and the time. */
  cutoffMs(horizons: readonly number[], nowMs: number): number;
}

/**
 * Never on a timer alone: only below the oldest horizon of every member that holds data,
 * and not before each has published one. (The simulator plants a policy that purges on
 * time alone, testing/planted-bugs.ts, to prove it notices the deletes that come back.)
 */
export const purgeBelowEveryHorizon: PurgePolicy = Object.freeze({
  cutoffMs: (horizons: readonly number[]) => (horizons.length === 0 || horizons.some((horizon) => horizon === 0) ? 0 : Math.min(...horizons)),
});

export const tombstonePurgeDefaults: TombstonePurgeOptions = { marginMs: 60_000, batch: 1000 };

const watermarkName = 'tombstone-watermark';

export class TombstonePurge {
  private readonly deps: TombstonePurgeDeps;
  private readonly options: TombstonePurgeOptions;
  private mark: number;
  private purgedTotal = 0;

  constructor(deps: TombstonePurgeDeps, options: Partial<TombstonePurgeOptions> = {}) {
    this.deps = deps;
    this.options = { ...tombstonePurgeDefaults, ...options };
    const saved = deps.store.load(watermarkName);
    this.mark = typeof saved === 'number' ? saved : 0;
  }

  /** The HLC below which tombstones are gone and older writes are refused. */
  get watermark(): number {
    return this.mark;
  }

  get purged(): number {
    return this.purgedTotal;
  }

  /** Raises the watermark to `watermark` if that is higher (from a peer, or computed here); true if it rose. */
  adopt(watermark: number): boolean {
    if (watermark <= this.mark || this.deps.ringChanging?.() === true) return false;
    this.mark = watermark;
    this.deps.raised?.(watermark);
    void this.deps.store.save(watermarkName, watermark).catch(() => undefined);
    return true;
  }

  /** Computes the watermark from the members' horizons and purges what falls below it. */
  async round(): Promise<void> {
    if (this.deps.ringChanging?.() === true) return;
    this.adopt(this.candidate());
    if (this.mark === 0) return;
    for (let batch = 0; batch < 100; batch++) {
      const startedAtMs = this.deps.nowMs();
      const below = await this.deps.engine.purgeable({ below: this.mark, limit: this.options.batch });
      if (below.length === 0) return;
      const removed = await this.deps.engine.discard(below.map(({ key, hlc, nodeId }) => ({ key, hlc, nodeId })));
      if (removed.length > 0) {
        this.purgedTotal += removed.length;
        this.deps.events?.tombstonesPurged?.(removed.length);
      }
      // Records not removed were overwritten meanwhile; the next round looks again.
      if (removed.length < below.length) return;
      await this.deps.budget?.pause(startedAtMs);
      if (this.deps.ringChanging?.() === true) return;
    }
  }

  private candidate(): number {
    const toHlc = (ms: number) => Math.floor(Math.max(0, ms - this.options.marginMs)) * 2 ** hlcLogicalBits;
    const cutoffMs = (this.deps.policy ?? purgeBelowEveryHorizon).cutoffMs(this.deps.horizons(), this.deps.nowMs());
    return cutoffMs === 0 ? 0 : toHlc(cutoffMs);
  }
}
