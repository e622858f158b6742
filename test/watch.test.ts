// Real node processes (3 LMDB nodes): two watchers follow every change while clients write
// through the other nodes, and the node serving the first watcher is killed with SIGKILL
// mid-stream. The first resumes on another node from the last event id (Last-Event-ID), as
// an EventSource or a curl loop would; the second is the SDK's cluster client, which
// resumes by itself. Each must end up with every acknowledged write exactly once, each
// key's versions in order.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { RingkvClusterClient, ServerSentEventParser, type WatchEvent } from '@ringkv/client';
import { startCluster, type TestCluster } from './support/cluster.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startCluster({ nodes: 3, storage: 'lmdb' });
});

after(async () => {
  await cluster?.stop();
});

interface Change {
  key: string;
  version: string;
  id: string;
}

/** Reads one SSE stream with fetch until it ends or is aborted; resolves with the changes and the last id. */
async function follow(url: string, lastEventId: string | undefined, changes: Change[], signal: AbortSignal): Promise<string | undefined> {
  let last = lastEventId;
  let response: Response;
  try {
    response = await fetch(url, { headers: last === undefined ? {} : { 'last-event-id': last }, signal });
  } catch {
    return last;
  }
  assert.equal(response.status, 200, await (response.status === 200 ? Promise.resolve('') : response.text()));
  const parser = new ServerSentEventParser(1 << 24);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      for (const message of parser.push(chunk)) {
        if (message.hasId) last = message.id;
        if (message.event === 'put' || message.event === 'delete') {
          const data = JSON.parse(message.data) as { key: string; version: string };
          changes.push({ key: data.key, version: data.version, id: message.id });
        }
      }
    }
  } catch {
    // the node died under the stream, or the watch was aborted
  }
  return last;
}

function assertExactlyOnce(changes: readonly Change[], written: ReadonlyMap<string, string[]>, who: string): void {
  const seen = new Set<string>();
  const lastVersion = new Map<string, number>();
  for (const change of changes) {
    const id = `${change.key}@${change.version}`;
    assert.ok(!seen.has(id), `${who}: ${id} arrived twice`);
    seen.add(id);
    const hlc = Number(change.version.split('-')[0]);
    assert.ok(hlc > (lastVersion.get(change.key) ?? 0), `${who}: ${id} arrived after a newer version of its key`);
    lastVersion.set(change.key, hlc);
  }
  for (const [key, versions] of written) for (const version of versions) assert.ok(seen.has(`${key}@${version}`), `${who}: the acknowledged write ${key}@${version} never arrived`);
}

describe('watch under kill -9 of its node', () => {
  it('resumes on another node from the last event id with every acknowledged write exactly once', { timeout: 90_000 }, async () => {
    const [victim, a, b] = cluster.nodes as [(typeof cluster.nodes)[number], (typeof cluster.nodes)[number], (typeof cluster.nodes)[number]];
    const stop = new AbortController();
    const fetched: Change[] = [];
    const first = follow(`${victim.url}/watch?prefix=kv/`, undefined, fetched, stop.signal);
    // The SDK's watcher starts on the victim too, so the kill tests its own resume.
    const sdk = new RingkvClusterClient({ nodes: [victim.url, a.url, b.url], routing: false });
    const sdkChanges: Change[] = [];
    const sdkDone = (async () => {
      for await (const event of sdk.watch({ prefix: 'kv/', signal: stop.signal, idleTimeoutMs: 3000 })) {
        if (event.type === 'put' || event.type === 'delete') sdkChanges.push({ key: event.key, version: event.version, id: event.cursor });
        void (event satisfies WatchEvent);
      }
    })().catch((error: unknown) => {
      if (!stop.signal.aborted) throw error;
    });
    await sleep(500);
    const written = new Map<string, string[]>();
    let writes = 0;
    const writer = async (through: typeof a, name: string, untilMs: number) => {
      for (let i = 0; Date.now() < untilMs; i++) {
        const key = `kv/${name}-${i % 20}`;
        const response = await fetch(`${through.url}/store/${key}`, { method: 'PUT', body: JSON.stringify({ value: i }), headers: { 'content-type': 'application/json' } }).catch(() => undefined);
        if (response?.status !== 200) continue;
        const { version } = (await response.json()) as { version: string };
        written.set(key, [...(written.get(key) ?? []), version]);
        writes++;
      }
    };
    const writing = Promise.all([writer(a, 'a', Date.now() + 6000), writer(b, 'b', Date.now() + 6000)]);
    await sleep(2500);
    await victim.kill('SIGKILL');
    const resumedFrom = await first;
    assert.ok(resumedFrom !== undefined, 'the first stream never gave an id');
    const beforeKill = fetched.length;
    const resumed = follow(`${a.url}/watch?prefix=kv/`, resumedFrom, fetched, stop.signal);
    await writing;
    assert.ok(writes > 100, `only ${writes} writes were acknowledged`);
    // Every acknowledged write should arrive within a few seconds of the last one.
    const deadline = Date.now() + 20_000;
    const expected = [...written.values()].reduce((sum, versions) => sum + versions.length, 0);
    while (Date.now() < deadline && (fetched.length < expected || sdkChanges.length < expected)) await sleep(100);
    stop.abort();
    await resumed;
    await sdkDone;
    assert.ok(beforeKill > 0 && fetched.length > beforeKill, `the first watcher got ${beforeKill} changes before the kill and ${fetched.length - beforeKill} after`);
    assertExactlyOnce(fetched, written, 'the resumed stream');
    assertExactlyOnce(sdkChanges, written, "the SDK's watch");
  });
});
