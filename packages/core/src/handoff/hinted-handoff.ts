// Delivers hints to their target replicas once those are up again, a bounded batch per
// target per round, through the same pushRecords message anti-entropy uses (the target
// keeps each record only if it is newer than its own). Delivered hints are removed. Each
// batch is paced by the node's background budget, so delivery gives way to clients.
//
// Hints are held through here, so that it knows since when this node holds writes that
// their replicas may lack: a write that reached no replica is only in hints, no range's
// verification covers it, and the node's repair horizon must not pass it (docs/design.md,
// "Repair"; simulator seed 2700828 of ring-changes, where the purge watermark passed such a
// write and only one replica took its late hint).
import type { BackgroundPace } from '../clock/background-budget.js';
import type { PushReply } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { Hint, HintStore } from './hint-store.js';
import { settledBy } from '../repair/tombstone-purge.js';

export interface HintedHandoffEvents {
  hintsDelivered?(target: string, count: number): void;
  hintsExpired?(target: string, count: number): void;
}

export interface HintedHandoffDeps {
  store: HintStore;
  transport: Transport;
  addressOf(nodeId: string): string | undefined;
  isUp(nodeId: string): boolean;
  /** True for a member that left the ring: its hints are dropped (its ranges moved on). */
  isGone?(nodeId: string): boolean;
  /** The tombstone watermark: a hint older than it is dropped, never delivered. */
  watermark?(): number;
  /** This node's HLC now (stamped on deliveries). */
  now?(): number;
  /** Paces deliveries by the client load (clock/background-budget.ts); full speed without it. */
  budget?: BackgroundPace & { nowMs(): number };
  events?: HintedHandoffEvents;
}

export interface HintedHandoffOptions {
  batchSize: number;
  requestTimeoutMs: number;
}

export const hintedHandoffDefaults: HintedHandoffOptions = { batchSize: 500, requestTimeoutMs: 5000 };

export class HintedHandoff {
  private readonly deps: HintedHandoffDeps;
  private readonly options: HintedHandoffOptions;
  private delivered = 0;
  /** Targets with a delivery under way: a round leaves them to it. */
  private readonly delivering = new Set<string>();
  /**
   * When the store last went from empty to holding hints (ms), undefined while it is empty:
   * no waiting hint was stored earlier. Hints found on disk at start are of unknown age,
   * so 0 then: the horizon stays where it was until they are gone.
   */
  private heldSince: number | undefined;

  constructor(deps: HintedHandoffDeps, options: Partial<HintedHandoffOptions> = {}) {
    this.deps = deps;
    this.options = { ...hintedHandoffDefaults, ...options };
    this.heldSince = deps.store.count() > 0 ? 0 : undefined;
  }

  /** Keeps a hint for its target (false when the store's bounds dropped it). */
  hold(hint: Hint): Promise<boolean> {
    this.heldSince ??= hint.storedAtMs;
    return this.deps.store.add(hint);
  }

  /** No hint waiting was stored before this time (ms); undefined when none waits. */
  heldSinceMs(): number | undefined {
    return this.heldSince;
  }

  get deliveredTotal(): number {
    return this.delivered;
  }

  /**
   * One batch to every target that is up and has no delivery under way, all at once. A
   * push lost on the way to one target waits out its timeout without holding up the
   * others' hints (and, with them, this node's repair horizon): rounds may overlap (the
   * node starts one each period, cluster-node.ts), and a later round delivers to the other
   * targets while that push still waits. Failures wait for the next round.
   */
  async round(): Promise<void> {
    const idle = this.deps.store.targets().filter((target) => !this.delivering.has(target));
    await Promise.all(idle.map((target) => this.deliverAlone(target)));
    if (this.deps.store.count() === 0) this.heldSince = undefined;
  }

  /** One delivery to `target`, the only one to it until it ends (no hint is pushed twice at once). */
  private async deliverAlone(target: string): Promise<void> {
    this.delivering.add(target);
    try {
      await this.deliverTo(target);
    } finally {
      this.delivering.delete(target);
    }
  }

  private async deliverTo(target: string): Promise<void> {
    const startedAtMs = this.deps.budget?.nowMs();
    const gone = this.deps.isGone?.(target) ?? false;
    const address = this.deps.addressOf(target);
    if (!gone && (address === undefined || !this.deps.isUp(target))) return;
    const hints = await this.deps.store.batch(target, this.options.batchSize);
    if (hints.length === 0) return;
    const watermark = this.deps.watermark?.() ?? 0;
    const live = gone ? [] : hints.filter((hint) => !settledBy(hint.record, watermark));
    if (live.length > 0) {
      try {
        (await this.deps.transport.request(
          address as string,
          { type: 'pushRecords', entries: live.map((hint) => [hint.key, hint.record]), sentHlc: this.deps.now?.() ?? 0, hinted: true },
          this.options.requestTimeoutMs,
        )) as PushReply;
      } catch {
        return;
      }
    }
    await this.deps.store.remove(hints);
    this.delivered += live.length;
    if (live.length > 0) this.deps.events?.hintsDelivered?.(target, live.length);
    if (hints.length > live.length) this.deps.events?.hintsExpired?.(target, hints.length - live.length);
    if (startedAtMs !== undefined) await this.deps.budget?.pause(startedAtMs);
  }
}
