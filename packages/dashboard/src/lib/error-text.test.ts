// Checks that API problems, timeouts and network failures become readable sentences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeError } from './error-text.js';

test('a problem+json error shows its detail and status', () => {
  const error = Object.assign(new Error('x'), {
    status: 503,
    problem: { title: 'Unavailable', detail: 'only 1 of 2 replicas answered' },
  });
  assert.equal(describeError(error), 'only 1 of 2 replicas answered (HTTP 503)');
});

test('a problem without detail falls back to its title, then the status', () => {
  assert.equal(describeError({ status: 400, problem: { title: 'Bad Request', detail: '' } }), 'Bad Request (HTTP 400)');
  assert.equal(describeError({ status: 500, problem: {} }), 'The node answered 500.');
});

test('timeouts and network failures are named', () => {
  assert.equal(describeError(new DOMException('signal timed out', 'TimeoutError')), 'The node did not answer in time.');
  assert.equal(describeError(new TypeError('Failed to fetch')), 'Could not reach the node: Failed to fetch');
  assert.equal(describeError('boom'), 'boom');
});
