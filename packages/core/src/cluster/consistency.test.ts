// Checks how consistency levels map to replica counts, and that bad levels are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsistencyError, replicaCountOf, requiredReplies, resolveReplicaCount } from './consistency.js';

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

describe('replicaCountOf and resolveReplicaCount', () => {
  it('keeps quorum and all as levels, resolved against the replicas a key actually has', () => {
    assert.equal(replicaCountOf(undefined, 3, 'w'), 'quorum');
    assert.equal(replicaCountOf('ALL', 3, 'r'), 'all');
    assert.equal(replicaCountOf('one', 3, 'r'), 1);
    assert.equal(replicaCountOf('2', 3, 'w'), 2);
    assert.throws(() => replicaCountOf('4', 3, 'w'), /from 1 to 3/);
    // N=3 on a ring of one, two and three members (a cluster smaller than N holds fewer copies).
    assert.deepEqual([1, 2, 3].map((held) => resolveReplicaCount('quorum', held)), [1, 2, 2]);
    assert.deepEqual([1, 2, 3].map((held) => resolveReplicaCount('all', held)), [1, 2, 3]);
    assert.equal(resolveReplicaCount(2, 1), 2, 'an explicit count stays what was asked: the ring may be too small for it');
  });
});
