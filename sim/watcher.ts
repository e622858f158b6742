// A watching client of one run (docs/design.md, "Watch"): it opens a watch of every key on a
// random running node when the workload starts, and whenever its watch ends (its node
// crashed or stopped, or the client drops the connection now and then on its own) it
// resumes on another running node from the last cursor it received, as an SSE client does
// with Last-Event-ID. Everything it was told is kept for the watch checker (watch-checker.ts).
import { parseCursor, type SeededRng, type WatchError, type WatchEvent, type WatchSession } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';
import type { Version } from './history.js';
import type { Trace } from './trace.js';

export interface WatchedChange {
  kind: WatchEvent['kind'];
  key: string;
  version: Version;
  value: unknown;
  /** Virtual ms it arrived, and through which node. */
  atMs: number;
  nodeId: string;
}

/** Pauses and periods of the watching client, in virtual ms. */
export const watcherLimits = {
  /** Before resuming elsewhere after a watch ended. */
  resumeDelayMsMin: 20,
  resumeDelayMsMax: 300,
  /** The client drops its connection on its own after a watch lasted this long (drawn in between). */
  dropAfterMsMin: 1500,
  dropAfterMsMax: 5000,
};

export class SimWatcher {
  readonly changes: WatchedChange[] = [];
  /** When the first watch said `ready` (run ms): changes written after it must all arrive. */
  readyAtMs: number | undefined;
  /** The last cursor received. */
  cursor: string | undefined;
  /** Watches opened, and how each ended. */
  readonly sessions: Array<{ nodeId: string; openedAtMs: number; from: string | undefined; ended?: string; endedAtMs?: number; lastCursor?: string }> = [];
  private session: { nodeId: string; watch?: WatchSession } | undefined;
  private stopped = false;
  private readonly cluster: InProcessCluster;
  private readonly rng: SeededRng;
  private readonly trace: Trace;
  private readonly nowMs: () => number;

  constructor(cluster: InProcessCluster, rng: SeededRng, trace: Trace, nowMs: () => number) {
    this.cluster = cluster;
    this.rng = rng;
    this.trace = trace;
    this.nowMs = nowMs;
  }

  start(): void {
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.session?.watch?.close();
    this.session = undefined;
  }

  /** The time every change up to which has been delivered (from the last cursor). */
  resolvedAt(): number {
    return this.cursor === undefined ? 0 : (parseCursor(this.cursor)?.at ?? 0);
  }

  private open(): void {
    if (this.stopped) return;
    const running = this.cluster.members.filter((member) => member.up && member.node.membership.ringOf(member.nodeId) !== 'left');
    if (running.length === 0) {
      this.later(() => this.open());
      return;
    }
    const member = running[this.rng.nextInt(running.length)] as (typeof running)[number];
    const nodeId = member.nodeId;
    const cursor = this.cursor === undefined ? undefined : parseCursor(this.cursor);
    const record: (typeof this.sessions)[number] = { nodeId, openedAtMs: this.nowMs(), from: this.cursor };
    this.sessions.push(record);
    const session: { nodeId: string; watch?: WatchSession } = { nodeId };
    this.session = session;
    const current = () => this.session === session && !this.stopped;
    member.node
      .openWatch('', cursor, {
        ready: (text) => {
          if (!current()) return;
          this.readyAtMs ??= this.nowMs();
          this.cursor ??= text;
        },
        change: (event) => {
          if (!current()) return;
          this.changes.push({ kind: event.kind, key: event.key, version: { hlc: event.record.hlc, nodeId: event.record.nodeId }, value: event.record.value, atMs: this.nowMs(), nodeId });
          this.cursor = event.cursor;
        },
        progress: (text) => {
          if (current()) this.cursor = text;
        },
        ended: (error: WatchError) => this.ended(session, record, error.reason),
      })
      .then(
        (watch) => {
          if (current()) {
            session.watch = watch;
            const dropAfterMs = watcherLimits.dropAfterMsMin + this.rng.nextInt(watcherLimits.dropAfterMsMax - watcherLimits.dropAfterMsMin + 1);
            this.cluster.clock.setTimer(dropAfterMs, () => {
              if (this.session === session) watch.close();
            });
          } else watch.close();
        },
        (error: unknown) => this.ended(session, record, (error as WatchError).reason ?? String(error)),
      );
  }

  private ended(session: object, record: (typeof this.sessions)[number], reason: string): void {
    if (record.ended === undefined) {
      record.ended = reason;
      record.endedAtMs = this.nowMs();
      if (this.cursor !== undefined) record.lastCursor = this.cursor;
    }
    if (this.session !== session || this.stopped) return;
    this.session = undefined;
    if (reason === 'gone') {
      this.trace.add({ atMs: this.nowMs(), kind: 'problem', text: `the watch's cursor ${this.cursor ?? ''} is gone: it cannot resume` });
      return;
    }
    this.later(() => this.open());
  }

  private later(work: () => void): void {
    const delayMs = watcherLimits.resumeDelayMsMin + this.rng.nextInt(watcherLimits.resumeDelayMsMax - watcherLimits.resumeDelayMsMin + 1);
    this.cluster.clock.setTimer(delayMs, work);
  }
}
