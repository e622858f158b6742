// Checks the key-distribution rows, including a node that did not answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeInfo, NodeView } from '@ringkv/client';
import { buildKeyDistribution, distinctKeyEstimate } from './key-distribution.js';

function view(nodeId: string, keys: NodeInfo['keys'] | null): NodeView {
  const info = keys === null ? null : ({ nodeId, keys } as NodeInfo);
  return { nodeId, address: `${nodeId}:1`, state: keys === null ? 'down' : 'up', info, error: null };
}

test('buildKeyDistribution reads primary and replica counts, null for an unreachable node', () => {
  const rows = buildKeyDistribution([
    view('a', { total: 7, primary: 3, replica: 4 }),
    view('b', null),
  ]);
  assert.deepEqual(rows, [
    { nodeId: 'a', primary: 3, replica: 4, total: 7 },
    { nodeId: 'b', primary: null, replica: null, total: null },
  ]);
});

test('distinctKeyEstimate sums primaries of reachable nodes', () => {
  const rows = buildKeyDistribution([
    view('a', { total: 7, primary: 3, replica: 4 }),
    view('b', { total: 5, primary: 2, replica: 3 }),
    view('c', null),
  ]);
  assert.equal(distinctKeyEstimate(rows), 5);
  assert.equal(distinctKeyEstimate(buildKeyDistribution([view('c', null)])), null);
});
