// Continuous anti-entropy (docs/design.md, "Repair"; Dynamo §4.7). Each round this node picks
// the next peer it shares ring ranges with, compares the digest of every shared range, and
// for each range that differs exchanges the keys' version hashes and then only the records
// that differ, in both directions (each side keeps the newer version, so the exchange is
// safe whichever side is behind). A round is bounded: ranges compared, ranges repaired and
// keys moved per batch are limits. Each range remembers when it was last verified equal on
// all of its replicas; the oldest such time over this node's ranges is its repair horizon,
// unless the node holds hints older than that: a write that reached no replica is only there.
// Digests and version hashes come from the engine's ring index (storage/ring-order.ts):
// nothing per key is kept here, and a ring change rebuilds nothing.
import type { Engine } from '../storage/engine.js';
import type { StoredRecord } from '../storage/record.js';
import type { BackgroundPace } from '../clock/background-budget.js';
import type { Clock } from '../clock/clock.js';
import type { DigestsReply, DigestsRequest, PullRecordsRequest, PushRecordsRequest, RangeEntriesReply, RangeEntriesRequest, RecordsReply, PushReply } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { Ring, RingArc } from '../ring/ring.js';
import type { RangeSummary, RingCursor } from '../storage/ring-order.js';
import { purgedBy } from './tombstone-purge.js';

export interface AntiEntropyOptions {
  /**
   * Ranges whose digests are compared in one message. Each side sums them at once on its
   * event loop (bucket digests, and the rows at each arc's edges): all 768 ranges of three
   * nodes of 256 vnodes in one message held it for 50-140 ms, so a round asks in pieces,
   * paced between them.
   */
  digestsPerMessage: number;
  /** Differing ranges repaired per round. */
  rangesRepairedPerRound: number;
  /** Keys pushed or pulled per message. */
  keysPerBatch: number;
  requestTimeoutMs: number;
}

/** Version hashes read from the engine per page while a range's entries are gathered. */
const rangeEntriesPage = 4096;

export const antiEntropyDefaults: AntiEntropyOptions = {
  digestsPerMessage: 128,
  rangesRepairedPerRound: 16,
  keysPerBatch: 500,
  requestTimeoutMs: 5000,
};

export interface AntiEntropyEvents {
  /** Records this node sent to or took from a peer to repair it or itself. */
  keysRepaired?(count: number): void;
}

export interface AntiEntropyDeps {
  selfId: string;
  /** The read ring: its ranges are the ones compared. */
  ring(): Ring;
  engine: Engine;
  transport: Transport;
  addressOf(nodeId: string): string | undefined;
  isAvailable(nodeId: string): boolean;
  clock: Clock;
  /** Folds a pulled record's timestamp into this node's clock; throws for one too far ahead. */
  observe?(hlc: number): void;
  /** The tombstone watermark (repair/tombstone-purge.ts), and how a higher one from a peer is taken. */
  watermark?(): number;
  adoptWatermark?(watermark: number): void;
  /**
   * Since when this node holds writes for other replicas that they may lack (its hints;
   * undefined for none). Such a write is in no range's verification: its replicas were
   * equal without it. The horizon stops there, or the purge watermark could pass it and
   * its hints be taken by a replica whose watermark lags and dropped by the others.
   */
  hintsHeldSinceMs?(): number | undefined;
  /** This node's HLC now, stamped on pushes so a receiver can drop one delayed past its watermark. */
  now?(): number;
  /** Paces the round between messages so that it yields to clients (clock/background-budget.ts); unpaced without it. */
  budget?: BackgroundPace;
  events?: AntiEntropyEvents;
}

export interface RepairStatus {
  /** Oldest time (ms) at which one of this node's ranges was verified on all its replicas, and not past its oldest hint; null until all were. */
  horizonMs: number | null;
  rangesVerified: number;
  rangesOwned: number;
  keysRepaired: number;
  rounds: number;
}

export class AntiEntropy {
  private readonly deps: AntiEntropyDeps;
  private readonly options: AntiEntropyOptions;
  /** Per range: when each peer was last seen to hold the same digest. */
  private verifiedWith = new Map<number, Map<string, number>>();
  private verifiedRing: Ring | undefined;
  /** The peer of the last round: the next round takes the next available one after it. */
  private lastPeer: string | undefined;
  private keysRepaired = 0;
  private rounds = 0;

  constructor(deps: AntiEntropyDeps, options: Partial<AntiEntropyOptions> = {}) {
    this.deps = deps;
    this.options = { ...antiEntropyDefaults, ...options };
  }

  /** One bounded round with the next peer. Resolves when it is done (errors are swallowed: the next round retries). */
  async round(): Promise<void> {
    const ring = this.deps.ring();
    this.resetIfRingChanged(ring);
    const peer = this.nextPeer(ring);
    if (peer === undefined) return;
    const address = this.deps.addressOf(peer);
    if (address === undefined) return;
    this.rounds++;
    try {
      const shared = sharedRanges(ring, this.deps.selfId, peer);
      const views = ring.ranges();
      const differing: number[] = [];
      for (let start = 0; start < shared.length; start += this.options.digestsPerMessage) {
        const startedAtMs = this.deps.clock.nowMs();
        const ranges = shared.slice(start, start + this.options.digestsPerMessage);
        const watermark = this.watermark();
        const reply = await this.ask<DigestsReply>(address, { type: 'digests', ring: ring.fingerprint, ranges, watermark });
        // Replicas compare digests only under the same watermark: with different ones, one
        // side still counts tombstones the other has purged. The lower side catches up first.
        if (reply.watermark !== watermark) {
          this.deps.adoptWatermark?.(reply.watermark);
          return;
        }
        if (reply.ring !== ring.fingerprint || reply.summaries.length !== ranges.length) return;
        const ours = await this.summaries(views, ranges);
        ranges.forEach((range, i) => {
          const [digest, keys] = reply.summaries[i] as [number, number];
          const summary = ours[i] as RangeSummary;
          if (summary.digest === digest && summary.keys === keys) this.markVerified(ring, range, peer);
          else differing.push(range);
        });
        await this.pace(startedAtMs);
      }
      for (const range of differing.slice(0, this.options.rangesRepairedPerRound)) {
        const startedAtMs = this.deps.clock.nowMs();
        await this.repairRange(ring, views, address, range);
        await this.pace(startedAtMs);
      }
    } catch {
      // The peer went away or timed out; a later round tries again.
    }
  }

  /** Answers a peer's digest request from this node's engine. */
  async digestsFor(request: DigestsRequest): Promise<DigestsReply> {
    this.deps.adoptWatermark?.(request.watermark);
    const watermark = this.watermark();
    const ring = this.deps.ring();
    if (ring.fingerprint !== request.ring) return { type: 'digestsReply', ring: ring.fingerprint, summaries: [], watermark };
    const views = ring.ranges();
    const ranges = request.ranges.filter((range) => range < views.length);
    if (ranges.length !== request.ranges.length) return { type: 'digestsReply', ring: ring.fingerprint, summaries: [], watermark };
    const summaries = await this.summaries(views, ranges);
    return { type: 'digestsReply', ring: request.ring, watermark, summaries: summaries.map((summary) => [summary.digest, summary.keys]) };
  }

  async rangeEntriesFor(request: RangeEntriesRequest): Promise<RangeEntriesReply> {
    const ring = this.deps.ring();
    const view = ring.ranges()[request.range];
    if (ring.fingerprint !== request.ring || view === undefined) return { type: 'rangeEntriesReply', ring: ring.fingerprint, entries: [] };
    return { type: 'rangeEntriesReply', ring: request.ring, entries: await this.entriesOf(view) };
  }

  status(): RepairStatus {
    const ring = this.deps.ring();
    this.resetIfRingChanged(ring);
    const owned = ring.ranges().flatMap((range, i) => (range.replicas.includes(this.deps.selfId) ? [i] : []));
    let oldest: number | null = null;
    let verified = 0;
    for (const range of owned) {
      const at = this.verifiedOnAll(ring, range);
      if (at === undefined) continue;
      verified++;
      if (oldest === null || at < oldest) oldest = at;
    }
    const hintsSinceMs = this.deps.hintsHeldSinceMs?.();
    if (oldest !== null && hintsSinceMs !== undefined) oldest = Math.min(oldest, hintsSinceMs);
    return {
      horizonMs: verified === owned.length && owned.length > 0 ? oldest : null,
      rangesVerified: verified,
      rangesOwned: owned.length,
      keysRepaired: this.keysRepaired,
      rounds: this.rounds,
    };
  }

  /** The summaries of the numbered ranges of `views`, from the engine. */
  private summaries(views: readonly RingArc[], ranges: readonly number[]): Promise<RangeSummary[]> {
    return Promise.all(ranges.map((range) => {
      const arc = views[range] as RingArc;
      return this.deps.engine.summarize(arc.start, arc.end);
    }));
  }

  /** Every key of the arc with the hash of the version held, read from the engine page by page. */
  private async entriesOf(arc: RingArc): Promise<Array<[string, number]>> {
    const entries: Array<[string, number]> = [];
    let after: RingCursor | undefined;
    for (;;) {
      const page = await this.deps.engine.ringKeys({ start: arc.start, end: arc.end, limit: rangeEntriesPage, ...(after !== undefined ? { after } : {}) });
      for (const entry of page) entries.push([entry.key, entry.versionHash]);
      const last = page[page.length - 1];
      if (last === undefined || page.length < rangeEntriesPage) return entries;
      after = { token: last.token, key: last.key };
    }
  }

  private async repairRange(ring: Ring, views: readonly RingArc[], address: string, range: number): Promise<void> {
    const reply = await this.ask<RangeEntriesReply>(address, { type: 'rangeEntries', ring: ring.fingerprint, range });
    if (reply.ring !== ring.fingerprint) return;
    const theirs = new Map(reply.entries);
    const ours = new Map(await this.entriesOf(views[range] as RingArc));
    const toPush = [...ours.keys()].filter((key) => theirs.get(key) !== ours.get(key));
    const toPull = [...theirs.keys()].filter((key) => ours.get(key) !== theirs.get(key));
    for (let start = 0; start < toPush.length; start += this.options.keysPerBatch) {
      const startedAtMs = this.deps.clock.nowMs();
      const entries: Array<[string, StoredRecord]> = [];
      for (const key of toPush.slice(start, start + this.options.keysPerBatch)) {
        const record = await this.deps.engine.get(key);
        if (record !== undefined) entries.push([key, record]);
      }
      const pushed = await this.ask<PushReply>(address, { type: 'pushRecords', entries, sentHlc: this.deps.now?.() ?? 0, hinted: false });
      this.count(pushed.applied);
      await this.pace(startedAtMs);
    }
    for (let start = 0; start < toPull.length; start += this.options.keysPerBatch) {
      const startedAtMs = this.deps.clock.nowMs();
      const pulled = await this.ask<RecordsReply>(address, { type: 'pullRecords', keys: toPull.slice(start, start + this.options.keysPerBatch) });
      let applied = 0;
      for (const [key, record] of pulled.entries) {
        if (record === null || purgedBy(record, this.watermark())) continue;
        try {
          this.deps.observe?.(record.hlc);
        } catch {
          continue; // a record stamped far in the future is not taken (clock skew guard)
        }
        if ((await this.deps.engine.apply(key, record)).applied) applied++;
      }
      this.count(applied);
      await this.pace(startedAtMs);
    }
  }

  /**
   * Gives way to clients after a step of the round that began at `startedAtMs` (issue 13:
   * background work yields); no pause while they are idle, nor without a budget.
   */
  private async pace(startedAtMs: number): Promise<void> {
    await this.deps.budget?.pause(startedAtMs);
  }

  private watermark(): number {
    return this.deps.watermark?.() ?? 0;
  }

  private count(keys: number): void {
    if (keys === 0) return;
    this.keysRepaired += keys;
    this.deps.events?.keysRepaired?.(keys);
  }

  private ask<T>(address: string, body: DigestsRequest | RangeEntriesRequest | PullRecordsRequest | PushRecordsRequest): Promise<T> {
    return this.deps.transport.request(address, body, this.options.requestTimeoutMs) as Promise<T>;
  }

  private markVerified(ring: Ring, range: number, peer: string): void {
    // Range numbers name ranges of the ring this round compared: not of one that replaced it meanwhile.
    if (this.verifiedRing !== ring || this.deps.ring() !== ring) return;
    let peers = this.verifiedWith.get(range);
    if (peers === undefined) {
      peers = new Map();
      this.verifiedWith.set(range, peers);
    }
    peers.set(peer, this.deps.clock.nowMs());
  }

  /** When the range was last verified with every other replica (the oldest of those times). */
  private verifiedOnAll(ring: Ring, range: number): number | undefined {
    const peers = this.verifiedWith.get(range);
    let oldest: number | undefined;
    for (const replica of ring.replicasOfRange(range)) {
      if (replica === this.deps.selfId) continue;
      const at = peers?.get(replica);
      if (at === undefined) return undefined;
      if (oldest === undefined || at < oldest) oldest = at;
    }
    return oldest ?? this.deps.clock.nowMs();
  }

  /**
   * The first available peer after the last one, in node id order: each peer that stays
   * available comes round within one round per other node, however others come and go. A
   * turn counter into the list of available peers skipped some and repeated others as that
   * list changed (simulator seed 4304778 of the standard profile: while suspicions came and
   * went after a partition healed, n1 took n5 four rounds running and compared nothing with
   * n4, which lacked a key n1 held).
   */
  private nextPeer(ring: Ring): string | undefined {
    const peers = ring.nodeIds.filter((nodeId) => nodeId !== this.deps.selfId && this.deps.isAvailable(nodeId)).sort();
    const last = this.lastPeer;
    const next = (last === undefined ? undefined : peers.find((nodeId) => nodeId > last)) ?? peers[0];
    if (next !== undefined) this.lastPeer = next;
    return next;
  }

  private resetIfRingChanged(ring: Ring): void {
    if (this.verifiedRing === ring) return;
    this.verifiedRing = ring;
    this.verifiedWith = new Map();
  }
}

/** Ranges for which both nodes are replicas. */
export function sharedRanges(ring: Ring, a: string, b: string): number[] {
  const shared: number[] = [];
  ring.ranges().forEach((range, index) => {
    if (range.replicas.includes(a) && range.replicas.includes(b)) shared.push(index);
  });
  return shared;
}
