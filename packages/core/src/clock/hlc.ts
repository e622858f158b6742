// Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014), packed into one
// safe integer: the upper bits are wall-clock milliseconds, the low 10 bits a counter.
// Timestamps follow the wall clock when it moves forward, never go backwards when it jumps
// back, and move past every timestamp this node has observed from others, so the
// last-writer-wins order of versions respects causality between nodes.
import { clockSkewMaxMs } from '../limits.js';

export const hlcLogicalBits = 10;
const logicalSpan = 2 ** hlcLogicalBits;

/** The wall-clock millisecond part of a packed timestamp. */
export function hlcWallMs(timestamp: number): number {
  return Math.floor(timestamp / logicalSpan);
}

/** The packed timestamp `ms` later than `timestamp` (its counter kept). */
export function hlcPlusMs(timestamp: number, ms: number): number {
  return timestamp + Math.floor(ms) * logicalSpan;
}

/** A remote timestamp too far ahead of this node's wall clock to be trusted. */
export class ClockSkewError extends Error {
  readonly skewMs: number;

  constructor(skewMs: number) {
    super(`a peer's clock is ${skewMs} ms ahead of ours (more than ${clockSkewMaxMs} ms allowed)`);
    this.name = 'ClockSkewError';
    this.skewMs = skewMs;
  }
}

export class HybridLogicalClock {
  /** The last timestamp issued or observed. (Protected: the simulator's faulty clock, testing/, overrides `now`.) */
  protected lastTimestamp: number;
  protected readonly wallMs: () => number;

  /** `startAfter` lets a restarted node continue above timestamps it has already issued. */
  constructor(wallMs: () => number, startAfter = 0) {
    this.wallMs = wallMs;
    this.lastTimestamp = startAfter;
  }

  /** A fresh timestamp, larger than every one issued or observed before. */
  now(): number {
    const physical = Math.floor(this.wallMs()) * logicalSpan;
    this.lastTimestamp = Math.max(this.lastTimestamp + 1, physical);
    return this.lastTimestamp;
  }

  /** Fold in a timestamp seen on a message from another node. */
  observe(remoteTimestamp: number): void {
    const skewMs = hlcWallMs(remoteTimestamp) - Math.floor(this.wallMs());
    if (skewMs > clockSkewMaxMs) throw new ClockSkewError(skewMs);
    if (remoteTimestamp > this.lastTimestamp) this.lastTimestamp = remoteTimestamp;
  }

  /** The last timestamp issued or observed, without advancing. */
  peek(): number {
    return this.lastTimestamp;
  }
}
