// Table tests of a quorum read's pure decision: after each answer, failure or timer,
// whether it asks more (to make up R, or speculatively), waits (and how long), answers or fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRead, type ReadDecision, type ReadState } from './decide-read.js';

describe('decideRead', () => {
  const base: ReadState = { required: 2, replies: 0, inflight: 0, unasked: 3, unaskedAvailable: 3, waitedMs: 0, speculateAfterMs: 10 };
  const cases: Array<{ name: string; state: Partial<ReadState>; step: ReadDecision }> = [
    { name: 'at the start it asks R replicas', state: {}, step: { kind: 'ask', count: 2, speculative: false } },
    { name: 'R=1 asks one', state: { required: 1 }, step: { kind: 'ask', count: 1, speculative: false } },
    { name: 'fewer replicas than R: asks all there are', state: { unasked: 1, unaskedAvailable: 1 }, step: { kind: 'ask', count: 1, speculative: false } },
    { name: 'R answers: answered', state: { replies: 2, inflight: 1, unasked: 0 }, step: { kind: 'answered' } },
    { name: 'R answers, even while late ones are in flight', state: { replies: 2, inflight: 2, unasked: 1, waitedMs: 999 }, step: { kind: 'answered' } },
    {
      name: 'enough in flight, within the wait: waits the rest of it',
      state: { inflight: 2, unasked: 1, unaskedAvailable: 1, waitedMs: 4 },
      step: { kind: 'wait', recheckAfterMs: 6 },
    },
    {
      name: 'enough in flight, the wait is over: asks one more, speculatively',
      state: { replies: 1, inflight: 1, unasked: 1, unaskedAvailable: 1, waitedMs: 10 },
      step: { kind: 'ask', count: 1, speculative: true },
    },
    {
      name: 'two frozen of R asked: one more per wait, not all at once',
      state: { inflight: 2, unasked: 2, unaskedAvailable: 2, waitedMs: 50 },
      step: { kind: 'ask', count: 1, speculative: true },
    },
    {
      name: 'a failure leaves too few in flight: replaces it at once, not speculatively',
      state: { replies: 1, inflight: 0, unasked: 1, unaskedAvailable: 1, waitedMs: 1 },
      step: { kind: 'ask', count: 1, speculative: false },
    },
    {
      name: 'a failure is replaced even by a replica believed down',
      state: { replies: 1, inflight: 0, unasked: 1, unaskedAvailable: 0 },
      step: { kind: 'ask', count: 1, speculative: false },
    },
    {
      name: 'only replicas believed down are left: no speculation, waits without a timer',
      state: { replies: 1, inflight: 1, unasked: 1, unaskedAvailable: 0, waitedMs: 500 },
      step: { kind: 'wait', recheckAfterMs: undefined },
    },
    {
      name: 'speculation off: waits for the answers (the read timeout bounds them)',
      state: { replies: 1, inflight: 1, unasked: 1, unaskedAvailable: 1, waitedMs: 500, speculateAfterMs: undefined },
      step: { kind: 'wait', recheckAfterMs: undefined },
    },
    { name: 'everyone asked, all in flight: waits', state: { replies: 1, inflight: 2, unasked: 0, unaskedAvailable: 0 }, step: { kind: 'wait', recheckAfterMs: undefined } },
    {
      name: 'R cannot be reached but answers are in flight: waits for them',
      state: { required: 3, replies: 0, inflight: 1, unasked: 0, unaskedAvailable: 0 },
      step: { kind: 'wait', recheckAfterMs: undefined },
    },
    { name: 'nothing in flight, no one left: failed', state: { replies: 1, inflight: 0, unasked: 0, unaskedAvailable: 0 }, step: { kind: 'failed' } },
    { name: 'no replicas at all: failed', state: { inflight: 0, unasked: 0, unaskedAvailable: 0 }, step: { kind: 'failed' } },
  ];
  for (const test of cases) {
    it(test.name, () => {
      assert.deepEqual(decideRead({ ...base, ...test.state }), test.step);
    });
  }
});
