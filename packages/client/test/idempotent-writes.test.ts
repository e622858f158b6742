// Checks how both clients send ttl and Idempotency-Key and read what comes back, against
// scripted HTTP nodes on loopback that answer what a test needs (a hang, a 409 in flight
// with Retry-After, a 422, a replayed 200), which real nodes cannot be made to do on cue:
// the query and headers sent, `replayed`, the typed errors, and which failures the cluster
// client retries (a keyed write like a read; 409 after its Retry-After, within the time budget).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { putOp } from '../src/batch.js';
import {
  errorOfProblem,
  idempotencyKeyProblem,
  newIdempotencyKey,
  RingkvClient,
  RingkvError,
  RingkvIdempotencyKeyInFlightError,
  RingkvIdempotencyKeyReusedError,
  RingkvPreconditionFailedError,
} from '../src/client.js';
import { RingkvClusterClient, RingkvUnavailableError } from '../src/cluster-client.js';
import { retryAfterMsOf, storePathWithQuery } from '../src/http-answers.js';

interface SeenRequest {
  node: string;
  method: string;
  url: string;
  idempotencyKey: string | undefined;
  body: string;
  atMs: number;
}

/** What a scripted node does with one store request: answer (status, headers, body) or never answer. */
type Script = (request: SeenRequest) => { status: number; headers?: Record<string, string>; body: unknown } | 'hang';

class ScriptedNode {
  readonly name: string;
  script: Script = () => ({ status: 200, body: { key: 'k', value: 1, version: '1-n1' } });
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();
  private readonly seen: SeenRequest[];

  constructor(name: string, seen: SeenRequest[]) {
    this.name = name;
    this.seen = seen;
    this.server = createServer((request, response) => void this.serve(request, response));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    if (!request.url?.startsWith('/store/')) {
      // The cluster client asks for /cluster first; without it, it sends requests to the given nodes in turn.
      response.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'urn:ringkv:problem:not-found', title: 'Not Found', status: 404, detail: 'scripted node' }));
      return;
    }
    const header = request.headers['idempotency-key'];
    const seen: SeenRequest = { node: this.name, method: request.method ?? '', url: request.url, idempotencyKey: typeof header === 'string' ? header : undefined, body, atMs: Date.now() };
    this.seen.push(seen);
    const answer = this.script(seen);
    if (answer === 'hang') {
      this.hanging.add(response);
      return;
    }
    const contentType = answer.status >= 400 ? 'application/problem+json' : 'application/json';
    response.writeHead(answer.status, { 'content-type': contentType, ...answer.headers }).end(JSON.stringify(answer.body));
  }
}

const stored = { key: 'k', value: 1, version: '5-n1', expiresAt: '2026-11-29T08:00:00.000Z' };
const inFlightProblem = { type: 'urn:ringkv:problem:idempotency-key-in-flight', title: 'In flight', status: 409, detail: 'the first request with this Idempotency-Key is still running; retry after 1 s' };
const reusedProblem = { type: 'urn:ringkv:problem:idempotency-key-reused', title: 'Reused', status: 422, detail: 'this Idempotency-Key was used with another request; use a new key' };

const seen: SeenRequest[] = [];
const first = new ScriptedNode('a', seen);
const second = new ScriptedNode('b', seen);

before(async () => {
  await first.start();
  await second.start();
});

after(async () => {
  await first.stop();
  await second.stop();
});

/** Both nodes follow `script`; `seen` starts empty. */
function reset(script: Script): void {
  seen.length = 0;
  first.script = script;
  second.script = script;
}

type Answer = Exclude<ReturnType<Script>, 'hang'>;

/** The first store request (on whichever node the client picks) gets `firstAnswer`, every later one `laterAnswer`. */
function firstThen(firstAnswer: Answer | 'hang', laterAnswer: Answer): Script {
  return () => (seen.length === 1 ? firstAnswer : laterAnswer);
}

function clusterClient(options: Partial<ConstructorParameters<typeof RingkvClusterClient>[0]> = {}): RingkvClusterClient {
  return new RingkvClusterClient({ nodes: [first.url, second.url], routing: false, attemptTimeoutMs: 300, timeoutMs: 4000, ...options });
}

describe('Idempotency-Key and ttl in the clients', () => {
  it('makes fresh keys that nodes accept, also where crypto.randomUUID is missing (plain-http pages)', () => {
    const keys = new Set(Array.from({ length: 50 }, () => newIdempotencyKey()));
    assert.equal(keys.size, 50);
    const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const key of keys) assert.match(key, uuidV4);
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true });
    try {
      const fallback = newIdempotencyKey();
      assert.match(fallback, uuidV4);
      assert.notEqual(fallback, newIdempotencyKey());
    } finally {
      delete (globalThis.crypto as { randomUUID?: unknown }).randomUUID;
    }
    assert.equal(typeof globalThis.crypto.randomUUID, 'function', 'the platform method is back');
  });

  it('says what is wrong with a key that nodes would refuse', () => {
    assert.equal(idempotencyKeyProblem('a'.repeat(255)), null);
    assert.equal(idempotencyKeyProblem('order-42/try:1'), null);
    assert.match(idempotencyKeyProblem('') ?? '', /empty/);
    assert.match(idempotencyKeyProblem('a'.repeat(256)) ?? '', /at most 255 characters, this one 256/);
    assert.match(idempotencyKeyProblem('has space') ?? '', /visible ASCII/);
    assert.match(idempotencyKeyProblem('clé') ?? '', /visible ASCII/);
  });

  it('turns 409 in flight, 422 reused and 412 into typed errors, other 409s into RingkvError', () => {
    const inFlight = errorOfProblem(inFlightProblem, new Headers({ 'retry-after': '2' }));
    assert.ok(inFlight instanceof RingkvIdempotencyKeyInFlightError);
    assert.equal(inFlight.retryAfterMs, 2000);
    assert.equal((errorOfProblem(inFlightProblem) as RingkvIdempotencyKeyInFlightError).retryAfterMs, 1000, 'no Retry-After: 1 s');
    assert.ok(errorOfProblem(reusedProblem) instanceof RingkvIdempotencyKeyReusedError);
    assert.ok(errorOfProblem({ type: 'urn:ringkv:problem:precondition-failed', title: 'x', status: 412, detail: '', currentVersion: null }) instanceof RingkvPreconditionFailedError);
    const ringChange = errorOfProblem({ type: 'urn:ringkv:problem:ring-change-refused', title: 'x', status: 409, detail: '' });
    assert.equal(ringChange.constructor, RingkvError);
    assert.equal(retryAfterMsOf(new Headers({ 'retry-after': 'Sun, 29 Nov 2026 08:00:03 GMT' }), 1000, Date.parse('2026-11-29T08:00:00Z')), 3000);
    assert.equal(retryAfterMsOf(new Headers({ 'retry-after': 'soon' }), 1000), 1000);
  });

  it('sends ttl in the query and the key as a header, and reads expiresAt and Idempotent-Replayed (one-node client)', async () => {
    reset(() => ({ status: 200, headers: { 'idempotent-replayed': 'true', 'x-ringkv-acks': '2' }, body: stored }));
    const client = new RingkvClient({ baseUrl: first.url });
    const receipt = await client.put('k', 1, { ttl: 60, idempotencyKey: 'order-1' });
    assert.deepEqual(receipt, { body: stored, acks: 2, replayed: true });
    assert.equal(seen[0]!.url, '/store/k?ttl=60');
    assert.equal(seen[0]!.idempotencyKey, 'order-1');
    await client.put('k', 1, 'all');
    assert.equal(seen[1]!.url, '/store/k?w=all', 'the level alone, as before options existed');
    assert.equal(seen[1]!.idempotencyKey, undefined);
    await client.putIfMatch('k', 2, '5-n1', { ttl: 30, idempotencyKey: 'order-2' });
    await client.createIfAbsent('k', 2, { ttl: 30 });
    await client.delete('k', { idempotencyKey: 'order-3' });
    await client.deleteIfMatch('k', '5-n1', { idempotencyKey: 'order-4' });
    assert.deepEqual(
      seen.slice(2).map((request) => [request.method, request.url, request.idempotencyKey]),
      [
        ['PUT', '/store/k?ttl=30', 'order-2'],
        ['PUT', '/store/k?ttl=30', undefined],
        ['DELETE', '/store/k', 'order-3'],
        ['DELETE', '/store/k', 'order-4'],
      ],
    );
    await assert.rejects(client.put('k', 1, { idempotencyKey: 'no spaces please' }), RangeError);
    assert.equal(seen.length, 6, 'a key nodes would refuse is not sent');
    reset(() => ({ status: 200, body: stored }));
    assert.equal((await client.put('k', 1)).replayed, false);
  });

  it('retries a keyed write that got no answer on the next node, with the same key and body', async () => {
    reset(firstThen('hang', { status: 200, headers: { 'idempotent-replayed': 'true' }, body: stored }));
    const receipt = await clusterClient().put('k', { n: 1 }, { idempotencyKey: 'order-5', ttl: 60 });
    assert.equal(receipt.replayed, true);
    assert.deepEqual(seen.map((request) => [request.url, request.idempotencyKey, request.body]), [
      ['/store/k?ttl=60', 'order-5', '{"value":{"n":1}}'],
      ['/store/k?ttl=60', 'order-5', '{"value":{"n":1}}'],
    ]);
    assert.notEqual(seen[0]!.node, seen[1]!.node, 'the retry went to the other node');
  });

  it('retries a keyed conditional write after a 504, and never an unkeyed write that may have been applied', async () => {
    const outcomeUnknown: Answer = { status: 504, body: { type: 'urn:ringkv:problem:outcome-unknown', title: 'Timeout', status: 504, detail: 'may have been applied' } };
    reset(firstThen(outcomeUnknown, { status: 200, body: stored }));
    await clusterClient().putIfMatch('k', 2, '5-n1', { idempotencyKey: 'order-6' });
    assert.equal(seen.length, 2);
    reset(firstThen(outcomeUnknown, { status: 200, body: stored }));
    await assert.rejects(clusterClient().putIfMatch('k', 2, '5-n1'), (error: RingkvError) => error.status === 504);
    assert.equal(seen.length, 1, 'an unkeyed conditional write is not sent again');
    reset(() => 'hang');
    const error = await clusterClient().put('k', 1).then(() => undefined, (caught: unknown) => caught);
    assert.ok(error instanceof RingkvUnavailableError);
    assert.equal(error.mayHaveApplied, true);
    assert.match(error.message, /read the key before writing it again/);
    assert.equal(seen.length, 1, 'not sent again');
    reset(() => 'hang');
    const keyed = await clusterClient({ timeoutMs: 700 }).delete('k', { idempotencyKey: 'order-7' }).then(() => undefined, (caught: unknown) => caught);
    assert.ok(keyed instanceof RingkvUnavailableError);
    assert.match(keyed.message, /send the same write again with Idempotency-Key order-7/);
    assert.equal(keyed.idempotencyKey, 'order-7');
  });

  it('asks again after the Retry-After of a 409 in flight, and gives up at once when the wait would pass the time budget', async () => {
    reset(firstThen({ status: 409, headers: { 'retry-after': '1' }, body: inFlightProblem }, { status: 200, headers: { 'idempotent-replayed': 'true' }, body: stored }));
    const receipt = await clusterClient().put('k', 1, { idempotencyKey: 'order-8' });
    assert.equal(receipt.replayed, true);
    assert.equal(seen.length, 2);
    assert.ok(seen[1]!.atMs - seen[0]!.atMs >= 950, `asked again after ${seen[1]!.atMs - seen[0]!.atMs} ms, before the 1 s Retry-After`);

    reset(() => ({ status: 409, headers: { 'retry-after': '1' }, body: inFlightProblem }));
    const startedMs = Date.now();
    await assert.rejects(clusterClient({ timeoutMs: 600 }).put('k', 1, { idempotencyKey: 'order-9' }), RingkvIdempotencyKeyInFlightError);
    assert.equal(seen.length, 1);
    assert.ok(Date.now() - startedMs < 500, 'no wait that cannot end in time');
  });

  it('does not retry a 422 (the key was used with another request)', async () => {
    reset(() => ({ status: 422, body: reusedProblem }));
    await assert.rejects(clusterClient().put('k', 1, { idempotencyKey: 'order-10' }), RingkvIdempotencyKeyReusedError);
    assert.equal(seen.length, 1);
  });

  it('gives every write a fresh key with idempotentWrites, the same one on each of its attempts, none with w', async () => {
    // Every first attempt of a write hangs, its retry is answered.
    reset(() => (seen.length % 2 === 1 ? 'hang' : { status: 200, body: stored }));
    const client = clusterClient({ idempotentWrites: true });
    await client.put('k', 1);
    await client.delete('k');
    await client.createIfAbsent('k', 1);
    const keys = seen.map((request) => request.idempotencyKey);
    assert.equal(seen.length, 6, 'every write hung once, then was sent again');
    for (const index of [0, 2, 4]) {
      assert.ok(keys[index] !== undefined && keys[index] === keys[index + 1], `attempt ${index} and its retry share a key`);
    }
    assert.equal(new Set(keys).size, 3, 'one key per write');
    reset(() => ({ status: 200, body: stored }));
    await client.put('k', 1, { w: 'all' });
    await client.put('k', 1, { idempotencyKey: 'mine' });
    assert.deepEqual(seen.map((request) => request.idempotencyKey), [undefined, 'mine']);
  });

  it('builds paths and batch ops with ttl', () => {
    assert.equal(storePathWithQuery('a b', { w: 'quorum', ttl: 5 }), '/store/a%20b?w=quorum&ttl=5');
    assert.equal(storePathWithQuery('k', { w: undefined, ttl: undefined }), '/store/k');
    assert.deepEqual(putOp('k', 1, { ttl: 60, ifAbsent: true }), { op: 'put', key: 'k', value: 1, ifNoneMatch: '*', ttl: 60 });
  });
});
