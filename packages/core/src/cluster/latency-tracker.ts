// What a coordinator knows about how fast its replicas answer reads (rapid read
// protection, docs/guarantees.md "Slow and frozen replicas"): a rolling histogram of
// recent remote answers, whose percentile is how long a read waits before it asks one
// more replica, and per replica an estimate of its latency plus whether it owes answers
// it has gone silent on (a frozen process). Every update is O(1); a percentile walks a
// fixed number of buckets. Times come from the caller, so the tracker is pure.
import { invariant } from '../assert.js';
import { readLatencySamplesMax, readLatencySamplesMin, replicaLatencyForgetMs, replicaLatencyTrackedMax } from '../limits.js';

/** Four buckets per doubling: a bucket's bounds are ~19% apart, fine enough for a wait. */
const bucketsPerDoubling = 4;
/** Bucket 0 holds answers under 1 ms; the last holds everything from ~17 minutes up. */
const bucketCount = 1 + bucketsPerDoubling * 20;
/** Weight of the newest answer in a replica's latency estimate. */
const estimateWeight = 0.25;

function bucketOf(latencyMs: number): number {
  if (!(latencyMs >= 1)) return 0;
  return Math.min(bucketCount - 1, 1 + Math.floor(Math.log2(latencyMs) * bucketsPerDoubling));
}

/** The upper bound of a bucket: a percentile read from it errs on the slow side. */
function bucketUpperMs(bucket: number): number {
  return 2 ** (bucket / bucketsPerDoubling);
}

/** The latencies of the last `capacity` answers, as bucket counts. */
export class LatencyWindow {
  private readonly ring: Uint8Array;
  private readonly counts = new Uint32Array(bucketCount);
  private size = 0;
  private next = 0;
  /** The last percentile asked and its answer, until the next record: every read asks, few reads record. */
  private cachedPercentile = Number.NaN;
  private cachedMs: number | undefined;

  constructor(capacity = readLatencySamplesMax) {
    invariant(Number.isInteger(capacity) && capacity > 0, `a latency window holds at least one answer, not ${capacity}`);
    this.ring = new Uint8Array(capacity);
  }

  get count(): number {
    return this.size;
  }

  record(latencyMs: number): void {
    const bucket = bucketOf(latencyMs);
    if (this.size === this.ring.length) {
      const evicted = this.ring[this.next] as number;
      this.counts[evicted] = (this.counts[evicted] as number) - 1;
    } else this.size += 1;
    this.ring[this.next] = bucket;
    this.counts[bucket] = (this.counts[bucket] as number) + 1;
    this.next = (this.next + 1) % this.ring.length;
    this.cachedPercentile = Number.NaN;
  }

  /** The latency `percentile`% of recent answers came within (rounded up to a bucket bound); undefined when empty. */
  percentileMs(percentile: number): number | undefined {
    if (percentile === this.cachedPercentile) return this.cachedMs;
    this.cachedMs = this.walkPercentileMs(percentile);
    this.cachedPercentile = percentile;
    return this.cachedMs;
  }

  private walkPercentileMs(percentile: number): number | undefined {
    if (this.size === 0) return undefined;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.size));
    let seen = 0;
    for (let bucket = 0; bucket < bucketCount; bucket++) {
      seen += this.counts[bucket] as number;
      if (seen >= rank) return bucketUpperMs(bucket);
    }
    return bucketUpperMs(bucketCount - 1);
  }
}

export interface SpeculationOptions {
  /** Percentile of recent answers a read waits for before asking one more replica; 0 turns it off. */
  percentile: number;
  floorMs: number;
  maxMs: number;
}

interface ReplicaLatency {
  estimateMs: number;
  /** When the estimate last took an answer (or a timeout); an older one is forgotten. */
  sampledAtMs: number;
  /** Reads sent to it and not yet answered, failed or timed out. */
  inflight: number;
  /** Its last answer, or when it began to owe one after owing none. */
  silentSinceMs: number;
}

export class ReadLatencyTracker {
  private readonly options: SpeculationOptions;
  private readonly window: LatencyWindow;
  private readonly replicas = new Map<string, ReplicaLatency>();

  constructor(options: SpeculationOptions, window = new LatencyWindow()) {
    invariant(options.percentile >= 0 && options.percentile <= 100, `the speculative percentile is 0..100, not ${options.percentile}`);
    invariant(options.floorMs >= 0 && options.floorMs <= options.maxMs, `the speculative floor (${options.floorMs}) is 0..max (${options.maxMs})`);
    this.options = options;
    this.window = window;
  }

  /**
   * How long a read waits for the replicas it asked before it asks one more; undefined
   * when rapid read protection is off. Too few answers yet for a percentile: the maximum.
   */
  speculateAfterMs(): number | undefined {
    if (this.options.percentile === 0) return undefined;
    const percentileMs = this.window.count < readLatencySamplesMin ? undefined : this.window.percentileMs(this.options.percentile);
    if (percentileMs === undefined) return this.options.maxMs;
    return Math.min(this.options.maxMs, Math.max(this.options.floorMs, Math.ceil(percentileMs)));
  }

  asked(nodeId: string, nowMs: number): void {
    const replica = this.replicaOf(nodeId, nowMs);
    if (replica.inflight === 0) replica.silentSinceMs = nowMs;
    replica.inflight += 1;
  }

  /**
   * A replica answered after `latencyMs`. `counted`: the answer arrived while its read still
   * waited for it; only those shape the wait, so late answers of a slow replica (already
   * covered by another) do not drag the percentile up to their own pace.
   */
  answered(nodeId: string, latencyMs: number, nowMs: number, counted: boolean): void {
    const replica = this.replicaOf(nodeId, nowMs);
    replica.inflight = Math.max(0, replica.inflight - 1);
    replica.silentSinceMs = nowMs;
    this.sample(replica, latencyMs, nowMs);
    if (counted) this.window.record(latencyMs);
  }

  /** A read failed: an error is an answer (the replica is not frozen); a timeout counts as its whole wait. */
  failed(nodeId: string, elapsedMs: number, nowMs: number, timedOut: boolean): void {
    const replica = this.replicaOf(nodeId, nowMs);
    replica.inflight = Math.max(0, replica.inflight - 1);
    if (timedOut) this.sample(replica, elapsedMs, nowMs);
    else replica.silentSinceMs = nowMs;
  }

  /**
   * Slow: it owes answers and has said nothing for longer than `thresholdMs` (frozen, or
   * stuck), or its recent answers take longer than that. Such a replica is asked last.
   */
  isSlow(nodeId: string, nowMs: number, thresholdMs: number): boolean {
    const replica = this.replicas.get(nodeId);
    if (replica === undefined) return false;
    if (replica.inflight > 0 && nowMs - replica.silentSinceMs > thresholdMs) return true;
    return nowMs - replica.sampledAtMs <= replicaLatencyForgetMs && replica.estimateMs > thresholdMs;
  }

  private sample(replica: ReplicaLatency, latencyMs: number, nowMs: number): void {
    const fresh = nowMs - replica.sampledAtMs > replicaLatencyForgetMs || replica.estimateMs < 0;
    replica.estimateMs = fresh ? latencyMs : replica.estimateMs + estimateWeight * (latencyMs - replica.estimateMs);
    replica.sampledAtMs = nowMs;
  }

  private replicaOf(nodeId: string, nowMs: number): ReplicaLatency {
    let replica = this.replicas.get(nodeId);
    if (replica !== undefined) return replica;
    if (this.replicas.size >= replicaLatencyTrackedMax) {
      // Members come and go; an entry owed nothing is only an estimate, cheap to relearn.
      for (const [id, held] of this.replicas) if (held.inflight === 0) this.replicas.delete(id);
    }
    replica = { estimateMs: -1, sampledAtMs: nowMs, inflight: 0, silentSinceMs: nowMs };
    this.replicas.set(nodeId, replica);
    return replica;
  }
}
