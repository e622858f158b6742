// Where a key lives, computed in the client from a node's /cluster/ring: the ranges come
// with their replica lists (preference order) already walked by the node, so the client
// only hashes the key and finds its range, the way the core's Ring does (docs/design.md,
// "Membership and ring"): the range whose end is the first token at or after the key's
// position, wrapping past the last token to the first.
import type { RingLayout } from './types.js';
import { xxhash32 } from './xxhash32.js';

/** The only hash this client knows how to place keys with; `/cluster` names the ring's. */
export const ringHashName = 'xxh32';
const tokenSpace = 2 ** 32;

/** A /cluster/ring answer that is not a ring this client can route by. */
export class RingLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RingLayoutError';
  }
}

export class RingMap {
  /** End token of each range, ascending. */
  private readonly ends: Uint32Array;
  private readonly replicaLists: ReadonlyArray<readonly string[]>;

  private constructor(ends: Uint32Array, replicaLists: ReadonlyArray<readonly string[]>) {
    this.ends = ends;
    this.replicaLists = replicaLists;
  }

  /** Builds the map from a /cluster/ring answer; throws when the answer is not a ring this client can use. */
  static fromLayout(layout: RingLayout): RingMap {
    if (layout.tokenSpace !== tokenSpace) throw new RingLayoutError(`the ring's token space is ${layout.tokenSpace}, not 2^32`);
    const ends = new Uint32Array(layout.ranges.length);
    const replicaLists: Array<readonly string[]> = [];
    let previous = -1;
    for (const [index, range] of layout.ranges.entries()) {
      if (!Number.isInteger(range.end) || range.end < 0 || range.end >= tokenSpace) throw new RingLayoutError(`range ${index} ends at ${range.end}, outside the token space`);
      // Equal tokens are legal (two members' tokens may collide); descending ones are not.
      if (range.end < previous) throw new RingLayoutError(`range ${index} ends at ${range.end}, before the range ahead of it (${previous})`);
      if (range.replicas.length === 0) throw new RingLayoutError(`range ${index} has no replicas`);
      previous = range.end;
      ends[index] = range.end;
      replicaLists.push(Object.freeze([...range.replicas]));
    }
    return new RingMap(ends, replicaLists);
  }

  get rangeCount(): number {
    return this.ends.length;
  }

  /** The key's replicas in preference order (primary first); empty for a ring without ranges. */
  replicasOf(key: string): readonly string[] {
    return this.replicasAt(xxhash32(key));
  }

  /** The replicas of the range holding ring position `position`. */
  replicasAt(position: number): readonly string[] {
    if (this.ends.length === 0) return [];
    return this.replicaLists[this.rangeIndexAt(position)] as readonly string[];
  }

  /** Every node id that is a replica of some range. */
  nodeIds(): string[] {
    return [...new Set(this.replicaLists.flat())].sort();
  }

  /** Index of the first range whose end is at or after `position`, wrapping to 0 past the last. */
  private rangeIndexAt(position: number): number {
    const ends = this.ends;
    let low = 0;
    let high = ends.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((ends[middle] as number) < position) low = middle + 1;
      else high = middle;
    }
    return low === ends.length ? 0 : low;
  }
}
