// Checks which jobs offer pause or resume, where the request goes, and how an answer
// shows until the next poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterNodes, Job } from '@ringkv/client';
import { applicableAction, describeControlError, isControllable, jobKey, jobNodeBaseUrl, orderJobs, withControlAnswers } from './job-control.js';

function job(overrides: Partial<Job>): Job {
  return {
    id: 'transfer-1',
    kind: 'join',
    node: 'node-1',
    state: 'running',
    description: 'node-4 joins',
    keysDone: 0,
    keysTotal: 0,
    recordsMoved: 0,
    bytesMoved: 0,
    bytesPerSecond: 0,
    keysPerSecond: 0,
    etaSeconds: null,
    startedAtMs: 1_000,
    finishedAtMs: null,
    sources: [],
    ...overrides,
  };
}

test('only unfinished transfers are controllable', () => {
  assert.equal(isControllable(job({ kind: 'join', state: 'running' })), true);
  assert.equal(isControllable(job({ kind: 'leave', state: 'waiting' })), true);
  assert.equal(isControllable(job({ kind: 'remove', state: 'paused' })), true);
  assert.equal(isControllable(job({ kind: 'join', state: 'done' })), false);
  assert.equal(isControllable(job({ kind: 'cleanup', state: 'running' })), false);
});

test('applicableAction resumes a paused job and pauses a running or waiting one', () => {
  assert.equal(applicableAction(job({ state: 'paused' })), 'resume');
  assert.equal(applicableAction(job({ state: 'running' })), 'pause');
  assert.equal(applicableAction(job({ state: 'waiting' })), 'pause');
  assert.equal(applicableAction(job({ state: 'done' })), null);
  assert.equal(applicableAction(job({ kind: 'cleanup' })), null);
});

test('jobNodeBaseUrl uses the origin (which forwards) for any listed member', () => {
  const view: Pick<ClusterNodes, 'gatheredBy' | 'nodes'> = {
    gatheredBy: 'node-1',
    nodes: [
      { nodeId: 'node-1', address: '127.0.0.1:8000', state: 'up', info: null, error: null },
      { nodeId: 'node-2', address: '127.0.0.1:8001', state: 'up', info: null, error: null },
    ],
  };
  assert.equal(jobNodeBaseUrl(view, 'node-1'), '');
  assert.equal(jobNodeBaseUrl(view, 'node-2'), '');
  assert.equal(jobNodeBaseUrl(view, 'node-9'), null);
});

test('an answer replaces its job until a newer poll, and only that node\'s job', () => {
  const polled = [job({ node: 'node-1' }), job({ node: 'node-2' })];
  const paused = job({ node: 'node-1', state: 'paused' });
  const answers = new Map([[jobKey(paused), { job: paused, atMs: 2_000 }]]);
  assert.deepEqual(
    withControlAnswers(polled, answers, 1_500).map((item) => `${item.node}:${item.state}`),
    ['node-1:paused', 'node-2:running'],
  );
  assert.deepEqual(
    withControlAnswers(polled, answers, 2_500).map((item) => item.state),
    ['running', 'running'],
  );
});

test('orderJobs puts unfinished jobs first and keeps the order within each group', () => {
  const jobs = [
    job({ id: 'a', state: 'done' }),
    job({ id: 'b', state: 'running' }),
    job({ id: 'c', state: 'done' }),
    job({ id: 'd', state: 'paused' }),
  ];
  assert.deepEqual(orderJobs(jobs).map((item) => item.id), ['b', 'd', 'a', 'c']);
});

test('describeControlError names the action and the reason', () => {
  assert.equal(describeControlError(new TypeError('Failed to fetch'), 'resume'), 'Resume failed: Could not reach the node: Failed to fetch');
});
