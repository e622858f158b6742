// A byte rate for data movement (issue 14, "Pace background work"): transfers take tokens
// for the bytes they receive, and wait when the bucket is empty, so an operator can cap
// what a join, leave or removal costs the disks and the network, like Cassandra's stream
// throughput. The rate changes at run time (PUT /jobs/pace); 0 means no cap. It works
// beside the background budget (background-budget.ts), which still gives way to clients.
//
// Pure apart from the injected Clock, so the simulator replays it exactly.
import type { Clock } from './clock.js';

export interface ByteRateStatus {
  /** The cap in bytes per second; 0 for none. */
  bytesPerSecond: number;
  /** Bytes taken in all. */
  bytesTaken: number;
  /** Time spent waiting for tokens in all, ms. */
  waitedMs: number;
}

/** The narrow face a transfer sees: wait until `bytes` may be taken. */
export interface ByteRate {
  take(bytes: number): Promise<void>;
}

export class TokenBucket implements ByteRate {
  private readonly clock: Clock;
  private rate: number;
  private tokens: number;
  private refilledAtMs: number;
  private taken = 0;
  private waited = 0;

  /** `bytesPerSecond` 0 means no cap. */
  constructor(clock: Clock, bytesPerSecond: number) {
    this.clock = clock;
    this.rate = Math.max(0, bytesPerSecond);
    this.tokens = this.burst();
    this.refilledAtMs = clock.nowMs();
  }

  /** Sets a new cap (0: none); the tokens already held stay, up to the new burst. */
  setRate(bytesPerSecond: number): void {
    this.refill();
    this.rate = Math.max(0, bytesPerSecond);
    this.tokens = Math.min(this.tokens, this.burst());
  }

  status(): ByteRateStatus {
    return { bytesPerSecond: this.rate, bytesTaken: this.taken, waitedMs: this.waited };
  }

  /**
   * Takes `bytes`, resolving once the rate has paid for them. The bucket may go into debt
   * (a batch larger than a second's worth is never stuck); later takes wait the debt off.
   */
  async take(bytes: number): Promise<void> {
    this.taken += bytes;
    if (this.rate === 0) return;
    this.refill();
    this.tokens -= bytes;
    if (this.tokens >= 0) return;
    const waitMs = Math.ceil((-this.tokens / this.rate) * 1000);
    this.waited += waitMs;
    await new Promise<void>((resolve) => this.clock.setTimer(waitMs, resolve));
  }

  /** One second of the rate: what the bucket holds at most. */
  private burst(): number {
    return this.rate;
  }

  private refill(): void {
    const nowMs = this.clock.nowMs();
    const elapsedMs = Math.max(0, nowMs - this.refilledAtMs);
    this.refilledAtMs = nowMs;
    if (this.rate === 0) return;
    this.tokens = Math.min(this.burst(), this.tokens + (elapsedMs / 1000) * this.rate);
  }
}
