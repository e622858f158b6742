// Checks the arc-level form of the transfer rule against the per-key one: for joins, leaves
// and removals, with and without unavailable members, a random key lies in one of the arcs
// sendingArcs gives for a source and receiver exactly when sendsKey says that source sends
// it, and the arcs are disjoint. Also which members make up the rings, and when a ring is
// formed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SeededRng } from '../rng.js';
import { inArc } from '../storage/ring-order.js';
import { loadKeyHasher, type KeyHasher } from './hash.js';
import { buildRing, isFormed, readMembers, sendingArcs, sendsKey, targetMembers } from './placement.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

interface Change {
  name: string;
  read: string[];
  target: string[];
  unavailable: string[];
}

const changes: Change[] = [
  { name: 'a join', read: ['a', 'b', 'c'], target: ['a', 'b', 'c', 'g'], unavailable: [] },
  { name: 'a join with a replica away', read: ['a', 'b', 'c', 'd'], target: ['a', 'b', 'c', 'd', 'g'], unavailable: ['b'] },
  { name: 'a leave', read: ['a', 'b', 'c', 'd'], target: ['a', 'b', 'c'], unavailable: [] },
  { name: 'a removal of a dead node', read: ['a', 'b', 'c', 'd', 'e'], target: ['a', 'b', 'c', 'e'], unavailable: ['d'] },
  { name: 'two joins at once', read: ['a', 'b', 'c'], target: ['a', 'b', 'c', 'g', 'h'], unavailable: ['c'] },
];

describe('sendingArcs', () => {
  for (const change of changes) {
    it(`agrees with sendsKey on random keys for ${change.name}`, () => {
      const settings = { vnodes: 24, replicas: 3, hash };
      const read = buildRing(change.read, settings);
      const target = buildRing(change.target, settings);
      const unavailable = new Set(change.unavailable);
      const rng = new SeededRng(change.name.length);
      const members = [...new Set([...change.read, ...change.target])];
      let sent = 0;
      for (const source of change.read) {
        for (const receiver of members) {
          if (receiver === source) continue;
          const arcs = sendingArcs(read, target, source, receiver, unavailable);
          for (let i = 0; i < 1500; i++) {
            const key = `key-${rng.nextInt(1_000_000_000)}`;
            const position = hash(key);
            const holding = arcs.filter((arc) => inArc(position, arc.start, arc.end)).length;
            const sends = sendsKey(read, target, key, source, receiver, unavailable);
            assert.equal(holding, sends ? 1 : 0, `${source} → ${receiver}: ${key} at ${position}`);
            if (sends) sent++;
          }
        }
      }
      assert.ok(sent > 0, 'some source sends some key');
    });
  }
});

describe('rings and members on standby', () => {
  const settings = () => ({ vnodes: 8, replicas: 3, hash });
  const members = [
    { nodeId: 'a', ring: 'normal' as const },
    { nodeId: 'b', ring: 'normal' as const },
    { nodeId: 'w', ring: 'standby' as const },
  ];

  it('leaves a member on standby out of the read and target rings', () => {
    assert.deepEqual(readMembers(members), ['a', 'b']);
    assert.deepEqual(targetMembers(members), ['a', 'b']);
  });

  it('forms a ring of every member in it when fewer than N, not counting those on standby; an empty ring never', () => {
    assert.equal(isFormed(buildRing(['a', 'b'], settings()), members, 3), true);
    assert.equal(isFormed(buildRing(['a'], settings()), members, 3), false);
    assert.equal(isFormed(buildRing([], settings()), [{ ring: 'standby' }], 3), false);
  });
});
