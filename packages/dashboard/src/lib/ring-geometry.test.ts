// Checks ring widths and shares against hand-computed layouts, including the range that
// wraps past zero, and that sector paths stay inside their radii.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RingLayout } from '@ringkv/client';
import {
  formatRangeSpan,
  formatToken,
  polarPoint,
  primaryRangeCounts,
  primaryShares,
  rangeWidth,
  ringSegments,
  sectorPath,
  tokenAngle,
  tokenSpaceDefault,
} from './ring-geometry.js';

const space = tokenSpaceDefault;

/** Three nodes, four tokens; the first range wraps from the last token past zero. */
const layout: RingLayout = {
  tokenSpace: space,
  ranges: [
    { start: 0xc0000000, end: 0x10000000, replicas: ['a', 'b', 'c'] },
    { start: 0x10000000, end: 0x50000000, replicas: ['b', 'c', 'a'] },
    { start: 0x50000000, end: 0x80000000, replicas: ['c', 'a', 'b'] },
    { start: 0x80000000, end: 0xc0000000, replicas: ['a', 'b', 'c'] },
  ],
};

test('rangeWidth handles plain, wrapping and whole-ring ranges', () => {
  assert.equal(rangeWidth({ start: 10, end: 30 }), 20);
  assert.equal(rangeWidth({ start: space - 5, end: 5 }), 10);
  assert.equal(rangeWidth({ start: 7, end: 7 }), space);
});

test('primaryShares sums primary widths and adds up to one', () => {
  const shares = primaryShares(layout);
  assert.equal(shares.get('a'), 0.3125 + 0.25);
  assert.equal(shares.get('b'), 0.25);
  assert.equal(shares.get('c'), 0.1875);
  const total = [...shares.values()].reduce((sum, share) => sum + share, 0);
  assert.ok(Math.abs(total - 1) < 1e-12);
});

test('primaryShares agrees with a token-by-token scan on a small ring', () => {
  const small: RingLayout = {
    tokenSpace: 64,
    ranges: [
      { start: 50, end: 3, replicas: ['x', 'y'] },
      { start: 3, end: 20, replicas: ['y', 'x'] },
      { start: 20, end: 50, replicas: ['x', 'y'] },
    ],
  };
  const counted = new Map<string, number>();
  for (let token = 0; token < 64; token++) {
    const owner = small.ranges.find((range) =>
      range.start < range.end ? token > range.start && token <= range.end : token > range.start || token <= range.end,
    )?.replicas[0];
    assert.ok(owner !== undefined, `token ${token} has an owner`);
    counted.set(owner, (counted.get(owner) ?? 0) + 1);
  }
  const shares = primaryShares(small);
  for (const [nodeId, tokens] of counted) assert.equal(shares.get(nodeId), tokens / 64);
});

test('a node that is primary nowhere is listed with share zero', () => {
  const shares = primaryShares({ tokenSpace: space, ranges: [{ start: 1, end: 1, replicas: ['a', 'z'] }] });
  assert.equal(shares.get('a'), 1);
  assert.equal(shares.get('z'), 0);
});

test('primaryRangeCounts counts vnode slices per primary', () => {
  assert.deepEqual([...primaryRangeCounts(layout).entries()], [['a', 2], ['b', 1], ['c', 1]]);
});

test('ringSegments keep every sweep positive and cover the full turn', () => {
  const segments = ringSegments(layout);
  const first = segments[0];
  assert.ok(first);
  assert.ok(first.endAngle > first.startAngle);
  assert.ok(first.endAngle > 2 * Math.PI);
  const sweepTotal = segments.reduce((sum, segment) => sum + (segment.endAngle - segment.startAngle), 0);
  assert.ok(Math.abs(sweepTotal - 2 * Math.PI) < 1e-9);
});

test('polarPoint measures clockwise from twelve o\'clock', () => {
  const center = { x: 100, y: 100 };
  const top = polarPoint(center, 10, 0);
  const right = polarPoint(center, 10, tokenAngle(space / 4));
  assert.deepEqual([Math.round(top.x), Math.round(top.y)], [100, 90]);
  assert.deepEqual([Math.round(right.x), Math.round(right.y)], [110, 100]);
});

test('sectorPath uses the large-arc flag past half a turn and splits a full turn', () => {
  const center = { x: 0, y: 0 };
  const small = sectorPath({ center, innerRadius: 5, outerRadius: 10, startAngle: 0, endAngle: 1 });
  assert.match(small, /^M 0 -10 A 10 10 0 0 1 /);
  const large = sectorPath({ center, innerRadius: 5, outerRadius: 10, startAngle: 0, endAngle: 4 });
  assert.match(large, / A 10 10 0 1 1 /);
  const full = sectorPath({ center, innerRadius: 5, outerRadius: 10, startAngle: 0, endAngle: 2 * Math.PI });
  assert.equal(full.match(/M /g)?.length, 2);
  for (const number of full.match(/-?\d+(\.\d+)?/g) ?? []) assert.ok(Math.abs(Number(number)) <= 10);
});

test('formatToken and formatRangeSpan show 8 hex digits', () => {
  assert.equal(formatToken(255), '0x000000ff');
  assert.equal(formatRangeSpan({ start: 0, end: 0xffffffff }), '(0x00000000, 0xffffffff]');
});
