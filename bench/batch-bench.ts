// What a batch saves (issue 11, part 4): on one fresh 3-node cluster (N=3, quorum writes),
// the same number of PUTs is written twice from this process, with the same number of
// requests in flight: once as single PUT /store/{key} requests, once as POST /batch requests
// of 100 puts each (on fresh keys each time, so neither run overwrites the other). Prints
// the puts written per second each way, each request's p50/p99, and batched over single as
// a ratio. Both go through the real client and fetch, as an application's would.
import { performance } from 'node:perf_hooks';
import { putOp, RingkvClient, type BatchOp } from '@ringkv/client';
import { startCluster, type Storage } from './cluster.js';
import { round } from './load.js';

export interface BatchBenchOptions {
  basePort: number;
  storage: Storage;
  /** PUTs written each way. */
  puts: number;
  opsPerBatch: number;
  /** Requests in flight at once, each way. */
  connections: number;
}

export interface BatchRow {
  way: 'single PUTs' | 'batches';
  requests: number;
  putsPerSecond: number;
  requestP50Ms: number;
  requestP99Ms: number;
  /** Requests that failed and puts answered with a status other than 200. */
  errors: number;
}

export interface BatchResult {
  storage: Storage;
  puts: number;
  opsPerBatch: number;
  connections: number;
  rows: BatchRow[];
  /** Batched puts per second over single ones. */
  speedup: number;
}

/** A batch of 100 quorum puts takes several times a single PUT; the client's default 10 s leaves room. */
const requestTimeoutMs = 30_000;
const value = 'v'.repeat(100);

export async function runBatchBench(options: BatchBenchOptions): Promise<BatchResult> {
  const cluster = await startCluster(options.storage, options.basePort);
  try {
    const clients = cluster.urls.map((url) => new RingkvClient({ baseUrl: url, timeoutMs: requestTimeoutMs }));
    const pick = (turn: number) => clients[turn % clients.length] as RingkvClient;
    const single = await drive(options.puts, options.connections, async (turn) => {
      await pick(turn).put(`single${turn}`, value);
      return 0;
    });
    const batches = Math.ceil(options.puts / options.opsPerBatch);
    const batched = await drive(batches, options.connections, async (turn) => {
      const ops: BatchOp[] = [];
      for (let index = turn * options.opsPerBatch; index < Math.min(options.puts, (turn + 1) * options.opsPerBatch); index++) ops.push(putOp(`batched${index}`, value));
      const answer = await pick(turn).batch(ops);
      return answer.results.filter((result) => result.status !== 200).length;
    });
    const rows: BatchRow[] = [
      { way: 'single PUTs', requests: options.puts, putsPerSecond: Math.round(options.puts / single.seconds), requestP50Ms: single.p50Ms, requestP99Ms: single.p99Ms, errors: single.errors },
      { way: 'batches', requests: batches, putsPerSecond: Math.round(options.puts / batched.seconds), requestP50Ms: batched.p50Ms, requestP99Ms: batched.p99Ms, errors: batched.errors },
    ];
    for (const row of rows) process.stdout.write(`batch ${row.way}: ${row.putsPerSecond} puts/s over ${row.requests} requests, p50 ${row.requestP50Ms} ms, p99 ${row.requestP99Ms} ms, ${row.errors} errors\n`);
    const speedup = round((rows[1] as BatchRow).putsPerSecond / Math.max(1, (rows[0] as BatchRow).putsPerSecond));
    return { storage: options.storage, puts: options.puts, opsPerBatch: options.opsPerBatch, connections: options.connections, rows, speedup };
  } finally {
    await cluster.stop();
  }
}

/** Runs `count` requests, `connections` at a time; each resolves with its failed puts. */
async function drive(count: number, connections: number, send: (turn: number) => Promise<number>): Promise<{ seconds: number; p50Ms: number; p99Ms: number; errors: number }> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const turn = next++;
      const startedMs = performance.now();
      try {
        errors += await send(turn);
        latenciesMs.push(performance.now() - startedMs);
      } catch {
        errors++;
      }
    }
  };
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: Math.min(connections, count) }, worker));
  const seconds = (performance.now() - startedMs) / 1000;
  latenciesMs.sort((a, b) => a - b);
  const at = (share: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(share * latenciesMs.length))] ?? 0;
  return { seconds, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), errors };
}

export function reportBatch(result: BatchResult): string[] {
  return [
    '',
    `Batches: ${result.puts} quorum PUTs of 100-byte values on 3 nodes (N=3, ${result.storage}), from this process through the client, ` +
      `${result.connections} requests in flight; once as single PUTs, once as POST /batch of ${result.opsPerBatch} puts.`,
    '',
    '| way | requests | puts/s | p50 ms per request | p99 ms per request | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...result.rows.map((row) => `| ${row.way} | ${row.requests} | ${row.putsPerSecond} | ${row.requestP50Ms} | ${row.requestP99Ms} | ${row.errors} |`),
    '',
    `batched / single puts per second: ${result.speedup}x`,
  ];
}
