// Records in ring order (docs/design.md, "Storage": the ring index). Besides its records in
// key order, every engine keeps a ring index: one entry per key, ordered by (ring token,
// key), holding the hash of the key's version. A ring range is then one contiguous walk of
// the index, so transfers, cleanups and anti-entropy read exactly the ranges concerned.
//
// For anti-entropy the circle is also cut into fixed buckets (the top 16 bits of a token),
// each with the XOR of its keys' version hashes and a key count, kept up to date with
// every write. A range's digest is the XOR of the buckets it covers whole, plus a walk of
// the index over the two bucket parts at its edges. The buckets do not depend on the ring,
// so a ring change rebuilds nothing.
import type { KeyHasher } from '../ring/hash.js';
import { tokenSpace } from '../ring/ring.js';
import { compareUtf8 } from '../keys.js';
import type { StoredRecord } from './record.js';

export const ringBucketBits = 16;
export const ringBucketCount = 2 ** ringBucketBits;
const bucketShift = 32 - ringBucketBits;
const lastToken = tokenSpace - 1;

/** A place in ring order: a token and, among keys with that token, a key (UTF-8 byte order). */
export interface RingCursor {
  token: number;
  key: string;
}

/** An inclusive run of tokens, lo <= hi, that does not wrap. */
export interface TokenSpan {
  lo: number;
  hi: number;
}

/** An arc's cover: whole buckets (inclusive runs of bucket numbers) and the token spans left over at its edges. */
export interface ArcCover {
  buckets: Array<{ first: number; last: number }>;
  edges: TokenSpan[];
}

/** The XOR of an arc's version hashes and how many keys it holds. */
export interface RangeSummary {
  digest: number;
  keys: number;
}

/** The bucket of a token. */
export function ringBucketOf(token: number): number {
  return token >>> bucketShift;
}

/**
 * The hash of one key at one version: two replicas of a range hold the same records when
 * the XORs of these match (up to a 2^-32 collision).
 */
export function versionHash(hash: KeyHasher, key: string, record: Pick<StoredRecord, 'hlc' | 'nodeId' | 'tombstone'>): number {
  return hash(`${key}\u0000${record.hlc}.${record.nodeId}.${record.tombstone ? 1 : 0}`);
}

/**
 * The spans of the arc (start, end], ring style: the tokens after `start` up to `end`,
 * wrapping past the top of the circle when start >= end (start === end is the whole circle,
 * as a lone token owns it).
 */
export function arcSpans(start: number, end: number): TokenSpan[] {
  if (start < end) return [{ lo: start + 1, hi: end }];
  const spans: TokenSpan[] = [];
  if (start < lastToken) spans.push({ lo: start + 1, hi: lastToken });
  spans.push({ lo: 0, hi: end });
  return spans;
}

/** True when `token` lies in the arc (start, end]. */
export function inArc(token: number, start: number, end: number): boolean {
  if (start < end) return token > start && token <= end;
  return token > start || token <= end;
}

/** The whole buckets and edge spans that together make up the arc (start, end]. */
export function coverArc(start: number, end: number): ArcCover {
  const cover: ArcCover = { buckets: [], edges: [] };
  for (const span of arcSpans(start, end)) {
    const firstWhole = ringBucketOf(span.lo) + (span.lo % 2 ** bucketShift === 0 ? 0 : 1);
    const lastWhole = ringBucketOf(span.hi) - ((span.hi + 1) % 2 ** bucketShift === 0 ? 0 : 1);
    if (firstWhole > lastWhole) {
      cover.edges.push(span);
      continue;
    }
    const wholeLo = firstWhole * 2 ** bucketShift;
    const wholeHi = (lastWhole + 1) * 2 ** bucketShift - 1;
    if (span.lo < wholeLo) cover.edges.push({ lo: span.lo, hi: wholeLo - 1 });
    cover.buckets.push({ first: firstWhole, last: lastWhole });
    if (wholeHi < span.hi) cover.edges.push({ lo: wholeHi + 1, hi: span.hi });
  }
  return cover;
}

/** Ring order: by token, then by key in UTF-8 byte order. */
export function compareRingOrder(a: RingCursor, b: RingCursor): number {
  if (a.token !== b.token) return a.token < b.token ? -1 : 1;
  return compareUtf8(a.key, b.key);
}
