// A deterministic clock for tests and the simulator: time moves only when `advance` is
// called, and timers fire in (due time, creation order) order.
import type { Clock, TimerHandle } from './clock.js';

interface PendingTimer {
  id: number;
  dueMs: number;
  callback: () => void;
}

export class VirtualClock implements Clock {
  private currentMs: number;
  private nextId = 1;
  private readonly timers = new Map<number, PendingTimer>();

  constructor(startMs = 1_700_000_000_000) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, dueMs: this.currentMs + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Timers not yet fired. */
  pendingCount(): number {
    return this.timers.size;
  }

  /** Set the wall clock without firing timers (to model a clock jump). */
  jumpTo(ms: number): void {
    this.currentMs = ms;
  }

  /** Move time forward by `deltaMs`, firing every timer that falls due, in order. */
  advance(deltaMs: number): void {
    const targetMs = this.currentMs + deltaMs;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.dueMs > targetMs) break;
      this.timers.delete(next.id);
      this.currentMs = Math.max(this.currentMs, next.dueMs);
      next.callback();
    }
    this.currentMs = Math.max(this.currentMs, targetMs);
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.timers.values()) {
      if (best === undefined || timer.dueMs < best.dueMs || (timer.dueMs === best.dueMs && timer.id < best.id)) {
        best = timer;
      }
    }
    return best;
  }
}
