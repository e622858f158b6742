// The receiving side of a ring transition (ring/placement.ts): a member that gains keys
// pulls them, batch by batch, from the members of the read ring. Each source sends only
// the keys whose replica set it leaves (so each key comes from the copy it replaces),
// or, when those replicas are unavailable, from every other replica. The cursor per
// source (a place in ring order) is checkpointed after each batch, so a restarted node
// resumes where it was. When every source is exhausted the member announces it
// (Membership.markSynced) and the status change that completes the transition follows
// (rebalance/rebalancer.ts).
//
// Batches are large (bounded by bytes, limits.ts) and pipelined: every source is asked at
// once, and once a source's batch arrives its next one is asked for, and comes while this
// one's records are applied as one write (Engine.applyBatch): one transaction, committed after the client
// writes waiting, so a batch does not hold them up.
import { backgroundSlice, type BackgroundPace } from '../clock/background-budget.js';
import type { Clock } from '../clock/clock.js';
import type { ByteRate } from '../clock/token-bucket.js';
import { payloadBytesOf } from '../cluster/key-scan.js';
import { transferRecordsPerApply, transferRecordsPerBatchMax } from '../limits.js';
import type { TransferBatchReply } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { Engine } from '../storage/engine.js';
import type { StoredRecord } from '../storage/record.js';
import type { RingCursor } from '../storage/ring-order.js';
import { jobPace, type JobKind, type JobStore, type JobView } from './job.js';

export interface TransferOptions {
  /** Records one batch may carry. */
  recordsPerBatch: number;
  requestTimeoutMs: number;
  /** Batches one call of `run` performs before it returns (the next round continues). */
  batchesPerRun: number;
}

export const transferDefaults: TransferOptions = {
  recordsPerBatch: transferRecordsPerBatchMax,
  requestTimeoutMs: 10_000,
  batchesPerRun: 10_000,
};

interface SourceCheckpoint {
  after: RingCursor | null;
  done: boolean;
  scanned: number;
  total: number;
}

export interface TransferCheckpoint {
  transition: number;
  readRing: number;
  targetRing: number;
  kind: JobKind;
  description: string;
  startedAtMs: number;
  finishedAtMs: number | null;
  paused: boolean;
  received: number;
  /** Bytes of the keys and values received (absent in a checkpoint saved by an older release). */
  receivedBytes?: number;
  unavailable: string[];
  sources: Record<string, SourceCheckpoint>;
}

export interface TransferPlan {
  transition: number;
  readRing: number;
  targetRing: number;
  kind: JobKind;
  description: string;
  /** Members of the read ring other than this node. */
  sources: readonly string[];
}

export interface TransferDeps {
  selfId: string;
  transport: Transport;
  addressOf(nodeId: string): string | undefined;
  isAvailable(nodeId: string): boolean;
  /** The node's engine (indexed, so received records enter anti-entropy's index). */
  engine: Engine;
  clock: Clock;
  store: JobStore;
  /** Folds a received record's timestamp into this node's clock; throws for one too far ahead. */
  observe?(hlc: number): void;
  /** False for a record that must not be stored (a tombstone below the purge watermark). */
  accepts?(record: StoredRecord): boolean;
  /** True while `plan` is still the transition under way. */
  current(transition: number): boolean;
  /** Paces the batches so that the transfer yields to clients here (clock/background-budget.ts); unpaced without it. */
  budget?: BackgroundPace;
  /** Caps the bytes per second received (clock/token-bucket.ts, PUT /jobs/pace); uncapped without it. */
  rate?: ByteRate;
  events?: { recordsReceived?(count: number): void };
}

const checkpointName = 'transfer';

/** A source's next batch, asked for while others are applied. */
interface BatchAhead {
  nodeId: string;
  after: RingCursor | null;
  /** The unavailable members it was asked with: a different set makes it stale. */
  unavailable: string;
  reply: Promise<TransferBatchReply | undefined>;
}

export class Transfer {
  private readonly deps: TransferDeps;
  private readonly options: TransferOptions;
  private checkpoint: TransferCheckpoint | undefined;

  constructor(deps: TransferDeps, options: Partial<TransferOptions> = {}) {
    this.deps = deps;
    this.options = { ...transferDefaults, ...options };
    this.checkpoint = readCheckpoint(deps.store.load(checkpointName));
  }

  /** The checkpointed transition, if any (finished or not). */
  get transition(): number | undefined {
    return this.checkpoint?.transition;
  }

  /**
   * Pulls batches for `plan` until every source is exhausted, the job is paused, the
   * transition changes or the batch budget is spent. Resolves true when the transfer is
   * complete. Errors from a source leave its cursor where it was; the next run retries.
   */
  async run(plan: TransferPlan): Promise<boolean> {
    const job = await this.begin(plan);
    if (job.finishedAtMs !== null) return true;
    // Every open source has its next batch asked for at once: each paces its walks by its
    // own budget (its clients' load), so asking them together moves data as fast as the
    // least busy allow, while this node stores one batch at a time.
    const asked = new Map<string, BatchAhead>();
    for (let batch = 0; batch < this.options.batchesPerRun; batch++) {
      if (job.paused || !this.deps.current(plan.transition)) return false;
      await this.noticeUnavailable(job, plan);
      const open = plan.sources.filter((nodeId) => !(job.sources[nodeId] as SourceCheckpoint).done && this.deps.isAvailable(nodeId));
      if (open.length === 0) {
        // Every source is done (noticeUnavailable marks the unavailable ones). Unless some source answered, nothing was received: a transfer from nobody is no transfer.
        if (plan.sources.length > 0 && plan.sources.every((nodeId) => job.unavailable.includes(nodeId))) return false;
        job.finishedAtMs = this.deps.clock.nowMs();
        await this.save();
        return true;
      }
      const unavailable = job.unavailable.join();
      for (const nodeId of open) {
        const after = (job.sources[nodeId] as SourceCheckpoint).after;
        const ahead = asked.get(nodeId);
        // An answer to a request made before the source's cursor moved back (a rescan) or with a different set of unavailable members is stale.
        if (ahead !== undefined && sameCursor(ahead.after, after) && ahead.unavailable === unavailable) continue;
        asked.set(nodeId, { nodeId, after, unavailable, reply: this.ask(job, plan, nodeId, after) });
      }
      for (const nodeId of asked.keys()) if (!open.includes(nodeId)) asked.delete(nodeId);
      const { ahead, reply } = await Promise.race([...asked.values()].map((ahead) => ahead.reply.then((reply) => ({ ahead, reply }))));
      asked.delete(ahead.nodeId);
      if (reply === undefined || !reply.ringsMatch) return false; // unanswered, or the source has not seen the same rings yet
      if (reply.next !== null) asked.set(ahead.nodeId, { nodeId: ahead.nodeId, after: reply.next, unavailable, reply: this.ask(job, plan, ahead.nodeId, reply.next) });
      // Paced by the work done here, storing the batch (in `take`): the source's walk is paced
      // by the source's own budget before it answers (cluster-node.ts, pacedForPeers).
      // Counting the wait for its answer here too paced each batch twice over.
      if (!(await this.take(job, plan, job.sources[ahead.nodeId] as SourceCheckpoint, reply))) return false;
    }
    return false;
  }

  pause(): boolean {
    if (this.checkpoint === undefined || this.checkpoint.finishedAtMs !== null || this.checkpoint.paused) return false;
    this.checkpoint.paused = true;
    void this.save().catch(() => undefined); // a disk that refuses it: the next batch saves again
    return true;
  }

  resume(): boolean {
    if (this.checkpoint === undefined || !this.checkpoint.paused) return false;
    this.checkpoint.paused = false;
    void this.save().catch(() => undefined); // a disk that refuses it: the next batch saves again
    return true;
  }

  /** The checkpointed job (it exists once the transfer began, after the settle period). */
  view(): JobView | undefined {
    const job = this.checkpoint;
    if (job === undefined) return undefined;
    const sources = Object.entries(job.sources).map(([nodeId, source]) => ({ nodeId, scanned: source.scanned, total: Math.max(source.total, source.scanned), done: source.done }));
    const keysDone = sources.reduce((sum, source) => sum + source.scanned, 0);
    const keysTotal = sources.reduce((sum, source) => sum + source.total, 0);
    const nowMs = job.finishedAtMs ?? this.deps.clock.nowMs();
    const pace = jobPace(keysDone, keysTotal, job.receivedBytes ?? 0, job.startedAtMs, nowMs);
    return {
      id: `transfer-${job.transition.toString(16)}`,
      kind: job.kind,
      node: this.deps.selfId,
      state: job.finishedAtMs !== null ? 'done' : job.paused ? 'paused' : 'running',
      description: job.description,
      keysDone,
      keysTotal,
      recordsMoved: job.received,
      bytesMoved: job.receivedBytes ?? 0,
      ...pace,
      startedAtMs: job.startedAtMs,
      finishedAtMs: job.finishedAtMs,
      sources,
    };
  }

  private async begin(plan: TransferPlan): Promise<TransferCheckpoint> {
    if (this.checkpoint?.transition === plan.transition) return this.checkpoint;
    const sources: Record<string, SourceCheckpoint> = {};
    for (const nodeId of plan.sources) sources[nodeId] = { after: null, done: false, scanned: 0, total: 0 };
    this.checkpoint = {
      transition: plan.transition,
      readRing: plan.readRing,
      targetRing: plan.targetRing,
      kind: plan.kind,
      description: plan.description,
      startedAtMs: this.deps.clock.nowMs(),
      finishedAtMs: null,
      paused: false,
      received: 0,
      unavailable: [],
      sources,
    };
    await this.save();
    return this.checkpoint;
  }

  /**
   * A source that became unavailable sends nothing more, so the keys it alone would have
   * sent must come from the other replicas: they scan again with the new set.
   */
  private async noticeUnavailable(job: TransferCheckpoint, plan: TransferPlan): Promise<void> {
    // A source back from being unavailable (a partition healed, a blip of suspicion) holds
    // keys it alone may have, written while it was away from the others: it scans again
    // from the start, and the transfer is not complete until it has.
    const returned = job.unavailable.filter((nodeId) => this.deps.isAvailable(nodeId));
    for (const nodeId of returned) job.sources[nodeId] = { after: null, done: false, scanned: 0, total: 0 };
    if (returned.length > 0) job.unavailable = job.unavailable.filter((nodeId) => !returned.includes(nodeId));
    const lost = plan.sources.filter((nodeId) => !this.deps.isAvailable(nodeId) && !job.unavailable.includes(nodeId) && !(job.sources[nodeId] as SourceCheckpoint).done);
    if (lost.length === 0) {
      if (returned.length > 0) await this.save();
      return;
    }
    job.unavailable = [...job.unavailable, ...lost].sort();
    for (const nodeId of plan.sources) {
      if (job.unavailable.includes(nodeId)) continue;
      const source = job.sources[nodeId] as SourceCheckpoint;
      source.after = null;
      source.done = false;
      source.scanned = 0;
    }
    for (const nodeId of lost) (job.sources[nodeId] as SourceCheckpoint).done = true;
    await this.save();
  }

  /** One batch from `nodeId` after `after`; undefined when it did not answer (never rejects: a batch asked ahead may be dropped). */
  private async ask(job: TransferCheckpoint, plan: TransferPlan, nodeId: string, after: RingCursor | null): Promise<TransferBatchReply | undefined> {
    const address = this.deps.addressOf(nodeId);
    if (address === undefined) return undefined;
    try {
      return await this.deps.transport.request(
        address,
        { type: 'transferScan', readRing: plan.readRing, targetRing: plan.targetRing, forNode: this.deps.selfId, unavailable: [...job.unavailable], after, limit: this.options.recordsPerBatch },
        this.options.requestTimeoutMs,
      );
    } catch {
      return undefined;
    }
  }

  /** Stores a batch's records (all applied at once) and moves the source's cursor past it; false when the transition changed meanwhile. */
  private async take(job: TransferCheckpoint, plan: TransferPlan, source: SourceCheckpoint, reply: TransferBatchReply): Promise<boolean> {
    const taken: Array<[string, StoredRecord]> = [];
    let bytes = 0;
    for (const [key, record] of reply.entries) {
      bytes += payloadBytesOf(key, record);
      if (this.deps.accepts?.(record) === false) continue;
      try {
        this.deps.observe?.(record.hlc);
      } catch {
        continue; // stamped too far in the future (the clock-skew guard); anti-entropy decides later
      }
      taken.push([key, record]);
    }
    // Stored a slice at a time, each paced by the budget for the work it took: a whole
    // batch's work is longer than the longest pause, so pacing once per batch gave
    // background work more than its share under client load.
    // Smaller slices while clients load this node: each one's transaction holds the event loop.
    let stored = 0;
    for (let from = 0; from < taken.length; ) {
      const sliceStartedAtMs = this.deps.clock.nowMs();
      const to = from + backgroundSlice(this.deps.budget, transferRecordsPerApply);
      const outcomes = await this.deps.engine.applyBatch(taken.slice(from, to));
      from = to;
      stored += outcomes.filter((outcome) => outcome.applied).length;
      await this.deps.budget?.pause(sliceStartedAtMs);
    }
    if (!this.deps.current(plan.transition) || this.checkpoint !== job) return false;
    job.received += stored;
    job.receivedBytes = (job.receivedBytes ?? 0) + bytes;
    source.scanned += reply.scanned;
    source.total = reply.total;
    source.after = reply.next;
    source.done = reply.next === null;
    if (source.done) source.scanned = Math.max(source.scanned, source.total);
    this.deps.events?.recordsReceived?.(stored);
    await this.save();
    // The cap is paid after the batch, so the next one waits: a batch is never cut short.
    await this.deps.rate?.take(bytes);
    return true;
  }

  private save(): Promise<void> {
    return this.deps.store.save(checkpointName, this.checkpoint);
  }
}

function readCheckpoint(value: unknown): TransferCheckpoint | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const job = value as Partial<TransferCheckpoint>;
  if (typeof job.transition !== 'number' || typeof job.sources !== 'object' || job.sources === null) return undefined;
  // A cursor saved by a release that walked keys in key order (a string) means nothing in
  // ring order: that source is walked again from the start.
  for (const source of Object.values(job.sources)) {
    if (source.after !== null && typeof source.after !== 'object') Object.assign(source, { after: null, done: false, scanned: 0 });
  }
  return value as TransferCheckpoint;
}

function sameCursor(a: RingCursor | null, b: RingCursor | null): boolean {
  return a === null || b === null ? a === b : a.token === b.token && a.key === b.key;
}
