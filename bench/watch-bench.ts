// The change feed (issue 12): on a fresh 3-node LMDB cluster (N=3), one watcher reads
// GET /watch?prefix=w/ through node 1 while writers PUT distinct keys under w/ through all
// three nodes at quorum, as fast as `connections` clients go, for `seconds`. Delivery
// latency is the time from a write's 200 to its event reaching the watcher (both seen by
// this process). Every acknowledged write must arrive exactly once, or the benchmark fails:
// a fast feed that drops changes measures nothing.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServerSentEventParser } from '@ringkv/client';
import { startCluster } from './cluster.js';
import { round } from './load.js';

export interface WatchBenchOptions {
  basePort: number;
  connections: number;
  seconds: number;
}

export interface WatchResult {
  writes: number;
  writesPerSecond: number;
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runWatchBench(options: WatchBenchOptions): Promise<WatchResult> {
  const cluster = await startCluster('lmdb', options.basePort);
  const controller = new AbortController();
  try {
    const [watchUrl] = cluster.urls as [string];
    const ackedAt = new Map<string, number>();
    const arrivedAt = new Map<string, number>();
    let duplicates = 0;
    const response = await fetch(`${watchUrl}/watch?prefix=w/`, { signal: controller.signal });
    if (response.status !== 200 || response.body === null) throw new Error(`GET /watch answered ${response.status}`);
    let ready = false;
    const reading = (async () => {
      const parser = new ServerSentEventParser(1 << 24);
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          const now = performance.now();
          for (const message of parser.push(chunk)) {
            if (message.event === 'ready') ready = true;
            if (message.event !== 'put') continue;
            const data = JSON.parse(message.data) as { key: string };
            if (arrivedAt.has(data.key)) duplicates++;
            else arrivedAt.set(data.key, now);
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    for (let waited = 0; !ready && waited < 100; waited++) await sleep(50);
    if (!ready) throw new Error('the watch never said ready');
    const endAt = performance.now() + options.seconds * 1000;
    let next = 0;
    const writer = async (client: number) => {
      while (performance.now() < endAt) {
        const key = `w/${next++}`;
        const url = cluster.urls[client % cluster.urls.length] as string;
        const answer = await fetch(`${url}/store/${key}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":"x"}' });
        await answer.arrayBuffer();
        if (answer.status === 200) ackedAt.set(key, performance.now());
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: options.connections }, (_, client) => writer(client)));
    const writeSeconds = (performance.now() - started) / 1000;
    const deadline = performance.now() + 15_000;
    while (performance.now() < deadline && [...ackedAt.keys()].some((key) => !arrivedAt.has(key))) await sleep(50);
    controller.abort();
    await reading;
    const missing = [...ackedAt.keys()].filter((key) => !arrivedAt.has(key));
    if (missing.length > 0) throw new Error(`${missing.length} acknowledged writes never arrived on the watch (first: ${missing[0]})`);
    if (duplicates > 0) throw new Error(`${duplicates} changes arrived twice on the watch`);
    const latencies = [...ackedAt].map(([key, at]) => Math.max(0, (arrivedAt.get(key) as number) - at)).sort((a, b) => a - b);
    const at = (quantile: number) => latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))] ?? 0;
    return {
      writes: ackedAt.size,
      writesPerSecond: round(ackedAt.size / writeSeconds),
      events: arrivedAt.size,
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      maxMs: round(latencies.at(-1) ?? 0),
    };
  } finally {
    controller.abort();
    await cluster.stop();
  }
}

export function reportWatch(result: WatchResult): string[] {
  return [
    '',
    'Watch: one watcher of w/ on node 1, writers PUT distinct keys at quorum through all three nodes (LMDB)',
    `  ${result.writes} writes acknowledged (${result.writesPerSecond}/s), ${result.events} events, none missing or repeated`,
    `  delivery latency, write's 200 to its event: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`,
  ];
}
