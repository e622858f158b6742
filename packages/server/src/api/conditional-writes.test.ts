// Checks conditional writes (If-Match, If-None-Match: *) and serial reads end to end on a real
// 3-node cluster in this process (peers over TCP, N=3): the HTTP contract through inject() on
// different nodes (200, 412 with the current version, every 400 with nothing stored), the
// OpenAPI document, both typed clients over real HTTP, and concurrent If-Match increments of
// one counter through all three nodes, which must lose no update.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { RingkvClient, RingkvClusterClient, RingkvError, RingkvPreconditionFailedError, RingkvUnavailableError } from '@ringkv/client';
import { DeleteResultSchema, PreconditionFailedSchema, StoredValueSchema } from '@ringkv/client/schemas';
import { nodeConfigDefaults } from '../config.js';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;
let nodes: RunningNode[] = [];
/** A port nothing listens on: connections to it are refused. */
let closedUrl: string;

before(async () => {
  cluster = await startTestCluster('conditional', () => ({ readRepairChance: nodeConfigDefaults.readRepairChance }), 1);
  nodes = cluster.nodes;
  closedUrl = `http://127.0.0.1:${cluster.sparePorts[0]}`;
});

after(() => cluster.close());

function node(index: number): RunningNode {
  return nodes[index % nodes.length] as RunningNode;
}

type Answer = Awaited<ReturnType<RunningNode['app']['inject']>>;

function put(via: number, key: string, value: unknown, headers: Record<string, string> = {}, query = ''): Promise<Answer> {
  return node(via).app.inject({
    method: 'PUT',
    url: `/store/${encodeURIComponent(key)}${query}`,
    payload: JSON.stringify({ value }),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function del(via: number, key: string, headers: Record<string, string> = {}, query = ''): Promise<Answer> {
  return node(via).app.inject({ method: 'DELETE', url: `/store/${encodeURIComponent(key)}${query}`, headers });
}

function get(via: number, key: string, r = 'all'): Promise<Answer> {
  return node(via).app.inject({ method: 'GET', url: `/store/${encodeURIComponent(key)}?r=${r}` });
}

function versionOf(answer: Answer): string {
  assert.equal(answer.statusCode, 200, answer.body);
  const { version } = answer.json() as { version: string };
  assert.equal(answer.headers.etag, `"${version}"`, 'the ETag is the version, quoted');
  return version;
}

function assertMatches(schema: TSchema, body: unknown): void {
  const errors = [...Value.Errors(schema, body)].map((error) => `${error.instancePath || '/'} ${error.message}`);
  assert.deepEqual(errors, [], JSON.stringify(body));
}

/** A 412 problem+json that says what the key holds now. */
function assertPreconditionFailed(answer: Answer, currentVersion: string | null, deleted = false): void {
  assert.equal(answer.statusCode, 412, answer.body);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  const problem = answer.json() as { type: string; detail: string; currentVersion: string | null; deleted?: boolean };
  assertMatches(PreconditionFailedSchema, problem);
  assert.equal(problem.type, 'urn:ringkv:problem:precondition-failed');
  assert.equal(problem.currentVersion, currentVersion);
  assert.equal(problem.deleted, deleted ? true : undefined);
  assert.match(problem.detail, /nothing was written/);
}

/** A 400 problem+json whose detail matches `detail`. */
function assertBadInput(answer: Answer, detail: RegExp): void {
  assert.equal(answer.statusCode, 400, answer.body);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  const problem = answer.json() as { detail: string };
  assert.match(problem.detail, detail);
  assert.match(problem.detail, /nothing was written/);
}

describe('If-Match and If-None-Match through the HTTP API', () => {
  it('If-Match writes only over the version read, and 412 names the version the key holds', async () => {
    const first = versionOf(await put(0, 'im/a', 1));
    const second = await put(1, 'im/a', 2, { 'if-match': `"${first}"` });
    const secondVersion = versionOf(second);
    assert.deepEqual(second.json(), { key: 'im/a', value: 2, version: secondVersion });
    assert.equal(second.headers['x-ringkv-acks'], '2', 'a majority of the 3 replicas committed it');
    assertPreconditionFailed(await put(2, 'im/a', 3, { 'if-match': `"${first}"` }), secondVersion);
    const read = await get(0, 'im/a');
    assert.deepEqual(read.json(), { key: 'im/a', value: 2, version: secondVersion }, 'the refused write stored nothing');
  });

  it('If-Match on an absent key is 412 with currentVersion null', async () => {
    assertPreconditionFailed(await put(0, 'im/absent', 1, { 'if-match': '"1-n1"' }), null);
    assert.equal((await get(1, 'im/absent')).statusCode, 404);
  });

  it('a weak If-Match tag never matches (RFC 9110 strong comparison): 412', async () => {
    const version = versionOf(await put(0, 'im/weak', 'x'));
    const answer = await put(1, 'im/weak', 'y', { 'if-match': `W/"${version}"` });
    assertPreconditionFailed(answer, version);
    assert.match((answer.json() as { detail: string }).detail, /weak entity tag/);
  });

  it('If-None-Match: * creates once; the second create is 412 with the winner\'s version', async () => {
    const created = versionOf(await put(0, 'inm/a', 'first', { 'if-none-match': '*' }));
    assertPreconditionFailed(await put(1, 'inm/a', 'second', { 'if-none-match': '*' }), created);
    assert.equal((await get(2, 'inm/a')).json<{ value: unknown }>().value, 'first');
  });

  it('deletes only at the version read, and a deleted key can be created again with If-None-Match: *', async () => {
    const version = versionOf(await put(0, 'del/a', 1));
    assertPreconditionFailed(await del(1, 'del/a', { 'if-match': '"1-n9"' }), version);
    assert.equal((await get(2, 'del/a')).statusCode, 200, 'the refused delete left the key');
    const deleted = await del(1, 'del/a', { 'if-match': `"${version}"` });
    assert.equal(deleted.statusCode, 200, deleted.body);
    const tombstone = (deleted.json() as { version: string }).version;
    assertMatches(DeleteResultSchema, deleted.json());
    assert.equal((await get(0, 'del/a')).statusCode, 404);
    assertPreconditionFailed(await put(2, 'del/a', 2, { 'if-match': `"${version}"` }), tombstone, true);
    const recreated = versionOf(await put(2, 'del/a', 3, { 'if-none-match': '*' }));
    assert.deepEqual((await get(0, 'del/a')).json(), { key: 'del/a', value: 3, version: recreated });
  });

  it('r=serial reads the latest conditional write through any node, and 404 for an absent key', async () => {
    const created = versionOf(await put(0, 'serial/a', { n: 1 }, { 'if-none-match': '*' }));
    const updated = versionOf(await put(1, 'serial/a', { n: 2 }, { 'if-match': `"${created}"` }));
    for (const via of [0, 1, 2]) {
      const read = await get(via, 'serial/a', 'serial');
      assert.deepEqual(read.json(), { key: 'serial/a', value: { n: 2 }, version: updated }, `serial read through n${via + 1}`);
      assert.equal(read.headers.etag, `"${updated}"`);
    }
    assert.equal((await get(2, 'serial/none', 'SERIAL')).statusCode, 404);
  });

  it('a plain write over a conditionally written key is seen by If-Match as the current version', async () => {
    versionOf(await put(0, 'mix/a', 1, { 'if-none-match': '*' }));
    const plain = versionOf(await put(1, 'mix/a', 2, {}, '?w=all'));
    versionOf(await put(2, 'mix/a', 3, { 'if-match': `"${plain}"` }));
  });
});

describe('bad conditions: 400 problem+json, nothing stored', () => {
  const cases: Array<[string, Record<string, string>, RegExp, string?]> = [
    ['an unquoted version', { 'if-match': '1718000000000-n1' }, /quote it as the ETag header does: If-Match: "1718000000000-n1"/],
    ['a tag that is not a version', { 'if-match': '"abc"' }, /is not a ringkv version/],
    ['a version with a bad node id', { 'if-match': '"12-n 1"' }, /is not a ringkv version/],
    ['If-Match: *', { 'if-match': '*' }, /If-Match: \* \(any current version\) is not supported/],
    ['several tags', { 'if-match': '"1-n1", "2-n2"' }, /several entity tags/],
    ['an empty If-Match', { 'if-match': '' }, /If-Match is empty/],
    ['If-None-Match other than *', { 'if-none-match': '"1-n1"' }, /takes only \*/],
    ['both headers', { 'if-match': '"1-n1"', 'if-none-match': '*' }, /not both/],
    ['w= with a condition', { 'if-none-match': '*' }, /majority of the key's replicas/, '?w=all'],
  ];
  for (const [name, headers, detail, query] of cases) {
    it(`PUT with ${name}`, async () => {
      assertBadInput(await put(0, 'bad/absent', 1, headers, query), detail);
      assert.equal((await get(1, 'bad/absent')).statusCode, 404, 'nothing was stored');
    });
  }

  it('DELETE with If-None-Match, a malformed If-Match, or w= with a condition', async () => {
    const version = versionOf(await put(0, 'bad/kept', 'kept'));
    assertBadInput(await del(1, 'bad/kept', { 'if-none-match': '*' }), /DELETE takes If-Match only/);
    assertBadInput(await del(1, 'bad/kept', { 'if-match': version }), /quote it/);
    assertBadInput(await del(1, 'bad/kept', { 'if-match': `"${version}"` }, '?w=one'), /drop \?w=/);
    assert.deepEqual((await get(2, 'bad/kept')).json(), { key: 'bad/kept', value: 'kept', version }, 'nothing was deleted');
  });

  it('an unknown r names serial among the levels', async () => {
    const answer = await get(0, 'bad/kept', 'linear');
    assert.equal(answer.statusCode, 400);
    assert.match((answer.json() as { detail: string }).detail, /or serial for a read linearizable with conditional writes/);
  });

  it('a GET ignores If-None-Match (a browser cache sends it)', async () => {
    versionOf(await put(0, 'bad/cached', 1));
    const answer = await node(1).app.inject({ method: 'GET', url: '/store/bad%2Fcached', headers: { 'if-none-match': '"1-n1"' } });
    assert.equal(answer.statusCode, 200, answer.body);
  });
});

describe('the OpenAPI document', () => {
  interface Operation {
    parameters?: Array<{ in: string; name: string; description?: string }>;
    responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
  }

  it('lists If-Match and If-None-Match, 412 with currentVersion, and r=serial', async () => {
    const document = node(0).app.swagger() as unknown as { paths: Record<string, Record<string, Operation>> };
    const store = document.paths['/store/{key}'] as Record<string, Operation>;
    const headersOf = (method: string) => (store[method]?.parameters ?? []).filter((parameter) => parameter.in === 'header').map((parameter) => parameter.name.toLowerCase());
    assert.deepEqual(headersOf('put').sort(), ['idempotency-key', 'if-match', 'if-none-match']);
    assert.deepEqual(headersOf('delete').sort(), ['idempotency-key', 'if-match']);
    for (const method of ['put', 'delete']) {
      const schema = store[method]?.responses['412']?.content?.['application/problem+json']?.schema;
      assert.ok(schema?.properties?.['currentVersion'], `${method} documents 412 with currentVersion`);
    }
    const r = store['get']?.parameters?.find((parameter) => parameter.in === 'query' && parameter.name === 'r');
    assert.match(r?.description ?? '', /serial/);
  });
});

/**
 * The platform fetch, except that the first request for a key goes to `divertedUrl` instead:
 * a real refused connection or a real silent socket meets the cluster client's first attempt,
 * wherever its routing sends it (learning the members and ring goes to the real nodes).
 */
function fetchDivertingFirstStoreRequest(divertedUrl: string): typeof fetch {
  let diverted = false;
  return (input, init) => {
    const url = new URL(String(input));
    if (diverted || !url.pathname.startsWith('/store/')) return globalThis.fetch(input, init);
    diverted = true;
    return globalThis.fetch(`${divertedUrl}${url.pathname}${url.search}`, init);
  };
}

describe('the typed clients', () => {
  it('RingkvClient: createIfAbsent, putIfMatch, deleteIfMatch and get(key, "serial")', async () => {
    const client = new RingkvClient({ baseUrl: node(1).url, timeoutMs: 10_000 });
    const created = await client.createIfAbsent('sdk/a', { step: 1 });
    assertMatches(StoredValueSchema, created.body);
    assert.equal(created.acks, 2);
    const refused = await client.createIfAbsent('sdk/a', { step: 0 }).then(
      () => assert.fail('a second create must be refused'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RingkvPreconditionFailedError && refused instanceof RingkvError);
    assert.equal(refused.status, 412);
    assert.equal(refused.currentVersion, created.body.version);
    const updated = await client.putIfMatch('sdk/a', { step: 2 }, created.body.version);
    await assert.rejects(client.putIfMatch('sdk/a', { step: 3 }, created.body.version), (error: unknown) => {
      assert.ok(error instanceof RingkvPreconditionFailedError);
      assert.equal(error.currentVersion, updated.body.version);
      return true;
    });
    assert.deepEqual(await client.get('sdk/a', 'serial'), { key: 'sdk/a', value: { step: 2 }, version: updated.body.version });
    const quoted = await client.putIfMatch('sdk/a', { step: 4 }, `"${updated.body.version}"`);
    const deleted = await client.deleteIfMatch('sdk/a', quoted.body.version);
    assertMatches(DeleteResultSchema, deleted.body);
    await assert.rejects(client.deleteIfMatch('sdk/a', quoted.body.version), (error: unknown) => {
      assert.ok(error instanceof RingkvPreconditionFailedError);
      assert.deepEqual([error.currentVersion, error.deleted], [deleted.body.version, true]);
      return true;
    });
    assert.equal(await client.get('sdk/a', 'serial'), null);
  });

  it('RingkvClusterClient: the same calls, and a conditional write goes on only past a node it never reached', async () => {
    const cluster = new RingkvClusterClient({ nodes: nodes.map((running) => running.url), timeoutMs: 10_000 });
    const created = await cluster.createIfAbsent('sdk/b', 1);
    const updated = await cluster.putIfMatch('sdk/b', 2, created.body.version);
    await assert.rejects(cluster.putIfMatch('sdk/b', 3, created.body.version), RingkvPreconditionFailedError);
    assert.equal((await cluster.get('sdk/b', { r: 'serial' }))?.value, 2);
    await cluster.deleteIfMatch('sdk/b', updated.body.version);
    assert.equal(await cluster.get('sdk/b', { r: 'serial' }), null);

    const attempts: string[] = [];
    const failover = new RingkvClusterClient({
      nodes: nodes.map((running) => running.url),
      fetch: fetchDivertingFirstStoreRequest(closedUrl),
      onAttempt: (event) => attempts.push(event.outcome),
    });
    const afterRefusal = await failover.createIfAbsent('sdk/c', 'via the second node');
    assert.equal(afterRefusal.body.value, 'via the second node');
    assert.deepEqual(attempts, ['not-sent', 'ok'], 'a refused connection never reached a node: tried on the next');
  });

  it('RingkvClusterClient does not send a conditional write on after a node answered 412 or broke off', async () => {
    const attempts: string[] = [];
    const cluster = new RingkvClusterClient({ nodes: nodes.map((running) => running.url), routing: false, onAttempt: (event) => attempts.push(event.outcome) });
    const version = (await cluster.put('sdk/d', 1)).body.version;
    attempts.length = 0;
    await assert.rejects(cluster.createIfAbsent('sdk/d', 2), RingkvPreconditionFailedError);
    assert.deepEqual(attempts, ['answer'], 'one attempt: a 412 is the answer');
    // A node that takes the connection and never answers: the write may have arrived, so no other node gets it.
    const silentSockets = new Set<Socket>();
    const silent = createServer((socket) => silentSockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const stuck = new RingkvClusterClient({
        nodes: nodes.map((running) => running.url),
        fetch: fetchDivertingFirstStoreRequest(silentUrl),
        attemptTimeoutMs: 300,
        timeoutMs: 5_000,
        onAttempt: (event) => attempts.push(event.outcome),
      });
      attempts.length = 0;
      await assert.rejects(stuck.putIfMatch('sdk/d', 3, version), (error: unknown) => error instanceof RingkvUnavailableError && error.mayHaveApplied);
      assert.deepEqual(attempts, ['timeout'], 'one attempt: it may have reached the node');
    } finally {
      for (const socket of silentSockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
    assert.equal((await cluster.get('sdk/d', { r: 'serial' }))?.value, 1, 'the next node was not asked');
  });
});

describe('concurrent read-modify-write through every node', () => {
  it('If-Match increments of one counter lose no update', { timeout: 60_000 }, async () => {
    const workers = 4;
    const attemptsPerWorker = 12;
    const key = 'counter';
    assert.equal((await put(0, key, 0, { 'if-none-match': '*' })).statusCode, 200);
    const tally = { ok: 0, refused: 0, unknown: 0, unavailable: 0, readsUnavailable: 0 };
    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        for (let attempt = 0; attempt < attemptsPerWorker; attempt++) {
          const via = worker + attempt;
          const read = await get(via, key, 'serial');
          // Rounds preempted by the other writers past the round limit: nothing was done, so the worker tries again.
          if (read.statusCode === 503) {
            tally.readsUnavailable++;
            continue;
          }
          assert.equal(read.statusCode, 200, read.body);
          const { value, version } = read.json() as { value: number; version: string };
          const written = await put(via + 1, key, value + 1, { 'if-match': `"${version}"` });
          if (written.statusCode === 200) tally.ok++;
          else if (written.statusCode === 412) tally.refused++;
          else if (written.statusCode === 504) tally.unknown++;
          else if (written.statusCode === 503) tally.unavailable++;
          else assert.fail(`unexpected ${written.statusCode}: ${written.body}`);
        }
      }),
    );
    const final = (await get(2, key, 'serial')).json() as { value: number };
    assert.ok(tally.ok > 0, JSON.stringify(tally));
    assert.ok(tally.refused > 0, `concurrent writers must have met refusals: ${JSON.stringify(tally)}`);
    assert.ok(final.value >= tally.ok && final.value <= tally.ok + tally.unknown, `counter ${final.value} against ${JSON.stringify(tally)}`);
  });
});
