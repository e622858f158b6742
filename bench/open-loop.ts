// The benchmark's side of the open-loop load (open-loop-generator.ts runs it in a process of
// its own, so that this one's polling does not delay the schedule): start it, stop it, and
// cut what it measured into windows of wall-clock time (a baseline, a join, a leave).
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './cluster.js';
import { latencyOfBucketMs, type GeneratorReport, type GeneratorSecond, type GeneratorSettings } from './open-loop-generator.js';
import { round } from './load.js';

const here = dirname(fileURLToPath(import.meta.url));
const startTimeoutMs = 10_000;
const requestTimeoutMs = 10_000;
/** Requests in flight at most: two seconds of the schedule, within the process's file descriptors. */
const inFlightFloor = 500;
const inFlightCeiling = 8000;

export interface OpenLoopSpec {
  urls: string[];
  keyCount: number;
  requestsPerSecond: number;
  /** Bound on the whole run; it is normally stopped before. */
  secondsMax: number;
}

export interface RunningOpenLoop {
  /** Ends the schedule, waits for the answers still due (bounded) and returns what was measured. */
  stop(): Promise<GeneratorReport>;
}

/** One second of the schedule, summarised. */
export interface OpenLoopSecond {
  startMs: number;
  due: number;
  ok: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** A window of the run: totals, percentiles over all its answers, and each second. */
export interface OpenLoopWindow {
  seconds: number;
  due: number;
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
  perSecond: OpenLoopSecond[];
}

export async function startOpenLoop(spec: OpenLoopSpec): Promise<RunningOpenLoop> {
  const settings: GeneratorSettings = {
    hosts: spec.urls.map((url) => url.replace(/^http:\/\//, '')),
    keyCount: spec.keyCount,
    requestsPerSecond: spec.requestsPerSecond,
    requestTimeoutMs,
    inFlightMax: Math.min(inFlightCeiling, Math.max(inFlightFloor, Math.ceil(spec.requestsPerSecond * 2))),
    secondsMax: spec.secondsMax,
    query: '?r=quorum',
  };
  const child = fork(join(here, 'open-loop-generator.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  killOnExit(child);
  let report: ((value: GeneratorReport) => void) | undefined;
  const reported = new Promise<GeneratorReport>((resolve) => (report = resolve));
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the open-loop generator did not start within ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    child.on('message', (message: { started?: true; report?: GeneratorReport }) => {
      if (message.started === true) {
        clearTimeout(timer);
        resolve();
      }
      if (message.report !== undefined) report?.(message.report);
    });
    child.once('exit', (code, signal) => reject(new Error(`the open-loop generator exited (${signal ?? `code ${code}`})`)));
  });
  child.send({ settings });
  await started;
  return {
    stop: async () => {
      child.send({ stop: true });
      const exited = new Promise<never>((_, reject) => child.once('exit', () => setTimeout(() => reject(new Error('the open-loop generator exited without its report')), 1000)));
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the open-loop generator did not report in time')), requestTimeoutMs + 15_000).unref());
      return Promise.race([reported, exited, timeout]);
    },
  };
}

/**
 * The seconds of `report` that overlap [fromMs, toMs): with `whole`, only those entirely
 * inside (a baseline); without, every second the window touches (a ring change, where a
 * stall in a partial second still counts).
 */
export function openLoopWindow(report: GeneratorReport, fromMs: number, toMs: number, whole: boolean): OpenLoopWindow {
  const inside = report.seconds.filter((second) =>
    whole ? second.startMs >= fromMs && second.startMs + 1000 <= toMs : second.startMs + 1000 > fromMs && second.startMs < toMs,
  );
  const merged = new Map<number, number>();
  for (const second of inside) for (const [bucket, count] of second.histogram) merged.set(bucket, (merged.get(bucket) ?? 0) + count);
  const errorKinds: Record<string, number> = {};
  for (const second of inside) for (const [kind, count] of Object.entries(second.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + count;
  const total = (pick: (second: GeneratorSecond) => number) => inside.reduce((sum, second) => sum + pick(second), 0);
  return {
    seconds: inside.length,
    due: total((second) => second.due),
    ok: total((second) => second.ok),
    errors: total((second) => second.errors),
    errorKinds,
    p50Ms: percentileMs([...merged.entries()], 0.5),
    p99Ms: percentileMs([...merged.entries()], 0.99),
    perSecond: inside.map((second) => ({
      startMs: second.startMs,
      due: second.due,
      ok: second.ok,
      errors: second.errors,
      p50Ms: percentileMs(second.histogram, 0.5),
      p99Ms: percentileMs(second.histogram, 0.99),
    })),
  };
}

/** The latency below which `share` of the answers fall, from a histogram; null without answers. */
function percentileMs(histogram: Array<[number, number]>, share: number): number | null {
  const sorted = [...histogram].sort((a, b) => a[0] - b[0]);
  const count = sorted.reduce((sum, [, n]) => sum + n, 0);
  if (count === 0) return null;
  const rank = Math.ceil(share * count);
  let seen = 0;
  for (const [bucket, n] of sorted) {
    seen += n;
    if (seen >= rank) return round(latencyOfBucketMs(bucket));
  }
  return null;
}
