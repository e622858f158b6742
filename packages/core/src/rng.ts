// The randomness seam: the core never calls Math.random, it asks an Rng. A seeded Rng
// makes a simulated run replay exactly from its seed.

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
}

/** mulberry32: a small, fast, well-distributed 32-bit generator; good for simulation, not crypto. */
export class SeededRng implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.next() * bound);
  }
}
