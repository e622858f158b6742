// A faulty hybrid logical clock for the simulator's planted bugs (planted-bugs.ts): it
// stamps versions with the wall clock alone, forgetting what it issued and observed, so a
// backward jump of a node's clock makes it stamp a newer write below an older one. The
// node takes its clock as a dependency; production builds the correct one.
import { hlcLogicalBits, HybridLogicalClock } from '../clock/hlc.js';

export class WallFollowingClock extends HybridLogicalClock {
  override now(): number {
    this.lastTimestamp = Math.floor(this.wallMs()) * 2 ** hlcLogicalBits;
    return this.lastTimestamp;
  }
}
