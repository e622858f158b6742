// The time seam of the core (docs/design.md, "Pure core, injected world"). Real nodes pass
// a clock backed by Date.now and setTimeout; tests and the simulator pass a virtual one.

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (may jump backwards on a real machine). */
  nowMs(): number;
  /** Run `callback` once after `delayMs`; returns a handle for `clearTimer`. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/**
 * Lets sockets and timers run before the caller goes on. Long scans call it between
 * pages: an LMDB read is synchronous, so awaiting it alone never yields to the network,
 * and a node rescanning a million keys would stop answering (even its health check).
 */
export function yieldTurn(clock: Clock, pauseMs = 0): Promise<void> {
  return new Promise((resolve) => clock.setTimer(pauseMs, resolve));
}

/**
 * Background scans take at most half the time: after a page that took `sinceMs` of work,
 * pause as long (capped), so requests keep most of a busy CPU.
 */
export function pacedTurn(clock: Clock, startedAtMs: number): Promise<void> {
  return yieldTurn(clock, Math.min(50, Math.max(0, clock.nowMs() - startedAtMs)));
}
