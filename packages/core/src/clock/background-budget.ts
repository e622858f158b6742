// How much of a node's time its background jobs may take (issue 13, "Every background job
// yields to clients"; docs/guarantees.md). Anti-entropy, transfers, cleanups, tombstone
// purges and index rebuilds work in pages; after each page they call `turn`, which pauses
// them in proportion to the work just done. The proportion follows the client load the
// shell reports: with no client request in flight they run at full speed (still yielding
// one timer turn, so sockets are served between pages), less the time threads of the
// machine waited for a CPU where the shell measures that: a node no client uses (one
// joining) still takes cores that other nodes' clients wait for. Under load they take the
// clients leave idle, less a headroom for bursts, when the shell measures how busy its
// event loop is (issue 14: counting requests in flight alone left a node that was half
// idle giving its cleanup a tenth of its time), and less the time threads waited for a
// CPU where the shell measures that (an idle event loop on a machine whose cores other
// processes take leaves nothing to take); and never less than the share the count of
// requests in flight gives, down to a floor that keeps them progressing.
//
// Pure apart from the injected Clock: the simulator and tests replay it exactly, and a
// node without a load signal (the simulator) runs its background work at full speed.
import {
  backgroundBusyWindowMs,
  backgroundIdleHeadroom,
  backgroundPauseMsMax,
  backgroundShareMin,
  backgroundSliceUnderLoad,
} from '../limits.js';
import { yieldTurn, type Clock } from './clock.js';

/** What the budget reads of client traffic (the shell's API counts its requests in flight). */
export interface ClientLoad {
  /** Client requests in flight now (or lately: the shell may smooth it). */
  inflight(): number;
  /**
   * The share of the last moment (about `backgroundBusyWindowMs`) the event loop was busy,
   * background work included; undefined while not measured. Without it the budget goes by
   * the count in flight alone.
   */
  busyShare?(): number | undefined;
  /**
   * The share of the last moment in which some thread of this machine (or of this node's
   * container) was ready to run and waited for a CPU; undefined where not measured. An
   * event loop idle while other processes take the cores leaves nothing to take: on a
   * machine shared with other nodes or a load generator, its idle time is theirs.
   */
  cpuPressure?(): number | undefined;
}

/** The narrow face background jobs see: pause after a page of work. */
export interface BackgroundPace {
  /**
   * Resolves after a pause sized by the work done since `startedAtMs` and the client load;
   * always through a timer, so that sockets are served between pages of a synchronous scan.
   */
  turn(startedAtMs: number): Promise<void>;
  /** The same pause, but at once (no timer turn) when there is none to take: for work that awaits I/O anyway. */
  pause(startedAtMs: number): Promise<void>;
  /** The pause `turn` would take now, in ms (0 when background work may run at full speed). */
  pauseMsAfter(startedAtMs: number): number;
  /**
   * Whether clients load this node now, so that background work gives way: it then works
   * in smaller slices (`backgroundSlice`), each holding the event loop for less.
   */
  underLoad(): boolean;
}

/**
 * The records (or keys) one slice of background work takes in a single step on the event
 * loop, such as one write transaction: `full` with no clients to wait on it, fewer while
 * clients load the node (limits.ts, backgroundSliceUnderLoad).
 */
export function backgroundSlice(pace: BackgroundPace | undefined, full: number): number {
  return pace?.underLoad() === true ? Math.min(full, backgroundSliceUnderLoad) : full;
}

export interface BackgroundBudgetOptions {
  /** The smallest share of time background work keeps under any client load (0 < share <= 1). */
  shareMin: number;
  /** The longest single pause, so a long page never stalls its job for long. */
  pauseMsMax: number;
  /** The share of time kept idle for client bursts when the busy share is known. */
  headroom: number;
  /** The window background work's own time is summed over, as the shell's busy share is. */
  busyWindowMs: number;
}

export const backgroundBudgetDefaults: BackgroundBudgetOptions = {
  shareMin: backgroundShareMin,
  pauseMsMax: backgroundPauseMsMax,
  headroom: backgroundIdleHeadroom,
  busyWindowMs: backgroundBusyWindowMs,
};

/** The lowest floor an operator may set: below it a busy node's ring change would all but stop. */
export const backgroundShareMinLowest = 0.01;

/** A valid floor for background work's share: from `backgroundShareMinLowest` to 1 (never giving way). */
export function isBackgroundShareMin(share: number): boolean {
  return Number.isFinite(share) && share >= backgroundShareMinLowest && share <= 1;
}

/**
 * The share of time background work may take with `inflight` client requests in flight:
 * all of it when idle, 1/(1 + inflight) under load (a half with one client request, the
 * same as the fixed pacing before the budget), never below `shareMin`.
 */
export function backgroundShare(inflight: number, shareMin: number): number {
  if (!(inflight > 0)) return 1;
  return Math.max(shareMin, 1 / (1 + inflight));
}

/**
 * The share of time background work may take when the event loop was `busy` for that
 * share of the last moment, `own` of it for background work, and threads waited for a CPU
 * `pressure` of it: the time the clients left idle less `headroom` and less the time the
 * cores were wanted elsewhere, and never less than `byCount` (what `backgroundShare` gives
 * for the requests in flight).
 */
export function idleShare(busy: number, own: number, headroom: number, byCount: number, pressure = 0): number {
  const clients = Math.max(0, busy - Math.max(0, Math.min(own, busy)));
  const contended = Math.max(0, Math.min(1, pressure));
  return Math.max(byCount, Math.min(1, 1 - headroom - clients - contended));
}

/**
 * The share of time background work may take on a node no client waits on, when threads
 * of the machine waited for a CPU `pressure` of the last moment: the rest, never less than
 * `shareMin`; all of it where pressure is not measured.
 */
export function contendedShare(pressure: number | undefined, shareMin: number): number {
  if (pressure === undefined || !(pressure > 0)) return 1;
  return Math.max(shareMin, 1 - Math.min(1, pressure));
}

/**
 * The pause after `workMs` of background work that leaves it `share` of the time:
 * work / (work + pause) = share. Capped at `pauseMsMax`.
 */
export function backgroundPauseMs(workMs: number, share: number, pauseMsMax: number): number {
  if (!(workMs > 0) || share >= 1) return 0;
  return Math.min(pauseMsMax, Math.ceil((workMs * (1 - share)) / share));
}

export class BackgroundBudget implements BackgroundPace {
  private readonly clock: Clock;
  private readonly load: ClientLoad | undefined;
  private readonly options: BackgroundBudgetOptions;
  /** Background work done in the current window, and the share it took of the last one. */
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private windowWorkMs = 0;
  private lastWindowShare = 0;

  constructor(clock: Clock, load?: ClientLoad, options: Partial<BackgroundBudgetOptions> = {}) {
    this.clock = clock;
    this.load = load;
    this.options = { ...backgroundBudgetDefaults, ...options };
  }

  /** The smallest share background work keeps under any client load. */
  shareMin(): number {
    return this.options.shareMin;
  }

  /**
   * Sets that floor at run time (PUT /jobs/pace): the next pause already follows it. An
   * operator who needs a ring change done sooner trades client latency for it.
   */
  setShareMin(share: number): void {
    if (!isBackgroundShareMin(share)) throw new RangeError(`a background share floor is from ${backgroundShareMinLowest} to 1, not ${share}`);
    this.options.shareMin = share;
  }

  /** The clock's time, for callers that time their work against this budget. */
  nowMs(): number {
    return this.clock.nowMs();
  }

  /**
   * The share of time background work may take now; `excluding` leaves out requests of the
   * caller's own (a GET /jobs that reports it is itself a request in flight).
   */
  share(excluding = 0): number {
    const inflight = (this.load?.inflight() ?? 0) - excluding;
    const byCount = backgroundShare(inflight, this.options.shareMin);
    // No client here: what other processes' clients wait for is the cores this work takes.
    if (byCount >= 1) return contendedShare(this.load?.cpuPressure?.(), this.options.shareMin);
    const busy = this.load?.busyShare?.();
    if (busy === undefined) return byCount;
    return idleShare(busy, this.ownShare(), this.options.headroom, byCount, this.load?.cpuPressure?.() ?? 0);
  }

  underLoad(): boolean {
    // Smaller slices only where clients of this node wait on its event loop.
    return backgroundShare(this.load?.inflight() ?? 0, this.options.shareMin) < 1;
  }

  pauseMsAfter(startedAtMs: number): number {
    const workMs = Math.max(0, this.clock.nowMs() - startedAtMs);
    this.noteWork(workMs);
    return backgroundPauseMs(workMs, this.share(), this.options.pauseMsMax);
  }

  /** Adds `workMs` of background work to the current window, opening a new one when it has passed. */
  private noteWork(workMs: number): void {
    this.rollWindow();
    this.windowWorkMs += workMs;
  }

  /** The share of the last whole window background work took here. */
  private ownShare(): number {
    this.rollWindow();
    return this.lastWindowShare;
  }

  private rollWindow(): void {
    const nowMs = this.clock.nowMs();
    const elapsedMs = nowMs - this.windowStartMs;
    if (elapsedMs < this.options.busyWindowMs) return;
    // A window long past (no work since) tells nothing of the last moment.
    this.lastWindowShare = elapsedMs < 2 * this.options.busyWindowMs ? Math.min(1, this.windowWorkMs / elapsedMs) : 0;
    this.windowStartMs = nowMs;
    this.windowWorkMs = 0;
  }

  turn(startedAtMs: number): Promise<void> {
    return yieldTurn(this.clock, this.pauseMsAfter(startedAtMs));
  }

  pause(startedAtMs: number): Promise<void> {
    const pauseMs = this.pauseMsAfter(startedAtMs);
    return pauseMs === 0 ? Promise.resolve() : yieldTurn(this.clock, pauseMs);
  }
}
