// Checks the ring's balance, its movement when a member joins, and every lookup against a
// naive linear scan of the sorted tokens.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from './hash.js';
import { inArc } from '../storage/ring-order.js';
import { Ring, tokenSpace } from './ring.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const ids = (count: number) => Array.from({ length: count }, (_, i) => `n${i + 1}`);
const sampleKeys = Array.from({ length: 60_000 }, (_, i) => `key-${i}`);

describe('Ring', () => {
  it('gives each of 5 members between 15% and 25% of the ring', () => {
    const ring = new Ring({ nodeIds: ids(5), vnodes: 256, replicas: 3, hash });
    const shares = ring.primaryShares();
    const total = [...shares.values()].reduce((sum, share) => sum + share, 0);
    assert.ok(Math.abs(total - 1) < 1e-9, `shares sum to ${total}`);
    for (const [nodeId, share] of shares) assert.ok(share >= 0.15 && share <= 0.25, `${nodeId} owns ${share}`);
  });

  it('moves at most 1.25x the ideal 1/6 of keys when a 6th member joins, and only to it', () => {
    const five = new Ring({ nodeIds: ids(5), vnodes: 256, replicas: 3, hash });
    const six = new Ring({ nodeIds: ids(6), vnodes: 256, replicas: 3, hash });
    let movedPrimary = 0;
    for (const key of sampleKeys) {
      const before = five.preferenceList(key);
      const after = six.preferenceList(key);
      if (before[0] !== after[0]) {
        movedPrimary++;
        assert.equal(after[0], 'n6', `${key} moved between old members`);
      }
      // Replicas gained by a key are only ever the new member.
      for (const nodeId of after) if (!before.includes(nodeId)) assert.equal(nodeId, 'n6');
    }
    const fraction = movedPrimary / sampleKeys.length;
    assert.ok(fraction <= 1.25 / 6, `moved ${fraction} of keys`);
    assert.ok(fraction > 0.5 / 6, `moved suspiciously few keys: ${fraction}`);
  });

  it('returns N distinct members, or all members when fewer than N', () => {
    const ring = new Ring({ nodeIds: ids(5), vnodes: 64, replicas: 3, hash });
    for (const key of sampleKeys.slice(0, 2000)) {
      const list = ring.preferenceList(key);
      assert.equal(list.length, 3);
      assert.equal(new Set(list).size, 3);
    }
    const small = new Ring({ nodeIds: ids(2), vnodes: 16, replicas: 3, hash });
    assert.deepEqual([...small.preferenceList('k')].sort(), ['n1', 'n2']);
  });

  it('agrees with a naive linear scan over the tokens', () => {
    const nodeIds = ids(4);
    const ring = new Ring({ nodeIds, vnodes: 32, replicas: 3, hash });
    const tokens = nodeIds
      .flatMap((nodeId) => Array.from({ length: 32 }, (_, i) => ({ token: hash(`${nodeId}#${i}`), nodeId })))
      .sort((a, b) => a.token - b.token || (a.nodeId < b.nodeId ? -1 : 1));
    for (const key of sampleKeys.slice(0, 3000)) {
      const position = hash(key);
      let start = tokens.findIndex((entry) => entry.token >= position);
      if (start === -1) start = 0;
      const expected: string[] = [];
      for (let step = 0; expected.length < 3; step++) {
        const owner = (tokens[(start + step) % tokens.length] as { nodeId: string }).nodeId;
        if (!expected.includes(owner)) expected.push(owner);
      }
      assert.deepEqual([...ring.preferenceList(key)], expected, key);
    }
  });

  it('describes ranges that tile the whole circle', () => {
    const ring = new Ring({ nodeIds: ids(3), vnodes: 8, replicas: 2, hash });
    const ranges = ring.ranges();
    assert.equal(ranges.length, 24);
    const covered = ranges.reduce((sum, range) => sum + ((range.end - range.start + tokenSpace) % tokenSpace), 0);
    assert.equal(covered, tokenSpace);
  });

  it('joins the ranges a predicate keeps into disjoint arcs that hold exactly their keys', () => {
    const ring = new Ring({ nodeIds: ids(4), vnodes: 16, replicas: 2, hash });
    const cases: Array<(replicas: readonly string[]) => boolean> = [() => true, () => false];
    for (const nodeId of ring.nodeIds) cases.push((replicas) => replicas.includes(nodeId), (replicas) => !replicas.includes(nodeId), (replicas) => replicas[0] === nodeId);
    const wrapping = (keep: (replicas: readonly string[]) => boolean) => keep(ring.replicasOfRange(0)) && keep(ring.replicasOfRange(ring.tokenCount - 1));
    assert.ok(cases.some((keep) => wrapping(keep) && !ring.ranges().every((range) => keep(range.replicas))), 'some case has a run across the top of the circle');
    for (const keep of cases) {
      const arcs = ring.arcsWhere(keep);
      // Neighbours on the circle, the last arc and the first included, are joined.
      for (let i = 1; i < arcs.length; i++) assert.notEqual((arcs[i - 1] as { end: number }).end, (arcs[i] as { start: number }).start);
      if (arcs.length > 1) assert.notEqual((arcs[arcs.length - 1] as { end: number }).end, (arcs[0] as { start: number }).start);
      for (const key of sampleKeys.slice(0, 5000)) {
        const position = hash(key);
        const holding = arcs.filter((arc) => inArc(position, arc.start, arc.end)).length;
        assert.equal(holding, keep(ring.preferenceListAt(position)) ? 1 : 0, key);
      }
    }
    assert.equal(ring.arcsWhere(() => true).length, 1, 'a predicate that keeps every range gives the whole circle');
  });

  it('is the same whatever order members are given in', () => {
    const a = new Ring({ nodeIds: ['n3', 'n1', 'n2'], vnodes: 16, replicas: 2, hash });
    const b = new Ring({ nodeIds: ['n1', 'n2', 'n3'], vnodes: 16, replicas: 2, hash });
    for (const key of sampleKeys.slice(0, 500)) assert.deepEqual(a.preferenceList(key), b.preferenceList(key));
  });
});
