// Checks how roles map to the controls shown, and how identities and refusals read,
// with plain values shaped like the client's errors and /auth/me answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from './access.js';
import { describeExpiry, describePrefix, describeRefusal, permissionsOf, problemText, sessionEndedReason, statusOf } from './access.js';

const problem = (status: number, detail: string, title = 'Forbidden') => Object.assign(new Error('x'), { status, problem: { title, detail } });

test('each role holds the rights of the roles below it', () => {
  assert.deepEqual(permissionsOf('read'), { write: false, admin: false });
  assert.deepEqual(permissionsOf('write'), { write: true, admin: false });
  assert.deepEqual(permissionsOf('admin'), { write: true, admin: true });
});

test('a role the page does not know gets read rights only', () => {
  assert.deepEqual(permissionsOf('owner' as Role), { write: false, admin: false });
  assert.deepEqual(permissionsOf('toString' as Role), { write: false, admin: false });
});

test('a prefix is quoted, no prefix says nothing', () => {
  assert.equal(describePrefix('tenant-a/'), 'keys under “tenant-a/”');
  assert.equal(describePrefix(null), null);
  assert.equal(describePrefix(''), null);
});

test('expiry reads as time left, expired, or nothing', () => {
  const nowMs = Date.parse('2026-05-01T12:00:00Z');
  assert.equal(describeExpiry('2026-05-01T15:05:00Z', nowMs), 'expires in 3 h 5 min');
  assert.equal(describeExpiry('2026-05-01T11:59:59Z', nowMs), 'expired');
  assert.equal(describeExpiry(null, nowMs), null);
  assert.equal(describeExpiry('not a time', nowMs), null);
});

test('refusals (403) quote the node, other errors are not refusals', () => {
  const refused = problem(403, 'This token reaches only keys under "tenant-a/".');
  assert.equal(statusOf(refused), 403);
  assert.equal(describeRefusal(refused), 'Your token may not do this: This token reaches only keys under "tenant-a/".');
  assert.equal(describeRefusal(problem(403, '', 'Forbidden')), 'Your token may not do this: Forbidden.');
  assert.equal(describeRefusal(problem(401, 'missing token')), null);
  assert.equal(describeRefusal(new TypeError('Failed to fetch')), null);
  assert.equal(statusOf(new TypeError('Failed to fetch')), null);
});

test('problem text drops its full stop and falls back to the title, then the status', () => {
  assert.equal(problemText(problem(401, 'The token has expired.')), 'The token has expired');
  assert.equal(problemText(problem(401, '', 'Unauthorized')), 'Unauthorized');
  assert.equal(problemText({ status: 401, problem: {} }), 'HTTP 401');
});

test('the sign-in form says why the session ended, with the node\'s words when it gave some', () => {
  const reason = sessionEndedReason('  no valid token was sent.  ');
  assert.match(reason.summary, /revoked or have expired/);
  assert.equal(reason.detail, 'no valid token was sent.');
  assert.equal(sessionEndedReason('').detail, null);
});
