// Checks where a member's ring status is read from and when the ring counts as rebalancing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterNodes, MemberInfo, NodeInfo, NodeView, RingStatus } from '@ringkv/client';
import { isRebalancing, ringStatusOf } from './ring-status.js';

function member(nodeId: string, ringStatus: RingStatus): MemberInfo {
  return { nodeId, address: `${nodeId}:1`, state: 'up', ringStatus, ringShare: 0.5 };
}

function node(nodeId: string, info: Partial<NodeInfo> | null): NodeView {
  return { nodeId, address: `${nodeId}:1`, state: info === null ? 'down' : 'up', info: info as NodeInfo | null, error: null };
}

test('ringStatusOf prefers the serving node\'s member list', () => {
  const view: Pick<ClusterNodes, 'gatheredBy' | 'nodes'> = {
    gatheredBy: 'a',
    nodes: [
      node('a', { ringStatus: 'normal', members: [member('a', 'normal'), member('b', 'leaving')] }),
      node('b', { ringStatus: 'normal', members: [] }),
      node('c', { ringStatus: 'joining', members: [] }),
      node('d', null),
    ],
  };
  assert.equal(ringStatusOf(view, 'a'), 'normal');
  assert.equal(ringStatusOf(view, 'b'), 'leaving');
  // Not (yet) in the serving node's list: the member's own report.
  assert.equal(ringStatusOf(view, 'c'), 'joining');
  assert.equal(ringStatusOf(view, 'd'), null);
});

test('isRebalancing while a job is unfinished or a member joins or leaves', () => {
  assert.equal(isRebalancing([], ['normal', 'normal', null]), false);
  assert.equal(isRebalancing([{ state: 'done' }], ['normal', 'left']), false);
  assert.equal(isRebalancing([{ state: 'paused' }], ['normal']), true);
  assert.equal(isRebalancing([], ['normal', 'joining']), true);
  assert.equal(isRebalancing([], ['leaving']), true);
});
