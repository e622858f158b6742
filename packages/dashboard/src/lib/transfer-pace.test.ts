// Checks how a node's transfer cap reads, which typed caps are sent, and how a Set
// answer (of the cap or the floor) shows in the pace list until the next poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pace } from '@ringkv/client';
import { describeTransferCap, describeTransferCapAnswer, describeTransferCapError, parseTransferCap, transferCapField, withPaceAnswers } from './transfer-pace.js';

function pace(overrides: Partial<Pace>): Pace {
  return { node: 'n1', transferMbPerSecond: 0, transferredBytes: 0, transferWaitedMs: 0, backgroundShare: 1, backgroundShareMin: 0.1, ...overrides };
}

test('describeTransferCap says "no cap" for 0 and the cap as set otherwise', () => {
  assert.equal(describeTransferCap(0), 'no cap');
  assert.equal(describeTransferCap(7), '7 MB/s');
  assert.equal(describeTransferCap(0.5), '0.5 MB/s');
  assert.equal(describeTransferCap(12.345), '12.35 MB/s');
  assert.equal(describeTransferCap(1_500), '1,500 MB/s');
  assert.equal(describeTransferCap(-1), '–');
});

test('parseTransferCap takes 0 or more MB/s and refuses an empty field', () => {
  assert.deepEqual(parseTransferCap(' 7 '), { ok: true, update: { transferMbPerSecond: 7 } });
  assert.deepEqual(parseTransferCap('0'), { ok: true, update: { transferMbPerSecond: 0 } });
  assert.deepEqual(parseTransferCap('2.5'), { ok: true, update: { transferMbPerSecond: 2.5 } });
  for (const text of ['', '   ', '-1', 'fast', 'Infinity']) {
    const parsed = parseTransferCap(text);
    assert.equal(parsed.ok, false, `${JSON.stringify(text)} is refused`);
    if (!parsed.ok) assert.match(parsed.reason, /MB\/s.*0 lifts the cap/);
  }
});

test('an answer replaces its node\'s pace until a newer poll, and only that node\'s', () => {
  const polled = [pace({ node: 'n1' }), pace({ node: 'n2' })];
  const answers = new Map([['n2', { pace: pace({ node: 'n2', transferMbPerSecond: 7 }), atMs: 2_000 }]]);
  assert.deepEqual(withPaceAnswers(polled, answers, 1_500).map((item) => `${item.node}:${item.transferMbPerSecond}`), ['n1:0', 'n2:7']);
  assert.deepEqual(withPaceAnswers(polled, answers, null).map((item) => item.transferMbPerSecond), [0, 7]);
  assert.deepEqual(withPaceAnswers(polled, answers, 2_500).map((item) => item.transferMbPerSecond), [0, 0]);
  const floorAnswers = new Map([['n1', { pace: pace({ node: 'n1', backgroundShareMin: 0.25 }), atMs: 2_000 }]]);
  assert.deepEqual(withPaceAnswers(polled, floorAnswers, 1_500).map((item) => item.backgroundShareMin), [0.25, 0.1]);
});

test('the answer and the failure read as one sentence each', () => {
  assert.equal(describeTransferCapAnswer(pace({ node: 'n2', transferMbPerSecond: 7 })), 'n2 now receives transfers at up to 7 MB/s.');
  assert.equal(describeTransferCapAnswer(pace({ node: 'n2' })), 'n2 now receives transfers with no cap.');
  const problem = { status: 404, problem: { title: 'No such member', detail: 'no member is called n9; GET /cluster/nodes lists them' } };
  assert.equal(describeTransferCapError(problem), 'Setting the cap failed: no member is called n9; GET /cluster/nodes lists them (HTTP 404)');
});

test('the cap\'s field keeps the ids it had before the floor had one', () => {
  assert.equal(transferCapField.idPart, '');
  assert.equal(transferCapField.parse('7').ok, true);
});
