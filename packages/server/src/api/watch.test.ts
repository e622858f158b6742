// Checks GET /watch on a real 3-node cluster in this process (peers over TCP, N=3), read
// with fetch streaming as a client does: the SSE format (ready first, put, delete, expiry as
// a delete with expired: true, ids as cursors), changes written through every node, only
// the prefix asked, a resume on another node from an event id (Last-Event-ID) and from a
// progress cursor (?since=) that repeats nothing and misses nothing, and the answers before
// a stream: 400 for a bad cursor, 410 for one older than retention, 503 at --watch-max.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ServerSentEventParser } from '@ringkv/client';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster('watch', (index) => ({ watchRetentionS: 2, watchMax: index === 2 ? 1 : 64, watchUnsentMb: 1 }));
});

after(() => cluster.close());

function node(index: number): RunningNode {
  return cluster.nodes[index % cluster.nodes.length] as RunningNode;
}

interface SseEvent {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

/** An open watch: events as they are parsed, and a way to wait for them. */
class Watch {
  readonly events: SseEvent[] = [];
  readonly status: number;
  readonly contentType: string | null;
  private readonly controller: AbortController;
  private readonly done: Promise<void>;

  private constructor(response: Response, controller: AbortController) {
    this.status = response.status;
    this.contentType = response.headers.get('content-type');
    this.controller = controller;
    this.done = this.read(response);
  }

  static async open(via: number, query = '', headers: Record<string, string> = {}): Promise<Watch> {
    const controller = new AbortController();
    const response = await fetch(`${node(via).url}/watch${query}`, { headers, signal: controller.signal });
    return new Watch(response, controller);
  }

  /** Waits until `count` events other than progress have arrived (bounded). */
  async changes(count: number, timeoutMs = 8000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const changes = this.events.filter((event) => event.event === 'put' || event.event === 'delete');
      if (changes.length >= count || Date.now() > deadline) return changes;
      await sleep(20);
    }
  }

  /** The ready event's cursor, once it has arrived (bounded). */
  async ready(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.events[0]?.event !== 'ready' && Date.now() < deadline) await sleep(10);
    assert.equal(this.events[0]?.event, 'ready');
    return this.events[0]?.id as string;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done.catch(() => undefined);
  }

  private async read(response: Response): Promise<void> {
    if (response.body === null) return;
    const parser = new ServerSentEventParser(1 << 24);
    try {
      for await (const chunk of response.body) {
        for (const message of parser.push(chunk as Uint8Array)) {
          this.events.push({ event: message.event, id: message.hasId ? message.id : undefined, data: JSON.parse(message.data || '{}') as Record<string, unknown> });
        }
      }
    } catch {
      // aborted
    }
  }
}

function put(via: number, key: string, value: unknown, query = ''): Promise<Response> {
  return fetch(`${node(via).url}/store/${key}${query}`, { method: 'PUT', body: JSON.stringify({ value }), headers: { 'content-type': 'application/json' } });
}

describe('GET /watch', () => {
  it('streams puts, deletes and expiries under the prefix from every node, each once, as SSE', async () => {
    const watch = await Watch.open(0, '?prefix=w1/');
    assert.equal(watch.status, 200);
    assert.match(watch.contentType ?? '', /^text\/event-stream/);
    assert.equal((await put(1, 'w1/a', { n: 1 })).status, 200);
    assert.equal((await put(2, 'w1/a', { n: 2 })).status, 200);
    assert.equal((await put(0, 'elsewhere', 'not watched')).status, 200);
    assert.equal((await fetch(`${node(1).url}/store/w1/a`, { method: 'DELETE' })).status, 200);
    assert.equal((await put(2, 'w1/ttl', 'short', '?ttl=1')).status, 200);
    const changes = await watch.changes(5);
    // The node shows its watches and its change log, in /node-info and /metrics.
    const info = (await (await fetch(`${node(0).url}/node-info`)).json()) as { watch: { open: number; max: number; logEntries: number; floorLagMs: number; prunedBefore: string | null } };
    assert.equal(info.watch.open, 1);
    assert.equal(info.watch.max, 64);
    assert.ok(info.watch.logEntries >= 3, `the change log holds ${info.watch.logEntries} entries`);
    assert.ok(info.watch.floorLagMs < 5000, `the floor lags ${info.watch.floorLagMs} ms`);
    const metrics = await (await fetch(`${node(0).url}/metrics`)).text();
    assert.match(metrics, /^ringkv_watches_open\{[^}]*\} 1$/m);
    assert.match(metrics, /^ringkv_change_log_entries\{[^}]*\} \d+$/m);
    await watch.close();
    assert.equal(watch.events[0]?.event, 'ready');
    assert.ok(watch.events[0]?.id);
    assert.deepEqual(
      changes.map((event) => [event.event, event.data.key, event.data.value ?? null, event.data.expired ?? false]),
      [
        ['put', 'w1/a', { n: 1 }, false],
        ['put', 'w1/a', { n: 2 }, false],
        ['delete', 'w1/a', null, false],
        ['put', 'w1/ttl', 'short', false],
        ['delete', 'w1/ttl', null, true],
      ],
    );
    assert.ok(changes.every((event) => typeof event.id === 'string' && typeof event.data.version === 'string'));
    assert.equal(typeof changes[3]?.data.expiresAt, 'string');
  });

  it('resumes on another node from an event id or a progress cursor: nothing repeated, nothing missed', async () => {
    const first = await Watch.open(0, '?prefix=w2/');
    for (let i = 0; i < 6; i++) assert.equal((await put(i, `w2/k${i}`, i)).status, 200);
    const seen = await first.changes(6);
    await first.close();
    assert.equal(seen.length, 6);
    const third = seen[2] as SseEvent;
    for (let i = 6; i < 9; i++) assert.equal((await put(i, `w2/k${i}`, i)).status, 200);
    const resumed = await Watch.open(1, '?prefix=w2/', { 'last-event-id': third.id as string });
    const after = await resumed.changes(6);
    await resumed.close();
    assert.deepEqual(
      after.map((event) => event.data.value),
      [3, 4, 5, 6, 7, 8],
    );
    // A progress cursor (or ready's) resumes after every change up to it.
    const fresh = await Watch.open(1, '?prefix=w2/');
    const readyCursor = await fresh.ready();
    await fresh.close();
    assert.equal((await put(2, 'w2/late', 'late')).status, 200);
    const fromReady = await Watch.open(0, `?prefix=w2/&since=${encodeURIComponent(readyCursor)}`);
    const late = await fromReady.changes(1);
    await fromReady.close();
    assert.deepEqual(
      late.map((event) => event.data.key),
      ['w2/late'],
    );
  });

  it('cuts off a watcher that leaves more than --watch-unsent-mb unread, with an error event saying how to resume', async () => {
    const controller = new AbortController();
    const response = await fetch(`${node(1).url}/watch?prefix=w4/`, { signal: controller.signal });
    assert.equal(response.status, 200);
    // Nothing is read while 24 values of 512 KiB are written: more than the socket buffers and the 1 MiB allowed.
    const big = 'x'.repeat(512 * 1024);
    for (let i = 0; i < 24; i++) assert.equal((await put(i, `w4/big${i}`, big)).status, 200);
    await sleep(1500);
    const parser = new ServerSentEventParser(1 << 26);
    const events: string[] = [];
    let cut: { type: string; detail: string } | undefined;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      for (const message of parser.push(chunk)) {
        events.push(message.event);
        if (message.event === 'error') cut = JSON.parse(message.data) as { type: string; detail: string };
      }
    }
    controller.abort();
    assert.ok(cut !== undefined, `the stream ended without an error event after ${events.join(',')}`);
    assert.match(cut.type, /watch-too-slow$/);
    assert.match(cut.detail, /resume from the last event id/);
    assert.ok(events.filter((name) => name === 'put').length < 24, 'it was cut before every change went out');
  });

  it('answers a bad cursor 400, one older than retention 410, and one watch too many 503', async () => {
    const bad = await fetch(`${node(0).url}/watch?since=not-a-cursor`);
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    const watch = await Watch.open(0, '?prefix=w3/');
    const old = await watch.ready();
    await watch.close();
    // Entries older than --watch-retention-s (2 s here) are pruned once a second.
    for (let i = 0; i < 4; i++) {
      assert.equal((await put(i, `w3/k${i}`, i)).status, 200);
      await sleep(1000);
    }
    const gone = await fetch(`${node(1).url}/watch?since=${encodeURIComponent(old)}`);
    assert.equal(gone.status, 410);
    const problem = (await gone.json()) as { type: string; detail: string };
    assert.match(problem.type, /watch-cursor-expired$/);
    assert.match(problem.detail, /start a new watch/);
    const only = await Watch.open(2);
    assert.equal(only.status, 200);
    const refused = await fetch(`${node(2).url}/watch`);
    assert.equal(refused.status, 503);
    assert.ok(refused.headers.get('retry-after'));
    await refused.body?.cancel();
    await only.close();
  });
});
