// Consistent hashing with virtual nodes (docs/design.md, "Membership and ring"; Dynamo §4.2).
// Each member owns `vnodes` tokens at hash(`<nodeId>#<i>`) on a 32-bit circle; a key is
// stored on the first N distinct members met walking clockwise from hash(key). Tokens come
// from node ids alone, so every node that knows the same members builds the same ring.
// The preference list of every token is computed once when the ring is built, so a lookup
// is one binary search.
import { invariant } from '../assert.js';
import type { KeyHasher } from './hash.js';

export const tokenSpace = 2 ** 32;

export interface RingOptions {
  nodeIds: readonly string[];
  vnodes: number;
  replicas: number;
  hash: KeyHasher;
}

/** The tokens after `start` up to `end`, wrapping past the top when start >= end (start === end: the whole circle). */
export interface RingArc {
  /** Exclusive start token. */
  start: number;
  /** Inclusive end token. */
  end: number;
}

export interface RingRangeView extends RingArc {
  replicas: readonly string[];
}

export class Ring {
  readonly nodeIds: readonly string[];
  readonly vnodes: number;
  readonly replicas: number;
  private readonly hash: KeyHasher;
  private readonly tokens: Uint32Array;
  private readonly preferenceLists: ReadonlyArray<readonly string[]>;

  constructor(options: RingOptions) {
    invariant(options.vnodes >= 1, 'a ring needs at least one virtual node per member');
    invariant(new Set(options.nodeIds).size === options.nodeIds.length, 'ring members must be distinct');
    this.nodeIds = [...options.nodeIds].sort();
    this.vnodes = options.vnodes;
    this.replicas = options.replicas;
    this.hash = options.hash;
    const placed = placeTokens(this.nodeIds, options.vnodes, options.hash);
    this.tokens = Uint32Array.from(placed.map((entry) => entry.token));
    const owners = placed.map((entry) => entry.nodeId);
    const distinctWanted = Math.min(options.replicas, this.nodeIds.length);
    this.preferenceLists = owners.map((_, index) => walkDistinct(owners, index, distinctWanted));
  }

  get tokenCount(): number {
    return this.tokens.length;
  }

  /** The N distinct members that store `key`, in preference order (primary first). */
  preferenceList(key: string): readonly string[] {
    if (this.tokens.length === 0) return [];
    return this.preferenceLists[this.tokenIndexFor(this.hash(key))] as readonly string[];
  }

  /** The preference list of the range holding ring position `position` (a key's hash). */
  preferenceListAt(position: number): readonly string[] {
    if (this.tokens.length === 0) return [];
    return this.preferenceLists[this.tokenIndexFor(position)] as readonly string[];
  }

  /** Where `key` sits on the circle. */
  hashOf(key: string): number {
    return this.hash(key);
  }

  /** Every token position on the circle, ascending. */
  tokenPositions(): Uint32Array {
    return this.tokens;
  }

  /** Index of the range (and of its end token) that holds `key`. */
  rangeIndexOf(key: string): number {
    return this.tokenIndexFor(this.hash(key));
  }

  /** The replicas of range `index`, in preference order. */
  replicasOfRange(index: number): readonly string[] {
    return this.preferenceLists[index] ?? [];
  }

  /** A fingerprint of the ring: equal on nodes that know the same members and settings. */
  get fingerprint(): number {
    return this.hash(`${this.nodeIds.join(',')}|${this.vnodes}|${this.replicas}`);
  }

  /** Share of the circle for which each member is the primary replica (sums to 1). */
  primaryShares(): Map<string, number> {
    const shares = new Map<string, number>(this.nodeIds.map((id) => [id, 0]));
    for (const range of this.ranges()) {
      const owner = range.replicas[0] as string;
      shares.set(owner, (shares.get(owner) ?? 0) + rangeWidth(range) / tokenSpace);
    }
    return shares;
  }

  /** Every range between consecutive tokens with its preference list. */
  ranges(): RingRangeView[] {
    const count = this.tokens.length;
    const views: RingRangeView[] = [];
    for (let index = 0; index < count; index++) {
      const start = this.tokens[(index - 1 + count) % count] as number;
      views.push({ start, end: this.tokens[index] as number, replicas: this.preferenceLists[index] as readonly string[] });
    }
    return views;
  }

  /**
   * The arcs made of the ranges whose replicas `keep` accepts, neighbours joined, so that
   * a walk of the engine's ring index reads each run once (storage/ring-order.ts).
   */
  arcsWhere(keep: (replicas: readonly string[]) => boolean): RingArc[] {
    return joinedArcs(this.tokens, (index) => keep(this.preferenceLists[index] as readonly string[]));
  }

  /** Index of the first token at or after `position`, wrapping to 0 past the last. */
  private tokenIndexFor(position: number): number {
    const tokens = this.tokens;
    let low = 0;
    let high = tokens.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((tokens[middle] as number) < position) low = middle + 1;
      else high = middle;
    }
    return low === tokens.length ? 0 : low;
  }
}

/**
 * The arcs ending at the `ends` (ascending tokens) that `keep` accepts, each starting at the
 * end before it, neighbours joined, a run across the top of the circle included: all of
 * them accepted make the whole circle, (last, last].
 */
export function joinedArcs(ends: ArrayLike<number>, keep: (index: number) => boolean): RingArc[] {
  const count = ends.length;
  const arcs: RingArc[] = [];
  let open: RingArc | undefined;
  for (let index = 0; index < count; index++) {
    if (!keep(index)) {
      open = undefined;
      continue;
    }
    const end = ends[index] as number;
    if (open !== undefined) open.end = end;
    else {
      open = { start: ends[(index - 1 + count) % count] as number, end };
      arcs.push(open);
    }
  }
  // A run that reaches the last end goes on into the one that starts at the first.
  const first = arcs[0];
  const last = arcs[arcs.length - 1];
  if (arcs.length > 1 && first !== undefined && last !== undefined && last.end === ends[count - 1] && first.start === last.end) {
    last.end = first.end;
    arcs.shift();
  }
  return arcs;
}

/** Width of a range on the circle; a lone token owns the whole circle. */
export function rangeWidth(range: Pick<RingRangeView, 'start' | 'end'>): number {
  const width = (range.end - range.start + tokenSpace) % tokenSpace;
  return width === 0 ? tokenSpace : width;
}

function placeTokens(nodeIds: readonly string[], vnodes: number, hash: KeyHasher) {
  const placed: Array<{ token: number; nodeId: string }> = [];
  for (const nodeId of nodeIds) {
    for (let i = 0; i < vnodes; i++) placed.push({ token: hash(`${nodeId}#${i}`), nodeId });
  }
  // Equal tokens (rare with 32 bits) are ordered by node id so every node agrees.
  placed.sort((a, b) => a.token - b.token || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  return placed;
}

function walkDistinct(owners: readonly string[], startIndex: number, wanted: number): readonly string[] {
  const chosen: string[] = [];
  for (let step = 0; step < owners.length && chosen.length < wanted; step++) {
    const owner = owners[(startIndex + step) % owners.length] as string;
    if (!chosen.includes(owner)) chosen.push(owner);
  }
  invariant(chosen.length === wanted, 'a preference list must hold N distinct members');
  return Object.freeze(chosen);
}
