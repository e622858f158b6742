// One quorum read's I/O (docs/design.md, "Consistency"): asks replicas in read order,
// collects answers, and does what `decideRead` (decide-read.ts) decides after each answer,
// failure or timer: ask more (after failures, or speculatively when those asked are
// slow), wait, finish or fail. Timers come from the injected Clock, so a simulated read replays from
// its seed. What happens once the read is answered (repair, the clock) is the caller's.
import type { Clock, TimerHandle } from '../clock/clock.js';
import { PeerError } from '../protocol/transport.js';
import type { StoredRecord } from '../storage/record.js';
import type { ReadLatencyTracker } from './latency-tracker.js';
import { describeFailures, ReadFailedError, type ReplicaFailure } from './outcomes.js';
import { decideRead } from './decide-read.js';
import type { ReadOrder } from './read-plan.js';

export interface QuorumReadDeps {
  selfId: string;
  getFrom(nodeId: string): Promise<StoredRecord | undefined>;
  /** Without a clock (some unit tests) reads never speculate and latencies are not tracked. */
  clock: Clock | undefined;
  latency: ReadLatencyTracker;
  reasonOf(error: unknown): string;
  /** R answers arrived (called before the result resolves): every answer so far. */
  answered(replies: ReadonlyMap<string, StoredRecord | undefined>): void;
  /** An answer that arrived after the read was answered (a speculative or repair read). */
  answeredLate(nodeId: string, record: StoredRecord | undefined): void;
  /** The read asked one more replica because those asked were slow. */
  speculated(): void;
}

export interface QuorumReadPlan {
  required: number;
  order: ReadOrder;
  speculateAfterMs: number | undefined;
}

export class QuorumRead {
  /** Every answer once R arrived; rejects with ReadFailedError when R cannot arrive. */
  readonly result: Promise<ReadonlyMap<string, StoredRecord | undefined>>;
  private readonly deps: QuorumReadDeps;
  private readonly plan: QuorumReadPlan;
  private readonly replies = new Map<string, StoredRecord | undefined>();
  private readonly failures: ReplicaFailure[] = [];
  private next = 0;
  private inflight = 0;
  private settled = false;
  private timedOut = false;
  private lastAskAtMs: number;
  private timer: TimerHandle | undefined;
  /** The ask the armed timer counts from: answers in between leave it alone. */
  private timerFromAskAtMs = 0;
  private resolve!: (replies: ReadonlyMap<string, StoredRecord | undefined>) => void;
  private reject!: (error: Error) => void;

  constructor(deps: QuorumReadDeps, plan: QuorumReadPlan) {
    this.deps = deps;
    this.plan = plan;
    this.lastAskAtMs = this.nowMs();
    this.result = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Asks the first replicas; the outcome arrives in `result`. */
  start(): void {
    this.lastAskAtMs = this.nowMs();
    this.step(0);
  }

  /** Decides what to do now; `waitedAtLeastMs` is how long a timer that fired waited (the wall clock may have jumped). */
  private step(waitedAtLeastMs: number): void {
    if (this.settled) return;
    const { order } = this.plan.order;
    const decision = decideRead({
      required: this.plan.required,
      replies: this.replies.size,
      inflight: this.inflight,
      unasked: order.length - this.next,
      unaskedAvailable: Math.max(0, this.plan.order.available - this.next),
      waitedMs: Math.max(waitedAtLeastMs, this.nowMs() - this.lastAskAtMs),
      speculateAfterMs: this.deps.clock === undefined ? undefined : this.plan.speculateAfterMs,
    });
    switch (decision.kind) {
      case 'answered':
        this.finish();
        return;
      case 'failed':
        this.fail();
        return;
      case 'ask':
        if (decision.speculative) this.deps.speculated();
        for (let i = 0; i < decision.count; i++) this.ask(order[this.next++] as string);
        this.lastAskAtMs = this.nowMs();
        // Asked replicas may fail at once; decide again (the timer is re-armed there).
        this.step(0);
        return;
      case 'wait':
        this.armTimer(decision.recheckAfterMs);
        return;
    }
  }

  private ask(nodeId: string): void {
    this.inflight += 1;
    const remote = nodeId !== this.deps.selfId && this.deps.clock !== undefined;
    const askedAtMs = this.nowMs();
    if (remote) this.deps.latency.asked(nodeId, askedAtMs);
    this.deps.getFrom(nodeId).then(
      (record) => {
        this.inflight -= 1;
        const nowMs = this.nowMs();
        if (remote) this.deps.latency.answered(nodeId, Math.max(0, nowMs - askedAtMs), nowMs, !this.settled);
        if (this.settled) {
          this.deps.answeredLate(nodeId, record);
          return;
        }
        this.replies.set(nodeId, record);
        this.step(0);
      },
      (error: unknown) => {
        this.inflight -= 1;
        const timedOut = error instanceof PeerError && error.code === 'timeout';
        const nowMs = this.nowMs();
        if (remote) this.deps.latency.failed(nodeId, Math.max(0, nowMs - askedAtMs), nowMs, timedOut);
        if (this.settled) return;
        this.failures.push({ nodeId, reason: this.deps.reasonOf(error) });
        if (timedOut) this.timedOut = true;
        this.step(0);
      },
    );
  }

  /** Whether some replica has not been asked (yet). */
  hasUnasked(): boolean {
    return this.next < this.plan.order.order.length;
  }

  /** Asks every replica not asked yet; their answers arrive through `answeredLate`. */
  askRest(): void {
    const { order } = this.plan.order;
    while (this.next < order.length) this.ask(order[this.next++] as string);
  }

  private finish(): void {
    this.settled = true;
    this.clearTimer();
    this.deps.answered(this.replies);
    this.resolve(this.replies);
  }

  private fail(): void {
    this.settled = true;
    this.clearTimer();
    const { required } = this.plan;
    this.reject(
      new ReadFailedError(
        `only ${this.replies.size} of the ${required} replica answers needed arrived; failed: ${describeFailures(this.failures)}`,
        required,
        this.replies.size,
        this.failures,
        this.timedOut,
      ),
    );
  }

  private armTimer(delayMs: number | undefined): void {
    const clock = this.deps.clock;
    if (delayMs === undefined || clock === undefined) {
      this.clearTimer();
      return;
    }
    if (this.timer !== undefined && this.timerFromAskAtMs === this.lastAskAtMs) return;
    this.clearTimer();
    this.timerFromAskAtMs = this.lastAskAtMs;
    // When it fires, the read has waited at least this long, whatever the wall clock says.
    const waitedMs = Math.max(0, this.nowMs() - this.lastAskAtMs) + delayMs;
    this.timer = clock.setTimer(delayMs, () => {
      this.timer = undefined;
      this.step(waitedMs);
    });
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.deps.clock?.clearTimer(this.timer);
    this.timer = undefined;
  }

  private nowMs(): number {
    return this.deps.clock?.nowMs() ?? 0;
  }
}
