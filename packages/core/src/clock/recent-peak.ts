// The most requests in flight lately (ClientLoad.inflight, clock/background-budget.ts). A
// light client's requests are short and seldom caught in flight at the moment a page of
// background work ends, yet their latency is what the budget protects: so a count in
// flight keeps counting at its peak for a window after the burst that reached it.

/** How long a burst of requests keeps counting as load after it ended. */
export const recentLoadWindowMs = 1000;

/** Requests in flight now, with their peak of the last `windowMs`. */
export class InflightCount {
  private count = 0;
  private peak = 0;
  private peakAtMs = Number.NEGATIVE_INFINITY;
  private readonly nowMs: () => number;
  private readonly windowMs: number;

  constructor(nowMs: () => number, windowMs = recentLoadWindowMs) {
    this.nowMs = nowMs;
    this.windowMs = windowMs;
  }

  /** One more in flight. */
  begin(): void {
    this.count++;
    this.notePeak(this.count);
  }

  /**
   * One served at once, begun and ended now: it counts as one more in flight for the
   * window, without a promise to await for its end (peer requests on every client request's path).
   */
  served(): void {
    this.notePeak(this.count + 1);
  }

  /** One fewer in flight; throws when more end than began (a caller's bug). */
  end(): void {
    this.count--;
    if (this.count < 0) throw new Error('a request ended that never began');
  }

  /** In flight now. */
  now(): number {
    return this.count;
  }

  /** In flight now, or the most in flight during the last window. */
  recent(): number {
    if (this.nowMs() - this.peakAtMs > this.windowMs) return this.count;
    return Math.max(this.count, this.peak);
  }

  private notePeak(count: number): void {
    const nowMs = this.nowMs();
    if (count >= this.peak || nowMs - this.peakAtMs > this.windowMs) {
      this.peak = count;
      this.peakAtMs = nowMs;
    }
  }
}
