// Checks GET /admin/backup-cut and POST /admin/restore on a real 3-node cluster in one
// process, through inject(): the cut is above every acknowledged version, restored records
// keep their versions (a GET answers them), a newer stored version stays, a second restore
// stores nothing, malformed batches are refused whole, and keys whose replicas are down
// answer 503 naming them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { ProblemSchema } from '@ringkv/client/schemas';
import { restoreRecordsPerBatchMax } from '@ringkv/core';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;
let n1: RunningNode;

before(async () => {
  cluster = await startTestCluster('restore-routes');
  n1 = cluster.nodes[0] as RunningNode;
});

after(() => cluster.close());

const oldHlc = 1_700_000_000_000 * 1024;

function restore(records: unknown, via: RunningNode = n1) {
  return via.app.inject({ method: 'POST', url: '/admin/restore', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ records }) });
}

function get(key: string) {
  return n1.app.inject({ method: 'GET', url: `/store/${encodeURIComponent(key)}?r=all` });
}

function assertProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, type: string): Record<string, unknown> {
  assert.equal(response.statusCode, status);
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
  const problem = response.json() as Record<string, unknown>;
  assert.ok(Value.Check(ProblemSchema, problem));
  assert.ok(String(problem.type).endsWith(type), `type ${String(problem.type)}`);
  return problem;
}

describe('restore routes', () => {
  it('gives a cut above every acknowledged version', async () => {
    const written = await n1.app.inject({ method: 'PUT', url: '/store/before-cut', headers: { 'content-type': 'application/json' }, payload: '{"value":1}' });
    const version = (written.json() as { version: string }).version;
    const cut = (await cluster.nodes[2]!.app.inject({ method: 'GET', url: '/admin/backup-cut' })).json() as { cutHlc: number; cutAt: string; clusterName: string; nodeId: string };
    assert.ok(cut.cutHlc > Number(version.split('-')[0]), `cut ${cut.cutHlc} is not above ${version}`);
    assert.equal(cut.nodeId, 'n3');
    assert.equal(typeof cut.clusterName, 'string');
    assert.ok(Math.abs(Date.parse(cut.cutAt) - Date.now()) < 60_000);
  });

  it('restores records with their versions, keeps newer ones, and stores nothing the second time', async () => {
    const newer = await n1.app.inject({ method: 'PUT', url: '/store/r-newer', headers: { 'content-type': 'application/json' }, payload: '{"value":"live"}' });
    const records = [
      { key: 'r-value', hlc: oldHlc + 1, nodeId: 'n9', tombstone: false, value: { a: [1, 2] } },
      { key: 'r-deleted', hlc: oldHlc + 2, nodeId: 'n9', tombstone: true },
      { key: 'r-newer', hlc: oldHlc + 3, nodeId: 'n9', tombstone: false, value: 'old' },
      { key: 'r-proto', hlc: oldHlc + 4, nodeId: 'n9', tombstone: false, value: JSON.parse('{"__proto__":{"x":1}}') as unknown },
      { key: 'r-expired', hlc: oldHlc + 5, nodeId: 'n9', tombstone: false, value: 1, expiresAt: '2023-11-14T23:13:20.000Z' },
    ];
    const first = await restore(records);
    assert.equal(first.statusCode, 200, first.body);
    const answer = first.json() as { results: Array<{ key: string; outcome: string; confirmed: number; required: number }>; applied: number; keptNewer: number; stored: number };
    assert.deepEqual(
      answer.results.map((result) => [result.key, result.outcome, result.confirmed, result.required]),
      [
        ['r-value', 'applied', 3, 2],
        ['r-deleted', 'applied', 3, 2],
        ['r-newer', 'kept-newer', 3, 2],
        ['r-proto', 'applied', 3, 2],
        ['r-expired', 'applied', 3, 2],
      ],
    );
    assert.deepEqual([answer.applied, answer.keptNewer, answer.stored], [4, 1, 12]);
    const value = await get('r-value');
    assert.equal(value.statusCode, 200);
    assert.deepEqual(value.json(), { key: 'r-value', value: { a: [1, 2] }, version: `${oldHlc + 1}-n9` });
    assert.equal((await get('r-deleted')).statusCode, 404);
    assert.equal((await get('r-expired')).statusCode, 404, 'an expired value reads as absent');
    assert.equal((await get('r-newer')).json<{ version: string }>().version, newer.json<{ version: string }>().version);
    assert.equal((await get('r-proto')).body, `{"key":"r-proto","value":{"__proto__":{"x":1}},"version":"${oldHlc + 4}-n9"}`);
    const replicas = await n1.app.inject({ method: 'GET', url: '/store/r-expired/replicas' });
    if (replicas.statusCode === 200) {
      for (const copy of (replicas.json() as { replicas: Array<{ expiresAt?: string }> }).replicas) assert.equal(copy.expiresAt, '2023-11-14T23:13:20.000Z');
    }
    const second = await restore(records, cluster.nodes[1]);
    assert.equal(second.statusCode, 200, second.body);
    assert.equal((second.json() as { stored: number }).stored, 0, 'restoring twice changes nothing');
  });

  it('refuses a malformed batch whole, naming the record', async () => {
    const good = { key: 'never-1', hlc: oldHlc, nodeId: 'n9', tombstone: false, value: 1 };
    const tombstoneWithValue = assertProblem(await restore([good, { key: 'never-2', hlc: oldHlc, nodeId: 'n9', tombstone: true, value: 1 }]), 400, 'invalid-restore-record');
    assert.equal(tombstoneWithValue.recordIndex, 1);
    assert.match(String(tombstoneWithValue.detail), /tombstone has no value/);
    const twice = assertProblem(await restore([good, good]), 400, 'duplicate-restore-key');
    assert.equal(twice.recordIndex, 1);
    const badField = assertProblem(await restore([{ ...good, version: '1-n9' }]), 400, 'invalid-restore-record');
    assert.equal(badField.recordIndex, 0);
    assertProblem(await restore([{ ...good, hlc: -4 }]), 400, 'invalid-restore-record');
    const many = Array.from({ length: restoreRecordsPerBatchMax + 1 }, (_, i) => ({ ...good, key: `many-${i}` }));
    assertProblem(await restore(many), 413, 'too-many-records');
    assert.equal((await get('never-1')).statusCode, 404, 'nothing of a refused batch was written');
  });

  it('answers 503 naming the keys whose replicas did not confirm, once two of three nodes are gone', async () => {
    await Promise.all([cluster.nodes[1]!.close(), cluster.nodes[2]!.close()]);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && ['n2', 'n3'].some((nodeId) => n1.node.membership.stateOf(nodeId) === 'up')) await new Promise((resolve) => setTimeout(resolve, 100));
    const response = await restore([{ key: 'lonely', hlc: oldHlc, nodeId: 'n9', tombstone: false, value: 1 }]);
    const problem = assertProblem(response, 503, 'restore-incomplete');
    assert.deepEqual(problem.failedKeys, ['lonely']);
    assert.deepEqual(problem.results, [{ key: 'lonely', outcome: 'failed', confirmed: 1, required: 2 }]);
    assert.match(String(problem.detail), /got 1 of 2: .*n2/);
    assert.equal(response.headers['retry-after'], '1');
  });
});
