// Table tests of rapid read protection's pure decisions: whom a read asks first, and after
// each answer, failure or timer whether it asks more (to make up R, or speculatively),
// waits (and how long), finishes or fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextReadStep, readOrder, type ReadProgress, type ReadStep } from './read-plan.js';

describe('readOrder', () => {
  const cases: Array<{ name: string; replicas: string[]; self: string; down: string[]; slow: string[]; order: string[]; available: number }> = [
    { name: 'itself first, then preference order', replicas: ['a', 'b', 'c'], self: 'b', down: [], slow: [], order: ['b', 'a', 'c'], available: 3 },
    { name: 'not a replica itself', replicas: ['a', 'b', 'c'], self: 'x', down: [], slow: [], order: ['a', 'b', 'c'], available: 3 },
    { name: 'a slow replica goes behind the healthy ones', replicas: ['a', 'b', 'c'], self: 'c', down: [], slow: ['a'], order: ['c', 'b', 'a'], available: 3 },
    { name: 'a down replica goes behind the slow ones', replicas: ['a', 'b', 'c'], self: 'x', down: ['a'], slow: ['b'], order: ['c', 'b', 'a'], available: 2 },
    { name: 'itself stays first even if it looks slow', replicas: ['a', 'b', 'c'], self: 'a', down: [], slow: ['a'], order: ['a', 'b', 'c'], available: 3 },
    { name: 'all slow: preference order among them', replicas: ['a', 'b', 'c'], self: 'x', down: [], slow: ['a', 'b', 'c'], order: ['a', 'b', 'c'], available: 3 },
    { name: 'all down', replicas: ['a', 'b'], self: 'x', down: ['a', 'b'], slow: [], order: ['a', 'b'], available: 0 },
  ];
  for (const test of cases) {
    it(test.name, () => {
      const result = readOrder(test.replicas, test.self, (nodeId) => !test.down.includes(nodeId), (nodeId) => test.slow.includes(nodeId));
      assert.deepEqual(result, { order: test.order, available: test.available });
    });
  }
});

describe('nextReadStep', () => {
  const base: ReadProgress = { required: 2, replies: 0, inflight: 0, unasked: 3, unaskedAvailable: 3, waitedMs: 0, speculateAfterMs: 10 };
  const cases: Array<{ name: string; progress: Partial<ReadProgress>; step: ReadStep }> = [
    { name: 'at the start it asks R replicas', progress: {}, step: { kind: 'ask', count: 2, speculative: false } },
    { name: 'R=1 asks one', progress: { required: 1 }, step: { kind: 'ask', count: 1, speculative: false } },
    { name: 'fewer replicas than R: asks all there are', progress: { unasked: 1, unaskedAvailable: 1 }, step: { kind: 'ask', count: 1, speculative: false } },
    { name: 'R answers: done', progress: { replies: 2, inflight: 1, unasked: 0 }, step: { kind: 'done' } },
    { name: 'R answers, even while late ones are in flight', progress: { replies: 2, inflight: 2, unasked: 1, waitedMs: 999 }, step: { kind: 'done' } },
    {
      name: 'enough in flight, within the wait: waits the rest of it',
      progress: { inflight: 2, unasked: 1, unaskedAvailable: 1, waitedMs: 4 },
      step: { kind: 'wait', recheckAfterMs: 6 },
    },
    {
      name: 'enough in flight, the wait is over: asks one more, speculatively',
      progress: { replies: 1, inflight: 1, unasked: 1, unaskedAvailable: 1, waitedMs: 10 },
      step: { kind: 'ask', count: 1, speculative: true },
    },
    {
      name: 'two frozen of R asked: one more per wait, not all at once',
      progress: { inflight: 2, unasked: 2, unaskedAvailable: 2, waitedMs: 50 },
      step: { kind: 'ask', count: 1, speculative: true },
    },
    {
      name: 'a failure leaves too few in flight: replaces it at once, not speculatively',
      progress: { replies: 1, inflight: 0, unasked: 1, unaskedAvailable: 1, waitedMs: 1 },
      step: { kind: 'ask', count: 1, speculative: false },
    },
    {
      name: 'a failure is replaced even by a replica believed down',
      progress: { replies: 1, inflight: 0, unasked: 1, unaskedAvailable: 0 },
      step: { kind: 'ask', count: 1, speculative: false },
    },
    {
      name: 'only replicas believed down are left: no speculation, waits without a timer',
      progress: { replies: 1, inflight: 1, unasked: 1, unaskedAvailable: 0, waitedMs: 500 },
      step: { kind: 'wait', recheckAfterMs: undefined },
    },
    {
      name: 'speculation off: waits for the answers (the read timeout bounds them)',
      progress: { replies: 1, inflight: 1, unasked: 1, unaskedAvailable: 1, waitedMs: 500, speculateAfterMs: undefined },
      step: { kind: 'wait', recheckAfterMs: undefined },
    },
    { name: 'everyone asked, all in flight: waits', progress: { replies: 1, inflight: 2, unasked: 0, unaskedAvailable: 0 }, step: { kind: 'wait', recheckAfterMs: undefined } },
    {
      name: 'R cannot be reached but answers are in flight: waits for them',
      progress: { required: 3, replies: 0, inflight: 1, unasked: 0, unaskedAvailable: 0 },
      step: { kind: 'wait', recheckAfterMs: undefined },
    },
    { name: 'nothing in flight, no one left: failed', progress: { replies: 1, inflight: 0, unasked: 0, unaskedAvailable: 0 }, step: { kind: 'failed' } },
    { name: 'no replicas at all: failed', progress: { inflight: 0, unasked: 0, unaskedAvailable: 0 }, step: { kind: 'failed' } },
  ];
  for (const test of cases) {
    it(test.name, () => {
      assert.deepEqual(nextReadStep({ ...base, ...test.progress }), test.step);
    });
  }
});
