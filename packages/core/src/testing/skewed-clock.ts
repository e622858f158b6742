// One node's view of wall time in a simulation: the shared virtual clock plus an offset
// and a drift rate, so nodes can disagree about the time and a node's clock can jump
// backwards (an NTP step, a VM resumed from a snapshot). Timers still run on the shared
// clock: a real machine measures timeouts with a monotonic clock that such steps do not move.
import type { Clock, TimerHandle } from '../clock/clock.js';

export class SkewedClock implements Clock {
  private readonly base: Clock;
  private offsetMs = 0;
  /** Milliseconds gained (negative: lost) per millisecond of shared time since `driftFromMs`. */
  private driftRate = 0;
  private driftFromMs: number;

  constructor(base: Clock) {
    this.base = base;
    this.driftFromMs = base.nowMs();
  }

  nowMs(): number {
    const sharedMs = this.base.nowMs();
    return sharedMs + this.offsetMs + (sharedMs - this.driftFromMs) * this.driftRate;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    return this.base.setTimer(delayMs, callback);
  }

  clearTimer(handle: TimerHandle): void {
    this.base.clearTimer(handle);
  }

  /** How far this clock is ahead of the shared one (negative: behind). */
  skewMs(): number {
    return this.nowMs() - this.base.nowMs();
  }

  /** Moves this clock by `deltaMs` at once; a negative delta is a backwards jump. */
  jump(deltaMs: number): void {
    this.offsetMs += deltaMs;
  }

  /** From now on the clock gains `rate` ms per ms of shared time (a negative rate loses time). */
  setDrift(rate: number): void {
    const sharedMs = this.base.nowMs();
    this.offsetMs += (sharedMs - this.driftFromMs) * this.driftRate;
    this.driftFromMs = sharedMs;
    this.driftRate = rate;
  }
}
