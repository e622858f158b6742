// Checks that the protected-mode banner lists each member's warnings once, names who
// reports them, and ignores unreachable or older members, on hand-built cluster views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeInfo, NodeView } from '@ringkv/client';
import { collectSecurityWarnings, describeReporters } from './security-warnings.js';

const insecure = 'Started with --insecure: the API and peer links accept anyone who can reach 10.0.0.5:8000.';
const noTls = 'Peer links are not encrypted.';

function member(nodeId: string, warnings: string[] | null): NodeView {
  const info = warnings === null ? null : ({ nodeId, security: { insecure: false, tls: false, peerMutualTls: false, authRequired: false, warnings } } as unknown as NodeInfo);
  return { nodeId, address: `10.0.0.${nodeId.slice(1)}:8000`, state: 'up', info, error: null };
}

test('a warning shared by several members is listed once with each of them', () => {
  const warnings = collectSecurityWarnings({ nodes: [member('n1', [insecure, noTls]), member('n2', [insecure]), member('n3', [])] });
  assert.deepEqual(warnings, [
    { text: insecure, nodeIds: ['n1', 'n2'] },
    { text: noTls, nodeIds: ['n1'] },
  ]);
});

test('no warnings, unreachable members and members without a posture give no banner', () => {
  const older = { ...member('n3', []), info: { nodeId: 'n3' } as unknown as NodeInfo };
  assert.deepEqual(collectSecurityWarnings({ nodes: [member('n1', []), member('n2', null), older] }), []);
});

test('a member repeating a warning is named once', () => {
  assert.deepEqual(collectSecurityWarnings({ nodes: [member('n1', [insecure, insecure])] }), [{ text: insecure, nodeIds: ['n1'] }]);
});

test('reporters read as a list, or as every member', () => {
  assert.equal(describeReporters({ text: insecure, nodeIds: ['n1'] }, 3), 'n1');
  assert.equal(describeReporters({ text: insecure, nodeIds: ['n1', 'n2'] }, 3), 'n1 and n2');
  assert.equal(describeReporters({ text: insecure, nodeIds: ['n1', 'n2', 'n4'] }, 5), 'n1, n2 and n4');
  assert.equal(describeReporters({ text: insecure, nodeIds: ['n1', 'n2', 'n3'] }, 3), 'every member');
  assert.equal(describeReporters({ text: insecure, nodeIds: ['n1'] }, 1), 'n1');
});
