// The client's RingMap, built from a ring layout as /cluster/ring serves it, against the
// core's Ring (differential): for thousands of keys and at every token edge it names the
// same replicas in the same order; and layouts that are not a ring are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadKeyHasher, Ring, tokenSpace } from '@ringkv/core';
import { RingLayoutError, RingMap } from '../src/ring-map.js';

async function coreRing(nodeCount: number, vnodes: number, replicas: number): Promise<Ring> {
  const hash = await loadKeyHasher();
  return new Ring({ nodeIds: Array.from({ length: nodeCount }, (_, i) => `node-${i + 1}`), vnodes, replicas, hash });
}

function layoutOf(ring: Ring) {
  return { tokenSpace, ranges: ring.ranges().map((range) => ({ start: range.start, end: range.end, replicas: [...range.replicas] })) };
}

describe('RingMap', () => {
  for (const [nodes, vnodes, replicas] of [[1, 8, 3], [3, 16, 3], [5, 64, 3], [7, 1, 2], [4, 256, 2]] as const) {
    it(`names the core's replicas for 5,000 keys and at every token (${nodes} nodes, ${vnodes} vnodes, N=${replicas})`, async () => {
      const ring = await coreRing(nodes, vnodes, replicas);
      const map = RingMap.fromLayout(layoutOf(ring));
      assert.equal(map.rangeCount, ring.tokenCount);
      for (let i = 0; i < 5000; i++) {
        const key = i % 3 === 0 ? `user:${i}` : i % 3 === 1 ? `k${i * 7919}` : `ключ/${i}`;
        assert.deepEqual(map.replicasOf(key), ring.preferenceList(key), key);
      }
      const positions = [0, 1, tokenSpace - 1, ...[...ring.tokenPositions()].flatMap((token) => [token, token + 1, token - 1])];
      for (const position of positions) {
        if (position < 0 || position >= tokenSpace) continue;
        assert.deepEqual(map.replicasAt(position), ring.preferenceListAt(position), `position ${position}`);
      }
    });
  }

  it('answers no replicas for a ring without ranges', () => {
    assert.deepEqual(RingMap.fromLayout({ tokenSpace, ranges: [] }).replicasOf('k'), []);
  });

  it('refuses layouts that are not a ring it can route by', () => {
    const range = (end: number, replicas = ['a']) => ({ start: 0, end, replicas });
    assert.throws(() => RingMap.fromLayout({ tokenSpace: 2 ** 16, ranges: [range(1)] }), RingLayoutError);
    assert.throws(() => RingMap.fromLayout({ tokenSpace, ranges: [range(5), range(3)] }), /before the range ahead/);
    assert.throws(() => RingMap.fromLayout({ tokenSpace, ranges: [range(tokenSpace)] }), /outside the token space/);
    assert.throws(() => RingMap.fromLayout({ tokenSpace, ranges: [range(1, [])] }), /no replicas/);
  });
});
