// Checks that the client and the server keep one wire contract: tsc proves each RingkvClient
// method returns exactly the static type of its schema in @ringkv/client/schemas, and a real
// node (memory storage, port 0) answers every such call, over HTTP through the real client,
// with JSON that its schema accepts with no property left undeclared.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { RingkvClient, RingkvError, type WriteReceipt } from '@ringkv/client';
import {
  AuthIdentitySchema,
  ClusterNodesSchema,
  ClusterSchema,
  DeleteResultSchema,
  HealthSchema,
  JobControlSchema,
  JobListSchema,
  KeysPageSchema,
  NodeInfoSchema,
  OwnersSchema,
  ProblemSchema,
  RepairStatusSchema,
  ReplicasSchema,
  RingChangeSchema,
  RingLayoutSchema,
  StatusSchema,
  StoredValueSchema,
} from '@ringkv/client/schemas';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';

/** The schema each client method's answer is declared by. */
const answerSchemas = {
  me: AuthIdentitySchema,
  put: StoredValueSchema,
  get: StoredValueSchema,
  delete: DeleteResultSchema,
  replicas: ReplicasSchema,
  status: StatusSchema,
  health: HealthSchema,
  keys: KeysPageSchema,
  nodeInfo: NodeInfoSchema,
  cluster: ClusterSchema,
  clusterNodes: ClusterNodesSchema,
  ring: RingLayoutSchema,
  owners: OwnersSchema,
  repair: RepairStatusSchema,
  leave: RingChangeSchema,
  remove: RingChangeSchema,
  jobs: JobListSchema,
  clusterJobs: JobListSchema,
  pauseJob: JobControlSchema,
  resumeJob: JobControlSchema,
} satisfies { [M in keyof RingkvClient]?: TSchema };

// ---------------------------------------------------------------------------------------
// Compile-time half: a method whose answer type stops being its schema's static type (a
// hand-written type, a changed schema) makes `tsc -b` fail on `contractTypesAgree` below.

/** True only when A and B are the same type (not merely assignable either way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** A method's answer body: writes wrap it in a receipt, a read of an absent key gives null. */
type AnswerBody<M extends keyof typeof answerSchemas> =
  Awaited<ReturnType<RingkvClient[M]>> extends infer R ? (R extends WriteReceipt<infer B> ? B : Exclude<R, null>) : never;

type ContractCheck = { [M in keyof typeof answerSchemas]: Same<AnswerBody<M>, Static<(typeof answerSchemas)[M]>> };

function contractTypesAgree<Check extends { [M in keyof typeof answerSchemas]: true }>(): Check | undefined {
  return undefined;
}
contractTypesAgree<ContractCheck>();

// ---------------------------------------------------------------------------------------
// Run-time half: the server's real answers against the same schemas.

/**
 * The schema as plain JSON with every object closed, so an answer property the client's
 * schema does not declare fails the check (problems stay open: extra members are allowed).
 */
function closed(schema: TSchema): unknown {
  const copy = JSON.parse(JSON.stringify(schema)) as unknown;
  const close = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.type === 'object' && record.additionalProperties === undefined) record.additionalProperties = false;
    for (const child of Object.values(record)) close(child);
  };
  close(copy);
  return copy;
}

function assertMatches(method: keyof typeof answerSchemas, answer: unknown): void {
  const schema = closed(answerSchemas[method]) as TSchema;
  const errors = [...Value.Errors(schema, answer)].map((error) => `${error.instancePath || '/'} ${error.message}`);
  assert.deepEqual(errors, [], `${method}() answered ${JSON.stringify(answer).slice(0, 400)}`);
}

function assertProblem(error: unknown, status: number): void {
  assert.ok(error instanceof RingkvError, `expected a problem answer, got ${String(error)}`);
  assert.equal(error.status, status, error.message);
  const errors = [...Value.Errors(ProblemSchema, error.problem)].map((problem) => `${problem.instancePath || '/'} ${problem.message}`);
  assert.deepEqual(errors, [], JSON.stringify(error.problem));
}

/** A single node is ready almost at once; the bound only keeps a broken start from hanging. */
const readyWaitMs = 10_000;
const readyPollMs = 20;

let running: RunningNode;
let workDir: string;
let client: RingkvClient;

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'ringkv-wire-contract-'));
  running = await startNode(
    { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir: join(workDir, 'data') },
    pino({ level: 'silent' }),
  );
  client = new RingkvClient({ baseUrl: running.url, timeoutMs: 5000 });
  const deadlineMs = Date.now() + readyWaitMs;
  while (!(await client.status()).ready) {
    assert.ok(Date.now() < deadlineMs, `node not ready within ${readyWaitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, readyPollMs));
  }
});

after(async () => {
  await running?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the client schemas describe what a real node answers', () => {
  it('store answers: put, get, replicas, keys, delete', async () => {
    const written = await client.put('contract/a', { nested: [1, 'two', null], flag: true }, 'all');
    assert.equal(written.acks, 1);
    assertMatches('put', written.body);
    assertMatches('get', await client.get('contract/a', 'one'));
    assertMatches('replicas', await client.replicas('contract/a'));
    assertMatches('keys', await client.keys({ prefix: 'contract/', limit: 10 }));
    assertMatches('delete', (await client.delete('contract/a')).body);
    assertMatches('replicas', await client.replicas('contract/a'));
    assert.equal(await client.get('contract/a'), null);
  });

  it('node answers: me, status, health, node-info, repair, jobs', async () => {
    assertMatches('me', await client.me());
    assertMatches('status', await client.status());
    assertMatches('health', await client.health());
    assertMatches('nodeInfo', await client.nodeInfo());
    assertMatches('repair', await client.repair());
    assertMatches('jobs', await client.jobs());
  });

  it('cluster answers: cluster, nodes, ring, owners, cluster jobs', async () => {
    assertMatches('cluster', await client.cluster());
    assertMatches('clusterNodes', await client.clusterNodes());
    assertMatches('ring', await client.ring());
    assertMatches('owners', await client.owners('contract/a'));
    assertMatches('clusterJobs', await client.clusterJobs());
  });

  it('refusals are problems the client schema accepts', async () => {
    await assert.rejects(client.remove('no-such-node'), (error) => (assertProblem(error, 404), true));
    await assert.rejects(client.pauseJob('no-such-job'), (error) => (assertProblem(error, 404), true));
    await assert.rejects(client.get('contract/a', 0), (error) => (assertProblem(error, 400), true));
  });

  it('the closed check catches an undeclared property and a wrong type', () => {
    const health = { status: 'ok', nodeId: 'n1', storage: 'ok' };
    assert.doesNotThrow(() => assertMatches('health', health));
    assert.throws(() => assertMatches('health', { ...health, extra: 1 }), /must not have additional properties/);
    assert.throws(() => assertMatches('health', { ...health, storage: 'gone' }), /storage/);
  });
});
