// Checks the explorer's "only if unchanged" rules as a table: the condition sent for a loaded
// version or an absent key, the checkbox label, and the sentence for each kind of 412.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conditionFor, describeConditionRefused, isConditionRefused, unchangedLabel } from './write-condition.js';

test('a loaded version becomes If-Match; an absent key becomes create-if-absent', () => {
  assert.deepEqual(conditionFor({ key: 'k', version: '12-n1' }), { kind: 'if-match', version: '12-n1' });
  assert.deepEqual(conditionFor({ key: 'k', version: null }), { kind: 'if-absent' });
  assert.equal(unchangedLabel({ key: 'k', version: '12-n1' }), 'Only if unchanged since loaded (version 12-n1)');
  assert.equal(unchangedLabel({ key: 'k', version: null }), 'Only if still absent (as when loaded)');
});

test('only a 412 with a problem counts as a refused condition', () => {
  assert.equal(isConditionRefused({ status: 412, problem: { currentVersion: null } }), true);
  assert.equal(isConditionRefused({ status: 409, problem: {} }), false);
  assert.equal(isConditionRefused(new Error('412')), false);
  assert.equal(isConditionRefused(null), false);
});

test('the refusal says what was loaded and what the key holds now', () => {
  const loaded = { key: 'k', version: '12-n1' };
  assert.match(describeConditionRefused({ status: 412, problem: { currentVersion: '15-n2' } }, loaded), /was at version 12-n1 when you loaded it and holds version 15-n2 now\. Nothing was stored/);
  assert.match(describeConditionRefused({ status: 412, problem: { currentVersion: '15-n2', deleted: true } }, loaded), /has been deleted since \(tombstone 15-n2\)/);
  assert.match(describeConditionRefused({ status: 412, problem: { currentVersion: null } }, loaded), /is absent now/);
  assert.match(describeConditionRefused({ status: 412, problem: { currentVersion: '3-n1' } }, { key: 'k', version: null }), /was absent when you loaded it and holds version 3-n1 now/);
});
