// Checks the sentence shown after an operator forces a repair round, on plain statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRepairStatus } from './repair-summary.js';

test('a repair answer names the node, the ranges verified and the totals', () => {
  assert.equal(
    describeRepairStatus({ nodeId: 'n1', horizonMs: 1, rangesVerified: 12, rangesOwned: 12, keysRepaired: 1234, rounds: 7 }),
    'n1 ran a repair round: 12 of 12 owned ranges verified; 1,234 keys repaired in 7 rounds since it started.',
  );
  assert.equal(
    describeRepairStatus({ nodeId: 'n2', horizonMs: null, rangesVerified: 3, rangesOwned: 5, keysRepaired: 1, rounds: 1 }),
    'n2 ran a repair round: 3 of 5 owned ranges verified; 1 key repaired in 1 round since it started.',
  );
});
