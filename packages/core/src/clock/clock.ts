// The time seam of the core (DESIGN.md rule 1: pure core, injected world). Real nodes pass
// a clock backed by Date.now and setTimeout; tests and the simulator pass a virtual one.

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (may jump backwards on a real machine). */
  nowMs(): number;
  /** Run `callback` once after `delayMs`; returns a handle for `clearTimer`. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}
