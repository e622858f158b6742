// Data movement as jobs an operator can watch (docs/design.md, "Observability": long operations
// report progress). A job knows its total before it starts, so progress, rate and ETA are
// honest; it can be paused and resumed, and its checkpoint survives a restart.
export type JobKind = 'join' | 'leave' | 'remove' | 'cleanup';
export type JobState = 'waiting' | 'running' | 'paused' | 'done';

export interface JobSourceView {
  nodeId: string;
  scanned: number;
  total: number;
  done: boolean;
}

export interface JobView {
  id: string;
  kind: JobKind;
  /** The node running the job (it receives, or for cleanup drops, the data). */
  node: string;
  state: JobState;
  /** What the job is for, in words. */
  description: string;
  /** Keys examined so far, of `keysTotal` (the progress measure). */
  keysDone: number;
  keysTotal: number;
  /** Records stored (a transfer) or dropped (a cleanup) so far. */
  recordsMoved: number;
  /** Bytes of the keys and values received (a transfer) or dropped (a cleanup) so far, and per second of the job. */
  bytesMoved: number;
  bytesPerSecond: number;
  keysPerSecond: number;
  /** Seconds left at the current rate; null while unknown. */
  etaSeconds: number | null;
  startedAtMs: number;
  finishedAtMs: number | null;
  sources: JobSourceView[];
}

/** Where a job keeps its checkpoint (LMDB on real nodes, memory in tests). */
export interface JobStore {
  load(name: string): unknown;
  save(name: string, value: unknown): Promise<void>;
}

export class MemoryJobStore implements JobStore {
  private readonly values = new Map<string, unknown>();

  load(name: string): unknown {
    const value = this.values.get(name);
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value)) as unknown;
  }

  async save(name: string, value: unknown): Promise<void> {
    if (value === undefined) this.values.delete(name);
    else this.values.set(name, JSON.parse(JSON.stringify(value)) as unknown);
  }
}

/** Rates and ETA from progress since `startedAtMs`: `done` of `total` keys, `bytes` moved. */
export function jobPace(
  done: number,
  total: number,
  bytes: number,
  startedAtMs: number,
  nowMs: number,
): { keysPerSecond: number; bytesPerSecond: number; etaSeconds: number | null } {
  const seconds = (nowMs - startedAtMs) / 1000;
  const keysPerSecond = seconds > 0 ? done / seconds : 0;
  const bytesPerSecond = seconds > 0 ? bytes / seconds : 0;
  if (done >= total) return { keysPerSecond, bytesPerSecond, etaSeconds: 0 };
  return { keysPerSecond, bytesPerSecond, etaSeconds: keysPerSecond > 0 ? (total - done) / keysPerSecond : null };
}
