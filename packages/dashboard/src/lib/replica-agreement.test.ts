// Checks how replica copies are ordered and compared with the version a read returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaCopy } from '@ringkv/client';
import { currentCopyCount, isDiscrepancy, judgeReplicas } from './replica-agreement.js';

const copy = (nodeId: string, status: ReplicaCopy['status'], version: string | null, tombstone = false): ReplicaCopy => ({
  nodeId,
  status,
  version,
  tombstone,
});

test('copies are listed in preference order and compared with the read version', () => {
  const verdicts = judgeReplicas(
    ['b', 'c', 'a'],
    [copy('a', 'ok', 'v1'), copy('b', 'ok', 'v2'), copy('c', 'unreachable', null)],
    'v2',
  );
  assert.deepEqual(
    verdicts.map((verdict) => [verdict.copy.nodeId, verdict.preferenceIndex, verdict.agreement]),
    [
      ['b', 0, 'current'],
      ['c', 1, 'unreachable'],
      ['a', 2, 'differs'],
    ],
  );
  assert.equal(currentCopyCount(verdicts), 1);
});

test('missing copies and tombstones of a deleted key are named as such', () => {
  const verdicts = judgeReplicas(['a', 'b'], [copy('a', 'ok', 'v3', true), copy('b', 'missing', null)], null);
  assert.deepEqual(
    verdicts.map((verdict) => verdict.agreement),
    ['deleted', 'missing'],
  );
});

test('a copy from a node outside the preference list sorts last', () => {
  const verdicts = judgeReplicas(['a'], [copy('stand-in', 'ok', 'v1'), copy('a', 'ok', 'v1')], 'v1');
  assert.deepEqual(
    verdicts.map((verdict) => verdict.copy.nodeId),
    ['a', 'stand-in'],
  );
  assert.equal(currentCopyCount(verdicts), 2);
});

test('without a read to compare with, answering copies are only held', () => {
  const verdicts = judgeReplicas(['a', 'b', 'c'], [copy('a', 'ok', 'v1'), copy('b', 'ok', 'v0', true), copy('c', 'unreachable', null)], undefined);
  assert.deepEqual(
    verdicts.map((verdict) => verdict.agreement),
    ['held', 'deleted', 'unreachable'],
  );
  assert.equal(currentCopyCount(verdicts), 0);
});

test('a missing copy is a discrepancy only when the read found a value', () => {
  assert.equal(isDiscrepancy('missing', 'v1'), true);
  assert.equal(isDiscrepancy('missing', null), false);
  assert.equal(isDiscrepancy('unreachable', null), true);
  assert.equal(isDiscrepancy('differs', 'v1'), true);
  assert.equal(isDiscrepancy('current', 'v1'), false);
  assert.equal(isDiscrepancy('held', undefined), false);
});

test('a copy whose ttl has passed is named expired, and stands out only while a read still found a value', () => {
  const expired: ReplicaCopy = { nodeId: 'a', status: 'ok', version: 'v4', tombstone: true, expired: true, expiresAt: '2026-11-29T08:00:00.000Z' };
  const verdicts = judgeReplicas(['a', 'b'], [expired, copy('b', 'ok', 'v4', true)], null);
  assert.deepEqual(
    verdicts.map((verdict) => verdict.agreement),
    ['expired', 'deleted'],
  );
  assert.equal(judgeReplicas(['a'], [expired], 'v4')[0]?.agreement, 'expired', 'even with the version the read returned');
  assert.equal(isDiscrepancy('expired', null), false);
  assert.equal(isDiscrepancy('expired', 'v4'), true);
});
