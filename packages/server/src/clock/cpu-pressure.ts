// How much of the last moment threads waited for a CPU (docs/design.md, "Background work and
// overload"): the budget of background work (packages/core/src/clock/background-budget.ts)
// takes it out of the time the event loop left idle. An idle event loop says nothing of
// the cores: on a machine shared with other nodes or other programs, they may all be
// taken, and a transfer that fills this node's idle time then delays every process's
// clients. Linux measures exactly that as pressure stall information (PSI): the total
// microseconds in which some runnable thread waited for a CPU, for the machine
// (/proc/pressure/cpu) and for each cgroup v2 group (its cpu.pressure, which also counts
// the time a container's CPU quota held it back). The group's own file is preferred: in a
// container it is the node's share of the machine that matters. Where neither can be read
// (another OS, a kernel without PSI) the pressure is not measured and the budget goes by
// the event loop alone.
import { readFileSync } from 'node:fs';
import { backgroundBusyWindowMs } from '@ringkv/core';

/** What the meter reads: a file's text, or a thrown error where it cannot be read. */
export type TextReader = (path: string) => string;

const readText: TextReader = (path) => readFileSync(path, 'utf8');

/** The microseconds in which some thread waited, from a PSI file's text ("some ... total=N"); undefined when absent. */
export function stalledMicros(text: string): number | undefined {
  const match = /^some\b.*\btotal=(\d+)/m.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The PSI files that may hold this process's CPU pressure, best first: its cgroup v2
 * group's (from /proc/self/cgroup's "0::" line) and the machine's.
 */
export function cpuPressurePaths(cgroupText: string | undefined): string[] {
  const group = cgroupText === undefined ? undefined : /^0::(\/.*)$/m.exec(cgroupText)?.[1];
  const paths = group === undefined ? [] : [`/sys/fs/cgroup${group === '/' ? '' : group}/cpu.pressure`];
  return [...paths, '/proc/pressure/cpu'];
}

/** The first of `paths` that reads as a PSI file, or undefined. */
export function cpuPressureSource(paths: readonly string[], read: TextReader = readText): string | undefined {
  for (const path of paths) {
    try {
      if (stalledMicros(read(path)) !== undefined) return path;
    } catch {
      // not there, or not readable: the next one
    }
  }
  return undefined;
}

export interface CpuPressureOptions {
  /** The PSI file to read; undefined: nothing is measured. */
  path: string | undefined;
  nowMs: () => number;
  /** A reading is kept this long before the next one (the budget's busy window). */
  windowMs?: number;
  read?: TextReader;
}

/** The share of the last window some thread waited for a CPU, read from one PSI file. */
export class CpuPressureMeter {
  private path: string | undefined;
  private readonly nowMs: () => number;
  private readonly windowMs: number;
  private readonly read: TextReader;
  private markAtMs = Number.NEGATIVE_INFINITY;
  private markMicros = 0;
  private last: number | undefined;

  constructor(options: CpuPressureOptions) {
    this.path = options.path;
    this.nowMs = options.nowMs;
    this.windowMs = options.windowMs ?? backgroundBusyWindowMs;
    this.read = options.read ?? readText;
  }

  /** This process's meter: its cgroup's PSI file where it has one, else the machine's, else none. */
  static forThisProcess(nowMs: () => number): CpuPressureMeter {
    let cgroup: string | undefined;
    try {
      cgroup = readText('/proc/self/cgroup');
    } catch {
      cgroup = undefined;
    }
    const meter = new CpuPressureMeter({ path: cpuPressureSource(cpuPressurePaths(cgroup)), nowMs });
    meter.share(); // the first reading marks the start of the first window
    return meter;
  }

  /** Whether a PSI file is being read. */
  measured(): boolean {
    return this.path !== undefined;
  }

  /**
   * The share (0 to 1) of the last window in which some thread waited for a CPU; undefined
   * until a window has passed, and always where nothing is measured. Read at most once a
   * window: the budget asks after every page of background work.
   */
  share(): number | undefined {
    if (this.path === undefined) return undefined;
    const nowMs = this.nowMs();
    const elapsedMs = nowMs - this.markAtMs;
    if (elapsedMs < this.windowMs) return this.last;
    let micros: number | undefined;
    try {
      micros = stalledMicros(this.read(this.path));
    } catch {
      micros = undefined;
    }
    if (micros === undefined) {
      // The file went away (a cgroup moved): stop measuring rather than guess.
      this.path = undefined;
      this.last = undefined;
      return undefined;
    }
    // A window long past (nobody asked since) still gives the average over it.
    if (Number.isFinite(elapsedMs) && elapsedMs > 0) this.last = Math.max(0, Math.min(1, (micros - this.markMicros) / 1000 / elapsedMs));
    this.markAtMs = nowMs;
    this.markMicros = micros;
    return this.last;
  }
}
