// Checks how consistency levels map to replica counts, and that bad levels are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsistencyError, requiredReplies } from './consistency.js';

describe('requiredReplies', () => {
  it('maps names and numbers', () => {
    assert.equal(requiredReplies(undefined, 3, 'w'), 2);
    assert.equal(requiredReplies('one', 3, 'w'), 1);
    assert.equal(requiredReplies('QUORUM', 5, 'r'), 3);
    assert.equal(requiredReplies('all', 3, 'r'), 3);
    assert.equal(requiredReplies('2', 3, 'r'), 2);
  });

  it('refuses unknown levels and counts above N', () => {
    assert.throws(() => requiredReplies('most', 3, 'w'), ConsistencyError);
    assert.throws(() => requiredReplies('4', 3, 'w'), /from 1 to 3/);
    assert.throws(() => requiredReplies('0', 3, 'r'), ConsistencyError);
    assert.throws(() => requiredReplies('-1', 3, 'r'), ConsistencyError);
    assert.throws(() => requiredReplies('1.5', 3, 'r'), ConsistencyError);
  });
});
