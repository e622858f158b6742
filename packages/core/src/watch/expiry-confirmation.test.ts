// Checks, as a table, when replicas' answers confirm an expiry: a majority must answer in
// every ring writes reach, and the newest version any of them holds wins, including the
// answers of slow-gossip seed 3201077 (a read ring whose majority missed the newer write);
// with fewer answers the newest is still returned, as enough to refute an expiry (seed
// 3601432), with whether a majority of the asking replica's own replicas answered (seed 4000313);
// a replica that lost its data counts toward no majority, though what it holds still wins (seed 3800272).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newestConfirmed, type VersionAnswer } from './expiry-confirmation.js';

const expiring = { hlc: 5675, nodeId: 'n4' };
const newer = { hlc: 5820, nodeId: 'n2' };
const oldRing = ['n1', 'n3', 'n4'];
const joiningRing = ['n6', 'n1', 'n3'];

// The asking replica is n4 unless a case names another.
const cases: Array<{ name: string; self?: string; rings: string[][]; answers: Array<[string, VersionAnswer]>; heldOnly?: VersionAnswer[]; expected: ReturnType<typeof newestConfirmed> }> = [
  { name: 'one ring, a majority holds the expiring value', rings: [oldRing], answers: [['n4', expiring], ['n1', expiring]], expected: expiring },
  { name: 'one ring, a majority holds nothing but this replica', rings: [oldRing], answers: [['n4', expiring], ['n1', null]], expected: expiring },
  { name: 'one ring, one answer in three', rings: [oldRing], answers: [['n4', expiring]], expected: { fewAnswered: expiring, ownRingMajority: false } },
  { name: 'one ring, one answer in three and it holds nothing', rings: [oldRing], answers: [['n1', null]], expected: { fewAnswered: null, ownRingMajority: false } },
  // Seed 4000313: n1, its gossip starved, held the other two down and heard only itself.
  { name: 'one ring, only the asking replica answers', self: 'n1', rings: [['n4', 'n3', 'n1']], answers: [['n1', expiring]], expected: { fewAnswered: expiring, ownRingMajority: false } },
  // Seed 3601432: the expiring replica was not in its own view of the ring; only the replica holding the newer quorum write answered.
  { name: 'one ring, one answer in three and it holds a newer version', self: 'n1', rings: [['n2', 'n5', 'n4']], answers: [['n2', newer]], expected: { fewAnswered: newer, ownRingMajority: false } },
  { name: 'one ring, a replica holds a newer version', rings: [oldRing], answers: [['n4', expiring], ['n3', newer]], expected: newer },
  { name: 'no replica holds the key', rings: [oldRing], answers: [['n1', null], ['n3', null]], expected: null },
  // Seed 3201077: n1 had just restarted on an empty disk; n6 of the joining ring held the newer write.
  { name: 'while a node joins: the joining ring answers too', rings: [oldRing, joiningRing], answers: [['n4', expiring], ['n1', null], ['n6', newer]], expected: newer },
  { name: 'while a node joins: the old ring has its majority, the joining ring not', rings: [oldRing, joiningRing], answers: [['n4', expiring], ['n1', null]], expected: { fewAnswered: expiring, ownRingMajority: true } },
  { name: 'while a node joins: the joining ring, which this replica is not in, has its majority, the old ring not', rings: [oldRing, joiningRing], answers: [['n6', expiring], ['n3', expiring]], expected: { fewAnswered: expiring, ownRingMajority: false } },
  { name: 'while a node joins: a majority of each, none newer', rings: [oldRing, joiningRing], answers: [['n4', expiring], ['n1', expiring], ['n6', null]], expected: expiring },
  // Seed 3800272: n1 restarted on an empty disk and lost the newer delete it had taken; its "none" is not counted.
  { name: 'a replica that lost its data holds nothing: no majority', rings: [oldRing], answers: [['n4', expiring]], heldOnly: [null], expected: { fewAnswered: expiring, ownRingMajority: false } },
  { name: 'a replica that lost its data holds a newer version: it refutes', rings: [oldRing], answers: [['n4', expiring]], heldOnly: [newer], expected: { fewAnswered: newer, ownRingMajority: false } },
  { name: 'a majority answered, and a replica that lost its data holds a newer version', rings: [oldRing], answers: [['n4', expiring], ['n3', expiring]], heldOnly: [newer], expected: newer },
];

describe('expiry confirmation', () => {
  for (const { name, self, rings, answers, heldOnly, expected } of cases) {
    it(name, () => {
      assert.deepEqual(newestConfirmed(self ?? 'n4', rings, new Map(answers), heldOnly), expected);
    });
  }
});
