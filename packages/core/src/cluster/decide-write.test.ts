// Table tests of the write attempt's pure quorum decision: for replica groups, W and the
// answers so far (acks, refusals with a newer version, failures that may or may not have
// applied, silence), whether the attempt waits, is written, is re-stamped or fails, and with
// which answer (504 > 507 > 503).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideWrite, type WriteAnswer, type WriteDecision, type WriteState } from './decide-write.js';
import type { ReplicaFailure } from './outcomes.js';
import type { QuorumPolicy } from './quorum-policy.js';

const acked: WriteAnswer = { kind: 'acked' };
const newer = (hlc: number): WriteAnswer => ({ kind: 'newer', hlc });
const failed = (nodeId: string, reason: string, options: { maybeApplied?: boolean; storageFull?: boolean } = {}): WriteAnswer => {
  const failure: ReplicaFailure = options.storageFull === true ? { nodeId, reason, storageFull: true } : { nodeId, reason };
  return { kind: 'failed', failure, maybeApplied: options.maybeApplied ?? false };
};
const down = (nodeId: string) => failed(nodeId, 'down');
const full = (nodeId: string) => failed(nodeId, 'storage-full: no space', { storageFull: true });
const timedOut = (nodeId: string) => failed(nodeId, 'timeout', { maybeApplied: true });
const misrouted = (nodeId: string): WriteAnswer => ({ kind: 'misrouted', failure: { nodeId, reason: 'stale-epoch: routed by epoch 7' } });

/** Acks a write once any replica acked: the wrong policy the simulator plants (testing/planted-bugs.ts). */
const firstAckIsEnough: Pick<QuorumPolicy, 'isWritten'> = { isWritten: (acksPerGroup) => acksPerGroup.some((acks) => acks > 0) };

interface Row {
  name: string;
  groups?: string[][];
  required?: number | number[];
  answers: Array<[string, WriteAnswer]>;
  restampWaitOver?: boolean;
  rerouteAllowed?: boolean;
  quorum?: Pick<QuorumPolicy, 'isWritten'>;
  decision: WriteDecision;
}

const rows: Row[] = [
  { name: 'no answer yet: pending', answers: [], decision: { kind: 'pending', restampAfterWait: false } },
  { name: 'one ack of two: pending', answers: [['a', acked]], decision: { kind: 'pending', restampAfterWait: false } },
  { name: 'W acks: written', answers: [['a', acked], ['c', acked]], decision: { kind: 'written', acks: 2 } },
  { name: 'all acks: written with every ack counted', answers: [['a', acked], ['b', acked], ['c', acked]], decision: { kind: 'written', acks: 3 } },
  {
    name: 'W acks beside a refusal and a failure: written (W wins over a newer version seen elsewhere)',
    answers: [['a', acked], ['b', newer(99)], ['c', acked]],
    decision: { kind: 'written', acks: 2 },
  },
  { name: 'a failure, W still reachable: pending', answers: [['a', down('a')], ['b', acked]], decision: { kind: 'pending', restampAfterWait: false } },
  {
    name: 'a newer version, W still reachable: pending, re-stamp after the wait',
    answers: [['a', newer(50)], ['b', acked]],
    decision: { kind: 'pending', restampAfterWait: true },
  },
  {
    name: 'a newer version, W reachable, the wait ran out: superseded',
    answers: [['a', newer(50)], ['b', acked]],
    restampWaitOver: true,
    decision: { kind: 'superseded', newerHlc: 50 },
  },
  {
    name: 'the wait ran out without a newer version: still pending',
    answers: [['a', acked]],
    restampWaitOver: true,
    decision: { kind: 'pending', restampAfterWait: false },
  },
  {
    name: 'newer versions, W out of reach, one still in flight: superseded at once by the newest',
    answers: [['a', newer(50)], ['b', newer(70)]],
    decision: { kind: 'superseded', newerHlc: 70 },
  },
  {
    name: 'a newer version and failures, W out of reach: superseded, not failed',
    answers: [['a', newer(50)], ['b', full('b')], ['c', down('c')]],
    decision: { kind: 'superseded', newerHlc: 50 },
  },
  {
    name: 'W out of reach, a request in flight: pending (it may yet apply the write)',
    answers: [['a', down('a')], ['b', down('b')]],
    decision: { kind: 'pending', restampAfterWait: false },
  },
  {
    name: 'every replica down: unavailable (503)',
    answers: [['a', down('a')], ['b', down('b')], ['c', down('c')]],
    decision: { kind: 'unavailable', acks: 0, failures: [{ nodeId: 'a', reason: 'down' }, { nodeId: 'b', reason: 'down' }, { nodeId: 'c', reason: 'down' }] },
  },
  {
    name: 'a full disk beside down replicas: insufficient storage (507)',
    answers: [['b', down('b')], ['a', full('a')], ['c', down('c')]],
    decision: {
      kind: 'insufficient-storage',
      acks: 0,
      failures: [{ nodeId: 'b', reason: 'down' }, { nodeId: 'a', reason: 'storage-full: no space', storageFull: true }, { nodeId: 'c', reason: 'down' }],
    },
  },
  {
    name: 'one ack short of W, the rest full: outcome unknown (504 beats 507)',
    answers: [['a', acked], ['b', full('b')], ['c', full('c')]],
    decision: {
      kind: 'outcome-unknown',
      acks: 1,
      failures: [
        { nodeId: 'b', reason: 'storage-full: no space', storageFull: true },
        { nodeId: 'c', reason: 'storage-full: no space', storageFull: true },
      ],
    },
  },
  {
    name: 'no ack, but a timeout may have applied it: outcome unknown (504 beats 503)',
    answers: [['a', down('a')], ['b', timedOut('b')], ['c', down('c')]],
    decision: {
      kind: 'outcome-unknown',
      acks: 0,
      failures: [{ nodeId: 'a', reason: 'down' }, { nodeId: 'b', reason: 'timeout' }, { nodeId: 'c', reason: 'down' }],
    },
  },
  {
    name: 'a ring change: W in the first group only is not enough',
    groups: [['a', 'b', 'c'], ['a', 'b', 'd']],
    answers: [['a', acked], ['c', acked]],
    decision: { kind: 'pending', restampAfterWait: false },
  },
  {
    name: 'a ring change: W in every group is written, counting distinct replicas',
    groups: [['a', 'b', 'c'], ['a', 'b', 'd']],
    answers: [['a', acked], ['c', acked], ['d', acked]],
    decision: { kind: 'written', acks: 3 },
  },
  {
    name: 'a ring change: W out of reach in the second group fails once all answered',
    groups: [['a', 'b', 'c'], ['a', 'd', 'e']],
    answers: [['a', acked], ['b', acked], ['d', down('d')], ['e', down('e')], ['c', acked]],
    decision: { kind: 'outcome-unknown', acks: 3, failures: [{ nodeId: 'd', reason: 'down' }, { nodeId: 'e', reason: 'down' }] },
  },
  {
    name: 'a ring change: a replica of the second group still in flight keeps it pending',
    groups: [['a', 'b', 'c'], ['a', 'd', 'e']],
    answers: [['a', acked], ['b', acked], ['c', acked], ['d', down('d')]],
    decision: { kind: 'pending', restampAfterWait: false },
  },
  { name: 'W=1: one ack is written', required: 1, answers: [['b', acked]], decision: { kind: 'written', acks: 1 } },
  {
    name: 'W=3: one failure puts it out of reach; waits for the rest',
    required: 3,
    answers: [['a', acked], ['b', down('b')]],
    decision: { kind: 'pending', restampAfterWait: false },
  },
  {
    name: 'W per group (a level resolved against each group, a ring of two joining a ring of one): written once each group has its own',
    groups: [['a'], ['a', 'b']],
    required: [1, 2],
    answers: [['a', acked], ['b', acked]],
    decision: { kind: 'written', acks: 2 },
  },
  {
    name: 'W per group: the larger group still short of its own W: pending',
    groups: [['a'], ['a', 'b']],
    required: [1, 2],
    answers: [['a', acked]],
    decision: { kind: 'pending', restampAfterWait: false },
  },
  {
    name: 'a replica refuses the routing as stale: routed again, even beside W acks (the groups may be wrong)',
    answers: [['a', acked], ['b', misrouted('b')], ['c', acked]],
    decision: { kind: 'rerouted' },
  },
  {
    name: 'a stale routing once the reroutes are spent: a refusal that applied nothing (503 when nothing else could)',
    answers: [['a', misrouted('a')], ['b', misrouted('b')], ['c', down('c')]],
    rerouteAllowed: false,
    decision: {
      kind: 'unavailable',
      acks: 0,
      failures: [
        { nodeId: 'a', reason: 'stale-epoch: routed by epoch 7' },
        { nodeId: 'b', reason: 'stale-epoch: routed by epoch 7' },
        { nodeId: 'c', reason: 'down' },
      ],
    },
  },
  {
    name: 'a stale routing once the reroutes are spent, W met elsewhere: written',
    answers: [['a', acked], ['b', misrouted('b')], ['c', acked]],
    rerouteAllowed: false,
    decision: { kind: 'written', acks: 2 },
  },
  {
    name: 'a policy that takes the first ack: written with one (how a planted bug is injected)',
    answers: [['a', acked]],
    quorum: firstAckIsEnough,
    decision: { kind: 'written', acks: 1 },
  },
];

describe('decideWrite', () => {
  for (const row of rows) {
    it(row.name, () => {
      const state: WriteState = {
        groups: row.groups ?? [['a', 'b', 'c']],
        required: row.required ?? 2,
        answers: new Map(row.answers),
        restampWaitOver: row.restampWaitOver ?? false,
        ...(row.rerouteAllowed !== undefined ? { rerouteAllowed: row.rerouteAllowed } : {}),
        ...(row.quorum !== undefined ? { quorum: row.quorum } : {}),
      };
      assert.deepEqual(decideWrite(state), row.decision);
    });
  }

  it('never decides a failure while any replica is still pending, whatever the answers so far', () => {
    const kinds: WriteAnswer[] = [acked, newer(5), down('x'), full('x'), timedOut('x')];
    const replicas = ['a', 'b', 'c'];
    // Every assignment of an answer (or none) to each of the three replicas, W = 1..3.
    for (let code = 0; code < (kinds.length + 1) ** replicas.length; code++) {
      const answers = new Map<string, WriteAnswer>();
      let rest = code;
      for (const nodeId of replicas) {
        const pick = rest % (kinds.length + 1);
        rest = Math.floor(rest / (kinds.length + 1));
        if (pick > 0) answers.set(nodeId, kinds[pick - 1] as WriteAnswer);
      }
      for (let required = 1; required <= 3; required++) {
        const decision = decideWrite({ groups: [replicas], required, answers, restampWaitOver: false });
        const acks = [...answers.values()].filter((answer) => answer.kind === 'acked').length;
        if (acks >= required) assert.equal(decision.kind, 'written');
        else assert.notEqual(decision.kind, 'written');
        const failedKinds = ['unavailable', 'insufficient-storage', 'outcome-unknown'];
        if (answers.size < replicas.length) assert.ok(!failedKinds.includes(decision.kind), `decided ${decision.kind} with a replica pending`);
      }
    }
  });
});
