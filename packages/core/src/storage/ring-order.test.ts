// Checks that an arc's cover (whole buckets plus edge spans) is exactly the arc: no token
// missing, none twice, none outside, for arcs that wrap, that sit inside one bucket, and at
// the ends of the circle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRng } from '../rng.js';
import { tokenSpace } from '../ring/ring.js';
import { arcSpans, compareRingOrder, coverArc, inArc, ringBucketCount, ringBucketOf } from './ring-order.js';

const bucketWidth = tokenSpace / ringBucketCount;

/** Tokens the cover holds, counted, after checking every piece lies in the arc and none overlap. */
function coveredTokens(start: number, end: number): number {
  const cover = coverArc(start, end);
  const pieces = [
    ...cover.buckets.map(({ first, last }) => ({ lo: first * bucketWidth, hi: (last + 1) * bucketWidth - 1 })),
    ...cover.edges,
  ].sort((a, b) => a.lo - b.lo);
  let total = 0;
  let previousHi = -1;
  for (const piece of pieces) {
    assert.ok(piece.lo <= piece.hi, `empty piece ${JSON.stringify(piece)}`);
    assert.ok(piece.lo > previousHi, `pieces overlap at ${piece.lo}`);
    assert.ok(inArc(piece.lo, start, end) && inArc(piece.hi, start, end), `piece ${JSON.stringify(piece)} outside (${start}, ${end}]`);
    previousHi = piece.hi;
    total += piece.hi - piece.lo + 1;
  }
  for (const edge of cover.edges) assert.ok(ringBucketOf(edge.lo) === ringBucketOf(edge.hi), 'an edge spans one bucket at most');
  return total;
}

function arcWidth(start: number, end: number): number {
  const width = (end - start + tokenSpace) % tokenSpace;
  return width === 0 ? tokenSpace : width;
}

test('the cover of an arc is exactly the arc', () => {
  const rng = new SeededRng(7);
  const arcs: Array<[number, number]> = [
    [0, tokenSpace - 1],
    [tokenSpace - 1, 0],
    [5, 5],
    [tokenSpace - 1, tokenSpace - 1],
    [bucketWidth - 1, 2 * bucketWidth - 1],
    [10, 20],
    [3 * bucketWidth + 5, 3 * bucketWidth + 9],
  ];
  for (let i = 0; i < 300; i++) arcs.push([Math.floor(rng.next() * tokenSpace), Math.floor(rng.next() * tokenSpace)]);
  for (const [start, end] of arcs) assert.equal(coveredTokens(start, end), arcWidth(start, end), `arc (${start}, ${end}]`);
});

test('arc spans wrap past the top of the circle', () => {
  assert.deepEqual(arcSpans(10, 20), [{ lo: 11, hi: 20 }]);
  assert.deepEqual(arcSpans(20, 10), [{ lo: 21, hi: tokenSpace - 1 }, { lo: 0, hi: 10 }]);
  assert.deepEqual(arcSpans(tokenSpace - 1, 3), [{ lo: 0, hi: 3 }]);
  assert.ok(inArc(0, 20, 10) && inArc(10, 20, 10) && !inArc(20, 20, 10) && inArc(21, 20, 10));
});

test('ring order is by token, then by key bytes', () => {
  assert.ok(compareRingOrder({ token: 1, key: 'z' }, { token: 2, key: 'a' }) < 0);
  assert.ok(compareRingOrder({ token: 2, key: 'a' }, { token: 2, key: 'b' }) < 0);
  assert.ok(compareRingOrder({ token: 2, key: '\u{10000}' }, { token: 2, key: '\uffff' }) > 0);
  assert.equal(compareRingOrder({ token: 2, key: 'a' }, { token: 2, key: 'a' }), 0);
});
