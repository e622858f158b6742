// How much of a node's time its background jobs may take (issue 13, "Every background job
// yields to clients"; docs/guarantees.md). Anti-entropy, transfers, cleanups, tombstone
// purges and index rebuilds work in pages; after each page they call `turn`, which pauses
// them in proportion to the work just done. The proportion follows the client load the
// shell reports: with no client request in flight they run at full speed (still yielding
// one timer turn, so sockets are served between pages); the busier the clients, the
// smaller their share, down to a floor that keeps them progressing.
//
// Pure apart from the injected Clock: the simulator and tests replay it exactly, and a
// node without a load signal (the simulator) runs its background work at full speed.
import {
  backgroundPauseMsMax,
  backgroundShareMin,
} from '../limits.js';
import { yieldTurn, type Clock } from './clock.js';

/** What the budget reads of client traffic (the shell's API counts its requests in flight). */
export interface ClientLoad {
  /** Client requests in flight now (or lately: the shell may smooth it). */
  inflight(): number;
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
}

export interface BackgroundBudgetOptions {
  /** The smallest share of time background work keeps under any client load (0 < share <= 1). */
  shareMin: number;
  /** The longest single pause, so a long page never stalls its job for long. */
  pauseMsMax: number;
}

export const backgroundBudgetDefaults: BackgroundBudgetOptions = {
  shareMin: backgroundShareMin,
  pauseMsMax: backgroundPauseMsMax,
};

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

  constructor(clock: Clock, load?: ClientLoad, options: Partial<BackgroundBudgetOptions> = {}) {
    this.clock = clock;
    this.load = load;
    this.options = { ...backgroundBudgetDefaults, ...options };
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
    return backgroundShare((this.load?.inflight() ?? 0) - excluding, this.options.shareMin);
  }

  pauseMsAfter(startedAtMs: number): number {
    const workMs = Math.max(0, this.clock.nowMs() - startedAtMs);
    return backgroundPauseMs(workMs, this.share(), this.options.pauseMsMax);
  }

  turn(startedAtMs: number): Promise<void> {
    return yieldTurn(this.clock, this.pauseMsAfter(startedAtMs));
  }

  pause(startedAtMs: number): Promise<void> {
    const pauseMs = this.pauseMsAfter(startedAtMs);
    return pauseMs === 0 ? Promise.resolve() : yieldTurn(this.clock, pauseMs);
  }
}
