// CPU time of the benchmark's node processes and of the whole machine, read from /proc
// (Linux). A ring change on a machine the clients already keep busy shows in wall time as
// pauses and waits; its CPU time, less what the nodes spend on clients at the same rate
// without it, is what the change itself costs, and stays comparable from machine to
// machine (join-bench.ts).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Linux reports process times in USER_HZ ticks, 100 a second on every architecture Node runs on. */
const ticksPerSecond = 100;

/** CPU seconds (user and system, every thread) the process has used, or undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name, in parentheses, may hold spaces: the fields start after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** Busy and total CPU seconds of the whole machine since boot (idle and I/O wait count as not busy). */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  if (line?.startsWith('cpu ') !== true) return undefined;
  // user nice system idle iowait irq softirq steal (guest times are already in user).
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) / ticksPerSecond, total: total / ticksPerSecond };
}

export interface CpuReading {
  atMs: number;
  /** CPU seconds of each process watched so far, by its name; one that exited counted as last seen. */
  byName: Record<string, number>;
  machine: { busy: number; total: number } | undefined;
}

/**
 * Follows the CPU time of a set of processes that may grow (a node added) and end (a node
 * that left stops by itself): each is sampled every `everyMs`, so one that exits is counted
 * up to its last sample, at most `everyMs` short.
 */
export class CpuMeter {
  private readonly last = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly processes: () => Array<{ name: string; pid: number | undefined }>,
    everyMs = 500,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  read(): CpuReading {
    this.sample();
    return { atMs: Date.now(), byName: Object.fromEntries(this.last), machine: machineCpuSeconds() };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    for (const { name, pid } of this.processes()) {
      if (pid === undefined) continue;
      const seconds = processCpuSeconds(pid);
      if (seconds !== undefined) this.last.set(name, seconds);
    }
  }
}

/** What a ring change cost the nodes in CPU, beside what they spent on clients before it. */
export interface ChangeCpu {
  /** CPU seconds the node processes used during the change. */
  nodesSeconds: number;
  /** Cores the nodes kept busy in the baseline before it (clients, gossip, anti-entropy). */
  baselineCores: number;
  /** nodesSeconds less the baseline's rate over the change's length: the change's own cost. */
  changeSeconds: number;
  /** changeSeconds per record moved, in microseconds. */
  microsPerRecord: number;
  /** Each node's own CPU for the change, worked out the same way. */
  changeSecondsByNode: Record<string, number>;
  /** Share of the machine's CPU time busy during the change, and in the baseline (every process, the load generator's too). */
  machineBusyShare: number | null;
  baselineMachineBusyShare: number | null;
  cores: number;
}

/** The change's cost between `during`'s readings, against the baseline's rate between `baseline`'s. */
export function changeCpu(baseline: [CpuReading, CpuReading], during: [CpuReading, CpuReading], recordsMoved: number): ChangeCpu {
  const rate = (from: CpuReading, to: CpuReading) => (totalSeconds(to) - totalSeconds(from)) / Math.max(0.001, (to.atMs - from.atMs) / 1000);
  const busyShare = (from: CpuReading, to: CpuReading) => {
    if (from.machine === undefined || to.machine === undefined) return null;
    const total = to.machine.total - from.machine.total;
    return total > 0 ? round((to.machine.busy - from.machine.busy) / total) : null;
  };
  const baselineCores = rate(...baseline);
  const seconds = (during[1].atMs - during[0].atMs) / 1000;
  const nodesSeconds = totalSeconds(during[1]) - totalSeconds(during[0]);
  const changeSeconds = Math.max(0, nodesSeconds - baselineCores * seconds);
  const changeSecondsByNode: Record<string, number> = {};
  const baselineSeconds = Math.max(0.001, (baseline[1].atMs - baseline[0].atMs) / 1000);
  for (const [name, to] of Object.entries(during[1].byName)) {
    // A process started during the change counts from zero; one started in the baseline, at its rate from its start.
    const from = during[0].byName[name] ?? 0;
    const nameRate = ((baseline[1].byName[name] ?? 0) - (baseline[0].byName[name] ?? 0)) / baselineSeconds;
    changeSecondsByNode[name] = round(to - from - nameRate * seconds);
  }
  return {
    nodesSeconds: round(nodesSeconds),
    baselineCores: round(baselineCores),
    changeSeconds: round(changeSeconds),
    microsPerRecord: recordsMoved > 0 ? Math.round((changeSeconds * 1e6) / recordsMoved) : 0,
    changeSecondsByNode,
    machineBusyShare: busyShare(...during),
    baselineMachineBusyShare: busyShare(...baseline),
    cores: cpus().length,
  };
}

/** CPU seconds of every process in the reading. */
function totalSeconds(reading: CpuReading): number {
  return Object.values(reading.byName).reduce((sum, seconds) => sum + seconds, 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
