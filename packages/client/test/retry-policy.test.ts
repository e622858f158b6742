// The retry rules as a table: which failures send a read, a write (with and without an Idempotency-Key) or a
// conditional write on to another node,
// how the errors of Node's fetch are classified (a refused connection is "never sent",
// a reset is not), and when a failed write may still have been applied.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureKindOf, idempotencyKeysHonoured, mayHaveApplied, mayRetry, mayRetryConditional, mayRetryRequest, type AttemptFailure } from '../src/retry-policy.js';

const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });
const refusedBothFamilies = new TypeError('fetch failed', {
  cause: Object.assign(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' }), Object.assign(new Error('b'), { code: 'ECONNREFUSED' })]), { code: 'ECONNREFUSED' }),
});

describe('retry policy', () => {
  it('classifies what fetch threw', () => {
    assert.equal(failureKindOf(refused, false), 'not-sent');
    assert.equal(failureKindOf(refusedBothFamilies, false), 'not-sent');
    assert.equal(failureKindOf(reset, false), 'no-answer');
    assert.equal(failureKindOf(new TypeError('Failed to fetch'), false), 'no-answer', "a browser's error says nothing: assume it may have arrived");
    assert.equal(failureKindOf(refused, true), 'timeout');
  });

  const table: Array<[string, AttemptFailure, boolean, boolean]> = [
    // failure, read retried, write retried
    ['connection refused', { kind: 'not-sent' }, true, true],
    ['connection reset', { kind: 'no-answer' }, true, false],
    ['attempt timed out', { kind: 'timeout' }, true, false],
    ['503 starting, nothing applied', { kind: 'answer', status: 503, applied: false }, true, true],
    ['503 without applied', { kind: 'answer', status: 503 }, true, false],
    ['504 outcome unknown', { kind: 'answer', status: 504 }, true, false],
    ['502 bad gateway', { kind: 'answer', status: 502 }, true, false],
    ['507 disk full, nothing applied', { kind: 'answer', status: 507, applied: false }, false, false],
    ['400 bad request', { kind: 'answer', status: 400 }, false, false],
    ['401 no token', { kind: 'answer', status: 401 }, false, false],
    ['429 rate limited', { kind: 'answer', status: 429 }, false, false],
  ];
  for (const [name, failure, read, write] of table) {
    it(`${name}: read ${read ? 'retried' : 'not retried'}, write ${write ? 'retried' : 'not retried'}`, () => {
      assert.equal(mayRetry('GET', failure, undefined), read);
      assert.equal(mayRetry('PUT', failure, undefined), write);
      assert.equal(mayRetry('DELETE', failure, undefined), write);
    });
  }

  it('sends a conditional write on only when it never reached a node', () => {
    for (const [name, failure] of table.map(([label, attempt]) => [label, attempt] as const)) {
      assert.equal(mayRetryConditional(failure), failure.kind === 'not-sent', name);
    }
  });

  it('retries a write carrying an Idempotency-Key like a read, now that nodes honour the key', () => {
    assert.equal(idempotencyKeysHonoured, true);
    for (const [name, failure, read] of table) {
      assert.equal(mayRetry('PUT', failure, 'k-1'), read, `PUT ${name}`);
      assert.equal(mayRetry('DELETE', failure, 'k-1'), read, `DELETE ${name}`);
    }
    assert.equal(mayRetry('PUT', { kind: 'timeout' }, 'k-1', false), false, 'nodes that do not deduplicate: the old rule');
    assert.equal(mayRetry('PUT', { kind: 'timeout' }, undefined), false, 'no key, no retry');
  });

  it('retries a conditional write like a read when it carries an Idempotency-Key, else only when it never left', () => {
    for (const [name, failure, read, write] of table) {
      assert.equal(mayRetryRequest('PUT', failure, { idempotencyKey: 'k-1', conditional: true }), read, `conditional with key: ${name}`);
      assert.equal(mayRetryRequest('PUT', failure, { idempotencyKey: undefined, conditional: true }), failure.kind === 'not-sent', `conditional: ${name}`);
      assert.equal(mayRetryRequest('PUT', failure, { idempotencyKey: undefined, conditional: false }), write, `plain: ${name}`);
      assert.equal(mayRetryRequest('GET', failure, { idempotencyKey: undefined, conditional: false }), read, `read: ${name}`);
    }
  });

  it('says a failed write may have been applied unless every attempt provably applied nothing', () => {
    assert.equal(mayHaveApplied([{ kind: 'not-sent' }, { kind: 'answer', status: 503, applied: false }]), false);
    assert.equal(mayHaveApplied([{ kind: 'not-sent' }, { kind: 'no-answer' }]), true);
    assert.equal(mayHaveApplied([{ kind: 'answer', status: 504 }]), true);
    assert.equal(mayHaveApplied([{ kind: 'answer', status: 400 }]), false);
  });
});
