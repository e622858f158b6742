// Checks POST /batch on a real 3-node cluster in this process (peers over TCP, N=3) through
// inject() and the real client: each result equals what the single request answers, ops on
// one key take effect in order, conditions go through Paxos, malformed ops and oversized
// batches are refused whole with nothing stored; and on a node with tokens, that each op is
// authorised as its single request would be.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { deleteOp, getOp, putOp, RingkvClient, runBatches, type BatchOp, type BatchResult } from '@ringkv/client';
import { BatchAnswerSchema } from '@ringkv/client/batch-schemas';
import { batchOpsMax } from '@ringkv/core';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { createToken } from '../security/auth-tokens.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

const maxValueBytes = 64 * 1024;
let cluster: TestCluster;
let nodes: RunningNode[] = [];

before(async () => {
  cluster = await startTestCluster('batch', () => ({ maxValueBytes }));
  nodes = cluster.nodes;
});

after(() => cluster.close());

type Inject = Awaited<ReturnType<RunningNode['app']['inject']>>;

function node(index: number): RunningNode {
  return nodes[index % nodes.length] as RunningNode;
}

function batch(ops: unknown, via = 0): Promise<Inject> {
  return node(via).app.inject({ method: 'POST', url: '/batch', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ ops }) });
}

async function results(ops: BatchOp[], via = 0): Promise<BatchResult[]> {
  const response = await batch(ops, via);
  assert.equal(response.statusCode, 200, response.body);
  const answer = response.json() as unknown;
  assert.ok(Value.Check(BatchAnswerSchema, answer), `the answer does not match its schema: ${response.body.slice(0, 300)}`);
  const list = (answer as { results: BatchResult[] }).results;
  assert.equal(list.length, ops.length, 'one result per op');
  return list;
}

function single(method: 'GET' | 'PUT' | 'DELETE', key: string, options: { value?: unknown; query?: string; headers?: Record<string, string> } = {}, via = 0): Promise<Inject> {
  const body = options.value === undefined ? {} : { payload: JSON.stringify({ value: options.value }), headers: { 'content-type': 'application/json', ...options.headers } };
  return node(via).app.inject({ method, url: `/store/${encodeURIComponent(key)}${options.query ?? ''}`, headers: options.headers, ...body });
}

async function assertAbsent(keys: string[]): Promise<void> {
  for (const key of keys) assert.equal((await single('GET', key, { query: '?r=all' })).statusCode, 404, `${key} was stored`);
}

/** A batch refused whole: problem+json with the status, naming the op when one is at fault. */
function assertRefused(response: Inject, status: number, detail: RegExp, opIndex?: number): void {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = response.json() as { type: string; detail: string; opIndex?: number };
  assert.ok(problem.type.startsWith('urn:ringkv:problem:'), problem.type);
  assert.match(problem.detail, detail);
  assert.match(problem.detail, /Nothing in the batch was done/);
  if (opIndex !== undefined) assert.equal(problem.opIndex, opIndex, response.body);
}

describe('POST /batch', () => {
  it('answers each op with the status and body its single request has', async () => {
    const list = await results([putOp('mix/a', { n: 1 }), getOp('mix/a'), putOp('mix/b', [1, 2], { w: 'all' }), deleteOp('mix/b'), getOp('mix/b'), getOp('mix/never'), getOp('mix/a', 'one')]);
    assert.deepEqual(
      list.map((result) => result.status),
      [200, 200, 200, 200, 404, 404, 200],
    );
    const put = list[0]?.body as { key: string; value: unknown; version: string };
    assert.deepEqual(put.value, { n: 1 });
    const singleGet = await single('GET', 'mix/a', {}, 1);
    assert.equal(singleGet.headers.etag, `"${put.version}"`, 'the batch wrote the version a single GET reads');
    assert.deepEqual(list[1]?.body, singleGet.json());
    assert.deepEqual(list[6]?.body, singleGet.json());
    assert.equal((list[3]?.body as { deleted: boolean }).deleted, true);
    // The 404s are the single GET's problems, word for word.
    assert.deepEqual(list[4]?.body, (await single('GET', 'mix/b')).json());
    assert.deepEqual(list[5]?.body, (await single('GET', 'mix/never')).json());
  });

  it('applies the ops on one key in the order given, keys interleaved and run concurrently', async () => {
    const keys = Array.from({ length: 40 }, (_, index) => `order/${index}`);
    const ops: BatchOp[] = [];
    // Each round deletes the key, creates it only if absent (a Paxos round: several trips), then reads it: run out of
    // order, the create would meet the old value (412) or the read would miss the create.
    for (let round = 0; round < 4; round++) for (const key of keys) ops.push(deleteOp(key), putOp(key, round, { ifAbsent: true }), getOp(key));
    const list = await results(ops, 1);
    const versions = new Map<string, string[]>();
    ops.forEach((op, index) => {
      const result = list[index] as BatchResult;
      assert.equal(result.status, 200, `op ${index} (${op.op} ${op.key}): ${JSON.stringify(result)}`);
      const body = result.body as { value: unknown; version: string };
      if (op.op === 'get') assert.deepEqual(body.value, (ops[index - 1] as { value: unknown }).value, `${op.key}: a get sees the put just before it`);
      versions.set(op.key, [...(versions.get(op.key) ?? []), body.version]);
    });
    for (const key of keys) {
      const hlcs = (versions.get(key) ?? []).map((version) => Number(version.split('-')[0]));
      assert.deepEqual(hlcs, [...hlcs].sort((a, b) => a - b), `${key}: versions grow in the order of the ops`);
      assert.deepEqual((await single('GET', key, { query: '?r=all' })).json().value, 3);
    }
  });

  it('runs conditions through Paxos with the 412 the single request gives', async () => {
    const [created, again] = await results([putOp('cas/k', 1, { ifAbsent: true }), putOp('cas/k', 2, { ifAbsent: true })]);
    assert.equal(created?.status, 200);
    const version = (created?.body as { version: string }).version;
    assert.equal(again?.status, 412);
    assert.equal((again?.body as unknown as { currentVersion: string }).currentVersion, version);
    const singleRefusal = await single('PUT', 'cas/k', { value: 3, headers: { 'if-none-match': '*' } });
    assert.equal(singleRefusal.statusCode, 412);
    assert.equal((singleRefusal.json() as { type: string }).type, (again?.body as { type: string }).type);

    const [updated, stale, quoted, weak] = await results([
      putOp('cas/k', 10, { ifMatch: version }),
      putOp('cas/k', 11, { ifMatch: version }),
      putOp('cas/k', 12, { ifMatch: `"${version}"` }),
      putOp('cas/k', 13, { ifMatch: `W/"${version}"` }),
    ]);
    assert.equal(updated?.status, 200, JSON.stringify(updated));
    const newVersion = (updated?.body as { version: string }).version;
    for (const refused of [stale, quoted, weak]) {
      assert.equal(refused?.status, 412, JSON.stringify(refused));
      assert.equal((refused?.body as unknown as { currentVersion: string }).currentVersion, newVersion);
    }
    const [removed, serial, recreated] = await results([deleteOp('cas/k', { ifMatch: newVersion }), getOp('cas/k', 'serial'), putOp('cas/k', 'again', { ifAbsent: true })], 2);
    assert.deepEqual([removed?.status, serial?.status, recreated?.status], [200, 404, 200]);
    assert.deepEqual((await single('GET', 'cas/k', { query: '?r=serial' })).json().value, 'again');
  });

  it('keeps values holding "__proto__" keys exactly', async () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "x": [1]}') as unknown;
    const [, got] = await results([putOp('proto/k', value), getOp('proto/k', 'all')]);
    assert.equal(JSON.stringify((got?.body as { value: unknown }).value), JSON.stringify(value));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses a batch with a malformed op whole, naming the op, with nothing stored', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ op: 'patch', key: 'k' }, /op "patch" is not allowed; op is "put", "get" or "delete"/],
      [{ op: 'put', value: 1 }, /required property 'key'/],
      [{ op: 'put', key: 'k' }, /a put needs a value/],
      [{ op: 'get', key: 'k', value: 1 }, /a get takes no value/],
      [{ op: 'get', key: 'k', valu: 1 }, /unknown field "valu"/],
      [{ op: 'put', key: 'k', value: 1, ttl: -5 }, /ttl -5 is not a whole number of seconds/],
      [{ op: 'put', key: 'k', value: 1, w: 'most' }, /unknown consistency level w="most"/],
      [{ op: 'get', key: 'k', r: '9' }, /r=9 is out of range.*serial/],
      [{ op: 'put', key: 'k', value: 1, r: 'one' }, /takes w, not r/],
      [{ op: 'put', key: 'k', value: 1, ifMatch: '*' }, /ifMatch: \* .*not supported/],
      [{ op: 'put', key: 'k', value: 1, ifMatch: '"1-n1", "2-n1"' }, /several/],
      [{ op: 'put', key: 'k', value: 1, ifMatch: 'nonsense' }, /not a ringkv version/],
      [{ op: 'put', key: 'k', value: 1, ifMatch: '1-n1', ifNoneMatch: '*' }, /not both/],
      [{ op: 'put', key: 'k', value: 1, ifMatch: '1-n1', w: 'all' }, /majority of the key's replicas.*drop w from the op/],
      [{ op: 'put', key: 'k', value: 1, ifNoneMatch: 'x' }, /ifNoneMatch is "\*"/],
      [{ op: 'delete', key: 'k', ifNoneMatch: '*' }, /DELETE takes ifMatch only/],
      [{ op: 'get', key: '' }, /the key is empty/],
      [{ op: 'get', key: 'é'.repeat(513) }, /1026 UTF-8 bytes.*1024/],
    ];
    for (const [bad, detail] of cases) {
      const response = await batch([putOp('bad/first', 1), putOp('bad/second', 2), bad]);
      assertRefused(response, 400, detail, 2);
    }
    await assertAbsent(['bad/first', 'bad/second']);
  });

  it('refuses bodies that are not a batch with 400 saying what to send', async () => {
    const send = (payload: string) => node(0).app.inject({ method: 'POST', url: '/batch', headers: { 'content-type': 'application/json' }, payload });
    for (const payload of ['{"ops": ', '[]', '{"ops": {}}', '{"operations": []}', '{}']) {
      const response = await send(payload);
      assert.equal(response.statusCode, 400, `${payload}: ${response.body}`);
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.match((response.json() as { detail: string }).detail, /"ops"/, payload);
    }
    assert.deepEqual((await results([])), []);
  });

  it(`refuses more than ${batchOpsMax} ops, or more bytes than --max-value-bytes, with 413 and nothing stored`, async () => {
    const many = Array.from({ length: batchOpsMax + 1 }, (_, index) => putOp(`many/${index}`, index));
    assertRefused(await batch(many), 413, new RegExp(`${batchOpsMax + 1} ops.*at most ${batchOpsMax}`));
    const big = [putOp('big/a', 'x'.repeat(maxValueBytes / 2)), putOp('big/b', 'y'.repeat(maxValueBytes / 2))];
    const response = await batch(big);
    assertRefused(response, 413, /--max-value-bytes/);
    assert.equal((response.json() as { limitBytes: number }).limitBytes, maxValueBytes);
    await assertAbsent(['many/0', `many/${batchOpsMax}`, 'big/a', 'big/b']);
    // Exactly at the bound is fine.
    const full = await results(Array.from({ length: batchOpsMax }, (_, index) => getOp(`many/${index}`)));
    assert.ok(full.every((result) => result.status === 404));
  });

  it('is reachable through the client, which splits long lists into batches', async () => {
    const client = new RingkvClient({ baseUrl: node(1).url });
    const answer = await client.batch([putOp('client/a', 'A'), getOp('client/a')]);
    assert.deepEqual(answer.results.map((result) => result.status), [200, 200]);
    const ops = Array.from({ length: 250 }, (_, index) => putOp(`client/${index % 7}`, index));
    const list = await runBatches(client, [...ops, getOp('client/6')], 100);
    assert.equal(list.length, 251);
    // The last put on client/6 is op 244 (244 % 7 === 6), in the third batch of 100.
    assert.deepEqual((list[250]?.body as { value: unknown }).value, 244);
  });

  it('is documented in the OpenAPI document with its limits and answers', () => {
    const document = node(0).app.swagger() as unknown as { paths: Record<string, Record<string, { operationId: string; description: string; responses: Record<string, unknown> }>> };
    const operation = document.paths['/batch']?.post;
    assert.ok(operation !== undefined, 'POST /batch is not in the document');
    assert.equal(operation.operationId, 'runBatch');
    assert.match(operation.description, /NOT atomic/);
    for (const status of ['200', '400', '413', '503']) assert.ok(operation.responses[status] !== undefined, `no ${status} answer documented`);
  });
});

describe('POST /batch with tokens', () => {
  let secured: RunningNode;
  let securedDir: string;
  const tokens: Record<'read' | 'prefixed', string> = { read: '', prefixed: '' };

  before(async () => {
    securedDir = mkdtempSync(join(tmpdir(), 'ringkv-batch-auth-'));
    const authFile = join(securedDir, 'auth.json');
    tokens.read = createToken(authFile, { role: 'read', name: 'reader' }, Date.now()).token;
    tokens.prefixed = createToken(authFile, { role: 'write', name: 'app', prefix: 'app/' }, Date.now()).token;
    secured = await startNode(
      { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir: join(securedDir, 'n1'), authFile, clusterSecret: 'batch-auth-secret-0123456789' },
      pino({ level: 'silent' }),
    );
  });

  after(async () => {
    await secured.close();
    rmSync(securedDir, { recursive: true, force: true });
  });

  function securedBatch(ops: BatchOp[], token?: string): Promise<Inject> {
    return secured.app.inject({
      method: 'POST',
      url: '/batch',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      payload: JSON.stringify({ ops }),
    });
  }

  it('authorises each op as its single request: role, then key prefix; refused ops store nothing', async () => {
    const asWriter = await securedBatch([putOp('app/a', 1), putOp('other', 1), getOp('other'), deleteOp('app/a'), getOp('app/a')], tokens.prefixed);
    assert.equal(asWriter.statusCode, 200, asWriter.body);
    const writerResults = (asWriter.json() as { results: BatchResult[] }).results;
    assert.deepEqual(writerResults.map((result) => result.status), [200, 403, 403, 200, 404]);
    assert.match((writerResults[1]?.body as { detail: string }).detail, /only keys starting with "app\/"/);

    const asReader = await securedBatch([getOp('app/a'), putOp('app/b', 1)], tokens.read);
    assert.equal(asReader.statusCode, 200, asReader.body);
    const readerResults = (asReader.json() as { results: BatchResult[] }).results;
    assert.deepEqual(readerResults.map((result) => result.status), [404, 403]);
    assert.match((readerResults[1]?.body as { type: string; detail: string }).detail, /needs a token with role write; token "reader" has role read/);

    const check = await securedBatch([getOp('other'), getOp('app/b')], tokens.read);
    assert.deepEqual((check.json() as { results: BatchResult[] }).results.map((result) => result.status), [404, 404], 'refused ops stored nothing');
    const anonymous = await securedBatch([getOp('app/a')]);
    assert.equal(anonymous.statusCode, 401);
  });
});
