// Checks, as tables over plain member lists and errors shaped like the client's, which ring
// changes each member is offered (against what a node accepts), what the confirmation
// says, and how answers, refusals and the status shown before the next poll read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MemberState, RingStatus } from '@ringkv/client';
import {
  describeConfirmation,
  describeRingChangeAnswer,
  describeRingChangeError,
  ringActionsOf,
  ringStatusWithAnswer,
  type RingMember,
} from './ring-change.js';

const member = (nodeId: string, state: MemberState, ringStatus: RingStatus | null): RingMember => ({ nodeId, state, ringStatus });

/** Four normal members up, served by n1, and `extra` besides. */
const clusterWith = (...extra: RingMember[]): RingMember[] => [
  member('n1', 'up', 'normal'),
  member('n2', 'up', 'normal'),
  member('n3', 'up', 'normal'),
  member('n4', 'up', 'normal'),
  ...extra,
];

const offered = (target: RingMember, members: readonly RingMember[], replicas: number | null = 3) =>
  ringActionsOf(target, members, replicas, 'n1').map((offer) => (offer.blockedBy === null ? offer.action : `${offer.action} (blocked)`));

test('each ring status and member state is offered what a node accepts', () => {
  const cases: ReadonlyArray<[MemberState, RingStatus | null, string[]]> = [
    ['up', 'standby', ['join', 'leave']],
    ['up', 'normal', ['leave']],
    ['up', 'joining', []],
    ['up', 'leaving', []],
    ['up', 'left', []],
    ['up', null, []],
    // Neither leave (it may not answer) nor remove (a node refuses to remove a member it does not hold down).
    ['suspect', 'normal', []],
    ['suspect', 'standby', []],
    ['down', 'normal', ['remove']],
    ['down', 'joining', ['remove']],
    ['down', 'standby', ['remove']],
    ['down', 'leaving', []],
    ['down', 'left', []],
    ['down', null, []],
  ];
  for (const [state, ringStatus, want] of cases) {
    const target = member('n5', state, ringStatus);
    assert.deepEqual(offered(target, clusterWith(target)), want, `${state} ${String(ringStatus)}`);
  }
});

test('the serving node may leave but is never offered its own removal', () => {
  const members = clusterWith();
  assert.deepEqual(offered(members[0] as RingMember, members), ['leave']);
  const servingDown = member('n1', 'down', 'normal');
  assert.deepEqual(offered(servingDown, [servingDown, ...members.slice(1)]), []);
});

test('leave and remove are blocked, with the node\'s reason, when fewer than N members would remain', () => {
  const three = [member('n1', 'up', 'normal'), member('n2', 'up', 'normal'), member('n3', 'down', 'normal')];
  for (const target of three.slice(1)) {
    const [offer] = ringActionsOf(target, three, 3, 'n1');
    assert.equal(offer?.blockedBy, 'only 2 members would remain for 3 replicas per key; add a node first', target.nodeId);
  }
  // A joining member counts, a standby one does not; N unknown leaves it to the node.
  const withJoining = [...three, member('n4', 'up', 'joining'), member('n5', 'up', 'standby')];
  assert.equal(ringActionsOf(three[1] as RingMember, withJoining, 3, 'n1')[0]?.blockedBy, null);
  assert.equal(ringActionsOf(member('n9', 'up', 'normal'), [member('n9', 'up', 'normal')], 1, 'n1')[0]?.blockedBy, 'only 0 members would remain for 1 replicas per key; add a node first');
  assert.equal(ringActionsOf(three[1] as RingMember, three, null, 'n1')[0]?.blockedBy, null);
  // A member on standby holds no ranges: it may leave whatever the count.
  assert.deepEqual(offered(member('n5', 'up', 'standby'), withJoining, 9), ['join', 'leave']);
});

test('the confirmation names the node and says what happens', () => {
  const standby = member('n4', 'up', 'standby');
  const join = describeConfirmation('join', standby, 'n1');
  assert.equal(join.title, 'Join n4 to the ring?');
  assert.match(join.text, /^n4 leaves standby and becomes joining: the ranges it takes over stream to it/);
  assert.equal(join.confirmLabel, 'Join n4');

  const leave = describeConfirmation('leave', member('n4', 'up', 'normal'), 'n1');
  assert.equal(leave.text, 'n4 becomes leaving: its ranges stream to the remaining members, and it stops once they are done.');
  assert.equal(leave.confirmLabel, 'Decommission n4');
  assert.match(describeConfirmation('leave', standby, 'n1').text, /^n4 is on standby and holds no ranges: it leaves the cluster at once and stops\.$/);
  assert.match(describeConfirmation('leave', member('n1', 'up', 'normal'), 'n1').text, /This page is served by n1: once it stops, open the dashboard of another member\.$/);

  const remove = describeConfirmation('remove', member('n3', 'down', 'normal'), 'n1');
  assert.equal(remove.title, 'Remove n3 for good?');
  assert.match(remove.text, /^n3 is taken out of the ring: the other replicas copy its ranges to their new owners\. Only for a node that will never return/);
});

test('an answer reads as the node worded it, as one sentence', () => {
  const message = 'n4 is joining: its ranges stream to it, then it is normal; 3 other members already hold the change';
  assert.equal(describeRingChangeAnswer({ message }), `${message}.`);
  assert.equal(describeRingChangeAnswer({ message: 'done.' }), 'done.');
});

test('a failure quotes the problem\'s title and detail with its status, or why the node could not be asked', () => {
  const problem = (status: number, title: unknown, detail: unknown) => Object.assign(new Error('x'), { status, problem: { title, detail } });
  assert.equal(
    describeRingChangeError(problem(409, 'Ring change refused', 'only 2 members would remain for 3 replicas per key; add a node first'), 'leave', 'n2'),
    'Leave n2 failed: Ring change refused: only 2 members would remain for 3 replicas per key; add a node first (HTTP 409).',
  );
  assert.equal(
    describeRingChangeError(problem(403, 'Role not allowed', 'POST /cluster/join needs a token with role admin; token "ops" has role read.'), 'join', 'n4'),
    'Join n4 failed: Role not allowed: POST /cluster/join needs a token with role admin; token "ops" has role read (HTTP 403).',
  );
  assert.equal(describeRingChangeError(problem(502, 'Member unreachable', ''), 'leave', 'n4'), 'Leave n4 failed: Member unreachable (HTTP 502).');
  assert.equal(describeRingChangeError(problem(500, undefined, undefined), 'remove', 'n3'), 'Remove n3 failed: the node gave no reason (HTTP 500).');
  assert.equal(describeRingChangeError(new TypeError('Failed to fetch'), 'remove', 'n3'), 'Remove n3 failed: Could not reach the node: Failed to fetch');
  assert.equal(
    describeRingChangeError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'join', 'n4'),
    "Join n4 failed: the node did not answer in time, so the change may or may not have begun; watch n4's ring status before asking again.",
  );
});

test('an accepted change shows until a poll newer than its answer', () => {
  const answer = { change: { nodeId: 'n4', ringStatus: 'joining' as const }, atMs: 2_000 };
  assert.equal(ringStatusWithAnswer('standby', answer, 1_500), 'joining');
  assert.equal(ringStatusWithAnswer('standby', answer, null), 'joining');
  assert.equal(ringStatusWithAnswer('normal', answer, 2_500), 'normal');
  assert.equal(ringStatusWithAnswer('standby', undefined, 1_500), 'standby');
});
