// Checks the cluster state's laws with fast-check: reconcile is a join (commutative,
// associative, idempotent), fields only move one way, the epoch grows with any news, and
// the route judgement and the barrier say what fencing relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RingStatus } from '../protocol/messages.js';
import {
  advanceRing,
  barrierPassed,
  epochOf,
  judgeRoute,
  reconcile,
  ringDigestOf,
  ringRank,
  routeStampOf,
  type ClusterState,
  type MemberRecord,
} from './cluster-state.js';

const statuses: RingStatus[] = ['standby', 'joining', 'normal', 'leaving', 'left'];
const nodeId = fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5');
const record = (id: string) =>
  fc.record({
    nodeId: fc.constant(id),
    address: fc.constantFrom('10.0.0.1:1', '10.0.0.2:1'),
    life: fc.nat({ max: 2 }),
    incarnation: fc.nat({ max: 4 }),
    ring: fc.constantFrom(...statuses),
    synced: fc.nat({ max: 3 }),
    horizon: fc.nat({ max: 1000 }),
    serving: fc.boolean(),
    epoch: fc.nat({ max: 20 }),
  });
const state: fc.Arbitrary<ClusterState> = fc
  .uniqueArray(nodeId, { maxLength: 5 })
  .chain((ids) => fc.tuple(...ids.map(record)))
  .map((records) => new Map(records.map((member) => [member.nodeId, member])));

/** States as comparable plain values (members in id order). */
function plain(value: ClusterState): MemberRecord[] {
  return [...value.values()].map((member) => ({ ...member })).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
}

describe('cluster state', () => {
  it('reconciles commutatively, associatively and idempotently', () => {
    fc.assert(
      fc.property(state, state, state, (a, b, c) => {
        assert.deepEqual(plain(reconcile(a, b)), plain(reconcile(b, a)));
        assert.deepEqual(plain(reconcile(reconcile(a, b), c)), plain(reconcile(a, reconcile(b, c))));
        assert.deepEqual(plain(reconcile(a, a)), plain(a));
      }),
      { numRuns: 500 },
    );
  });

  it('only moves fields one way: lives up; within a life statuses forward, horizons and epochs up, serving on', () => {
    fc.assert(
      fc.property(state, state, (a, b) => {
        const joined = reconcile(a, b);
        for (const side of [a, b]) {
          for (const held of side.values()) {
            const after = joined.get(held.nodeId) as MemberRecord;
            assert.ok(after.life >= held.life);
            if (after.life > held.life) continue; // a new member under the same id
            assert.ok(ringRank(after.ring) >= ringRank(held.ring));
            assert.ok(after.horizon >= held.horizon && after.epoch >= held.epoch && after.incarnation >= held.incarnation);
            assert.ok(after.serving || !held.serving);
          }
        }
      }),
    );
  });

  it("takes a member's own claims from its higher incarnation", () => {
    const old: MemberRecord = { nodeId: 'n1', address: 'a:1', life: 0, incarnation: 1, ring: 'normal', synced: 5, horizon: 0, serving: false, epoch: 3 };
    const fresh: MemberRecord = { ...old, address: 'b:1', incarnation: 2, synced: 0, ring: 'joining' };
    const joined = reconcile(new Map([['n1', old]]), new Map([['n1', fresh]])).get('n1');
    assert.deepEqual(joined, { ...fresh, ring: 'normal', epoch: 3 });
  });

  it('replaces every field of an earlier life with the later one, and raises the epoch above it', () => {
    const gone: MemberRecord = { nodeId: 'n3', address: 'a:1', life: 0, incarnation: 7, ring: 'left', synced: 9, horizon: 500, serving: true, epoch: 40 };
    const back: MemberRecord = { nodeId: 'n3', address: 'b:1', life: 1, incarnation: 0, ring: 'joining', synced: 0, horizon: 0, serving: false, epoch: 0 };
    const joined = reconcile(new Map([['n3', gone]]), new Map([['n3', back]]));
    assert.deepEqual(joined.get('n3'), back);
    assert.ok(epochOf([back]) > epochOf([gone]), 'joining in life 1 is after left in life 0');
    assert.ok(epochOf([{ ...back, ring: 'standby' }]) > epochOf([gone]), 'standby in life 1 is after left in life 0');
    assert.notEqual(ringDigestOf([back]), ringDigestOf([{ ...back, life: 0 }]));
  });

  it('orders standby before joining: a member told to join moves on, and the epoch rises', () => {
    assert.deepEqual(statuses.map(ringRank), [1, 2, 3, 4, 5]);
    const waiting: MemberRecord = { nodeId: 'n4', address: 'a:1', life: 0, incarnation: 1, ring: 'standby', synced: 0, horizon: 0, serving: true, epoch: 0 };
    const told = { ...waiting, ring: 'joining' as const };
    assert.equal(reconcile(new Map([['n4', told]]), new Map([['n4', waiting]])).get('n4')?.ring, 'joining');
    assert.ok(epochOf([told]) > epochOf([waiting]));
    assert.notEqual(ringDigestOf([told]), ringDigestOf([waiting]));
  });

  it('raises the epoch with every status learned, so that two different states reconcile above both', () => {
    fc.assert(
      fc.property(state, state, (a, b) => {
        const joined = reconcile(a, b);
        const differs = (x: ClusterState) => ringDigestOf(x.values()) !== ringDigestOf(joined.values()) || epochOf(x.values()) !== epochOf(joined.values());
        for (const side of [a, b]) {
          if (differs(side)) assert.ok(epochOf(joined.values()) > epochOf(side.values()), 'news raises the epoch');
          else assert.equal(epochOf(joined.values()), epochOf(side.values()));
        }
      }),
    );
  });

  it('moves a status only forward', () => {
    const member: MemberRecord = { nodeId: 'n1', address: 'a:1', life: 0, incarnation: 0, ring: 'leaving', synced: 0, horizon: 0, serving: true, epoch: 0 };
    assert.equal(advanceRing(member, 'normal'), member);
    assert.equal(advanceRing(member, 'left').ring, 'left');
  });

  it('serves a request routed by the same or a newer state, and refuses one routed by an older or a different one', () => {
    const members = (ring: RingStatus) => [
      { nodeId: 'n1', life: 0, ring: 'normal' as const },
      { nodeId: 'n2', life: 0, ring },
    ];
    const before = routeStampOf(members('joining'));
    const after = routeStampOf(members('normal'));
    assert.equal(judgeRoute(after, after), 'current');
    assert.equal(judgeRoute(before, after), 'newer');
    assert.equal(judgeRoute(after, before), 'stale');
    // Same epoch, other news (n1 moved on where n2 did): neither may serve the other blindly.
    const other = routeStampOf([
      { nodeId: 'n1', life: 0, ring: 'leaving' as const },
      { nodeId: 'n2', life: 0, ring: 'joining' as const },
    ]);
    assert.equal(other.epoch, after.epoch);
    assert.equal(judgeRoute(after, other), 'stale');
    assert.equal(judgeRoute(other, after), 'stale');
  });

  it('passes the barrier once every member that may route has seen the epoch', () => {
    const member = (state: 'up' | 'suspect' | 'down', ring: RingStatus, epoch: number) => ({ state, ring, epoch });
    assert.equal(barrierPassed([member('up', 'normal', 7), member('suspect', 'normal', 7)], 7), true);
    assert.equal(barrierPassed([member('up', 'normal', 7), member('suspect', 'normal', 6)], 7), false, 'a suspect member may still route');
    assert.equal(barrierPassed([member('up', 'normal', 7), member('down', 'normal', 2), member('up', 'left', 1)], 7), true, 'down and left members route nothing');
  });
});
