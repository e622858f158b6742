// Checks how a node's background floor reads, which typed percents are sent as a share and
// which are refused before anything is sent, and how a Set of the floor reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pace } from '@ringkv/client';
import {
  backgroundFloorField,
  describeBackgroundFloor,
  describeBackgroundFloorAnswer,
  describeBackgroundFloorError,
  parseBackgroundFloor,
} from './background-floor.js';

function pace(overrides: Partial<Pace>): Pace {
  return { node: 'n1', transferMbPerSecond: 0, transferredBytes: 0, transferWaitedMs: 0, backgroundShare: 1, backgroundShareMin: 0.1, ...overrides };
}

test('describeBackgroundFloor shows whole percents', () => {
  assert.equal(describeBackgroundFloor(0.1), '10%');
  assert.equal(describeBackgroundFloor(0.01), '1%');
  assert.equal(describeBackgroundFloor(1), '100%');
  assert.equal(describeBackgroundFloor(Number.NaN), '–');
});

test('parseBackgroundFloor sends whole percents 1 to 100 as a share of 0.01 to 1', () => {
  const cases: Array<[string, number]> = [
    ['25', 0.25],
    [' 1 ', 0.01],
    ['100', 1],
    ['10', 0.1],
    ['29', 0.29],
  ];
  for (const [text, share] of cases) {
    assert.deepEqual(parseBackgroundFloor(text), { ok: true, update: { backgroundShareMin: share } }, JSON.stringify(text));
  }
});

test('parseBackgroundFloor refuses an empty field, non-numbers, fractions and percents out of range, saying the range', () => {
  const empty = parseBackgroundFloor('  ');
  assert.deepEqual(empty, { ok: false, reason: 'Enter a floor in percent, 1 to 100.' });
  for (const text of ['0', '-5', '150', '100.5', '12.5', 'half', 'Infinity']) {
    assert.deepEqual(parseBackgroundFloor(text), { ok: false, reason: 'The floor is a whole percent from 1 to 100.' }, JSON.stringify(text));
  }
});

test('the answer and the failure read as one sentence each', () => {
  assert.equal(
    describeBackgroundFloorAnswer(pace({ node: 'n2', backgroundShareMin: 0.25 })),
    "n2's background jobs now keep at least 25% of its time under client load.",
  );
  assert.equal(describeBackgroundFloorAnswer(pace({ node: 'n2', backgroundShareMin: 1 })), "n2's background jobs now never give way to client load.");
  const problem = { status: 400, problem: { title: 'Bad request', detail: 'body/backgroundShareMin must be <= 1' } };
  assert.equal(describeBackgroundFloorError(problem), 'Setting the background floor failed: body/backgroundShareMin must be <= 1 (HTTP 400)');
});

test('the floor\'s field has ids of its own beside the cap\'s and bounds matching its parse', () => {
  assert.equal(backgroundFloorField.idPart, '-floor');
  assert.equal(backgroundFloorField.min, 1);
  assert.equal(backgroundFloorField.max, 100);
  assert.equal(backgroundFloorField.parse('100').ok, true);
  assert.equal(backgroundFloorField.parse('101').ok, false);
});
