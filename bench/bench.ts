// `npm run bench`: starts its own local 3-node cluster (memory, then LMDB), prefills
// 10,000 keys with 100-byte values, then drives PUT and then GET load at quorum with
// 32 connections spread over the three nodes for a fixed time, and prints requests per
// second and p50/p99 latency per operation. Then ringkv beside its yardsticks
// (yardstick-bench.ts: LMDB ringkv, the naive 3-process fan-out of fanout-node.ts and etcd
// where installed, the same wrk load at c=33 in alternating rounds, with the target
// ratios marked pass or miss); the join benchmark (join-bench.ts: a fourth node joins a
// 3-node LMDB cluster holding 1,000,000 keys and leaves again, under an open-loop load of
// quorum GETs at a share of the measured capacity, open-loop-generator.ts, judged per second
// by p99 against a baseline; then a fifth joins under the closed loop); and memory per key
// (memory-bench.ts: RssAnon and RSS per node at each key count, restart to ready). Results
// also go to bench/results/latest.json. The load generator is wrk when it is installed
// (`apt-get install wrk`), else autocannon (load.ts).
// Knobs (environment): BENCH_SECONDS (default 10; also each yardstick figure and the join
// benchmark's baselines), BENCH_KEYS (10000; also the yardsticks' keys), BENCH_CONNECTIONS (32),
// BENCH_STORAGE (memory,lmdb), BENCH_BASE_PORT (18000), BENCH_LOAD (wrk or autocannon),
// BENCH_ONLY (ops, yardsticks, join, memory, frozen, flood, sdk, cas, batch, scan or watch:
// run one part only). BENCH_YARDSTICKS (0 skips the yardsticks), BENCH_YARDSTICK_ROUNDS (2),
// BENCH_YARDSTICK_ETCD (0 leaves etcd out). BENCH_JOIN (0 skips the join benchmark),
// BENCH_JOIN_KEYS (1000000), BENCH_JOIN_OPEN_SHARE (0.3: the open loop's rate as a share of
// the closed-loop quorum-GET capacity), BENCH_JOIN_CLOSED (0 skips the closed-loop join of a
// fifth node), BENCH_JOIN_WRITE_SHARE (0.2: share of PUTs in the closed-loop load),
// BENCH_JOIN_TIMEOUT_S (600: bound on each ring change, and again on its cleanup),
// BENCH_JOIN_STANDBY (0: n4 joins as it starts, instead of starting on standby and joining
// by request). The nodes take their settings from RINGKV_* variables too, e.g.
// RINGKV_BACKGROUND_SHARE_MIN=0.3 for the floor of background work in a ring change.
// BENCH_MEMORY (0 skips memory per key), BENCH_MEMORY_KEYS (100000,1000000,3000000: the key
// counts loaded in turn), BENCH_MEMORY_SETTLE_S (10: pause after each load and restart before
// memory is read). BENCH_SECURE (1: also run LMDB with TLS, mutual TLS between peers and a
// token on every request, in the same run, so the cost of security is a ratio; 0 skips it),
// BENCH_FROZEN (0 skips the frozen-replica benchmark, frozen-bench.ts: quorum p99 with one
// replica SIGSTOPped beside healthy p99), BENCH_FROZEN_SECONDS (5: each of its four phases),
// BENCH_FROZEN_STORAGE (lmdb). BENCH_FLOOD (0 skips the flood benchmark, flood-bench.ts: a
// light client's GET p99 through a node flooded with 1 MiB PUTs), BENCH_FLOOD_PUTS (2000).
// BENCH_SDK (0 skips the SDK benchmark, sdk-bench.ts: the cluster client routing to a
// replica against a client fixed to one node, on 5 nodes). BENCH_CAS (0 skips the
// conditional-write benchmark, cas-bench.ts: PUT If-Match beside plain PUT at c=1 and c=32,
// own keys and one shared key; and etcd's compare-and-swap transaction where etcd is
// installed, BENCH_CAS_ETCD=0 leaves it out). BENCH_BATCH (0 skips the batch benchmark,
// batch-bench.ts: N single PUTs against the same in POST /batch of 100), BENCH_BATCH_PUTS (20000).
// BENCH_SCAN (0 skips the scan benchmark, scan-bench.ts: GET /cluster/keys paged to the end, then
// `ringkv backup` and `ringkv restore` into a fresh cluster, in keys/s and MB/s), BENCH_SCAN_KEYS (100000).
// BENCH_WATCH (0 skips the watch benchmark, watch-bench.ts: delivery latency from a write's 200 to
// its event on GET /watch, under writers at quorum on every node).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchTrusting } from '@ringkv/server';
import { startCluster, type BenchCluster, type Storage } from './cluster.js';
import { reportFrozen, runFrozenBench, type FrozenResult } from './frozen-bench.js';
import { reportFlood, runFloodBench, type FloodResult } from './flood-bench.js';
import { reportSdk, runSdkBench, type SdkResult } from './sdk-bench.js';
import { reportCas, runCasBench, type CasResult } from './cas-bench.js';
import { reportBatch, runBatchBench, type BatchResult } from './batch-bench.js';
import { reportScan, runScanBench, type ScanResult } from './scan-bench.js';
import { reportWatch, runWatchBench, type WatchResult } from './watch-bench.js';
import { reportJoin, runJoinBench, type JoinResult } from './join-bench.js';
import { reportMemory, runMemoryBench, type MemoryResult } from './memory-bench.js';
import { reportYardsticks, runYardstickBench, type YardstickResult } from './yardstick-bench.js';
import { loadGenerator, runLoad, valueBody } from './load.js';

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const keyCount = Number(process.env.BENCH_KEYS ?? 10_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const storages = (process.env.BENCH_STORAGE ?? 'memory,lmdb').split(',') as Storage[];
const basePort = Number(process.env.BENCH_BASE_PORT ?? 18_000);
const only = process.env.BENCH_ONLY;
const runSecure = process.env.BENCH_SECURE !== '0';
const runOps = only === undefined || only === 'ops';
const runJoin = only === 'join' || (only === undefined && process.env.BENCH_JOIN !== '0');
const joinKeys = Number(process.env.BENCH_JOIN_KEYS ?? 1_000_000);
const joinWriteShare = Number(process.env.BENCH_JOIN_WRITE_SHARE ?? 0.2);
const joinTimeoutMs = Number(process.env.BENCH_JOIN_TIMEOUT_S ?? 600) * 1000;
const joinOpenShare = Number(process.env.BENCH_JOIN_OPEN_SHARE ?? 0.3);
const joinStandby = process.env.BENCH_JOIN_STANDBY !== '0';
const joinClosedLoop = process.env.BENCH_JOIN_CLOSED !== '0';
const runFrozen = only === 'frozen' || (only === undefined && process.env.BENCH_FROZEN !== '0');
const frozenSeconds = Number(process.env.BENCH_FROZEN_SECONDS ?? 5);
const frozenStorage = (process.env.BENCH_FROZEN_STORAGE ?? 'lmdb') as Storage;
const runFlood = only === 'flood' || (only === undefined && process.env.BENCH_FLOOD !== '0');
const floodPuts = Number(process.env.BENCH_FLOOD_PUTS ?? 2000);
const runSdk = only === 'sdk' || (only === undefined && process.env.BENCH_SDK !== '0');
const runCas = only === 'cas' || (only === undefined && process.env.BENCH_CAS !== '0');
const runBatch = only === 'batch' || (only === undefined && process.env.BENCH_BATCH !== '0');
const batchPuts = Number(process.env.BENCH_BATCH_PUTS ?? 20_000);
const runScan = only === 'scan' || (only === undefined && process.env.BENCH_SCAN !== '0');
const scanKeys = Number(process.env.BENCH_SCAN_KEYS ?? 100_000);
const runWatch = only === 'watch' || (only === undefined && process.env.BENCH_WATCH !== '0');
const runYardsticks = only === 'yardsticks' || (only === undefined && process.env.BENCH_YARDSTICKS !== '0');
const yardstickRounds = Number(process.env.BENCH_YARDSTICK_ROUNDS ?? 2);
const runMemory = only === 'memory' || (only === undefined && process.env.BENCH_MEMORY !== '0');
const memoryKeyCounts = (process.env.BENCH_MEMORY_KEYS ?? '100000,1000000,3000000').split(',').map(Number);
const memorySettleSeconds = Number(process.env.BENCH_MEMORY_SETTLE_S ?? 10);
const benchParts = ['ops', 'yardsticks', 'join', 'memory', 'frozen', 'flood', 'sdk', 'cas', 'batch', 'scan', 'watch'];
if (only !== undefined && !benchParts.includes(only)) throw new Error(`BENCH_ONLY must be one of ${benchParts.join(', ')}, not ${only}`);
if (runYardsticks && !(Number.isInteger(yardstickRounds) && yardstickRounds >= 1 && yardstickRounds <= 10)) throw new Error(`BENCH_YARDSTICK_ROUNDS must be a whole number 1..10, not ${process.env.BENCH_YARDSTICK_ROUNDS}`);
if (runMemory && !memoryKeyCounts.every((count, i) => Number.isInteger(count) && count >= 1000 && count > (memoryKeyCounts[i - 1] ?? 0))) {
  throw new Error(`BENCH_MEMORY_KEYS must be increasing whole numbers of at least 1000, comma-separated, not ${process.env.BENCH_MEMORY_KEYS}`);
}
if (runMemory && !(memorySettleSeconds >= 0 && memorySettleSeconds <= 300)) throw new Error(`BENCH_MEMORY_SETTLE_S must be 0..300, not ${process.env.BENCH_MEMORY_SETTLE_S}`);
if (runScan && !(Number.isInteger(scanKeys) && scanKeys >= 1)) throw new Error(`BENCH_SCAN_KEYS must be a whole number of at least 1, not ${process.env.BENCH_SCAN_KEYS}`);
if (runBatch && !(Number.isInteger(batchPuts) && batchPuts >= 100)) throw new Error(`BENCH_BATCH_PUTS must be a whole number of at least 100, not ${process.env.BENCH_BATCH_PUTS}`);
if (runFlood && !(Number.isInteger(floodPuts) && floodPuts >= 32)) throw new Error(`BENCH_FLOOD_PUTS must be a whole number of at least 32, not ${process.env.BENCH_FLOOD_PUTS}`);
if (runFrozen && !(frozenSeconds >= 3 && frozenSeconds <= 120)) throw new Error(`BENCH_FROZEN_SECONDS must be 3..120, not ${process.env.BENCH_FROZEN_SECONDS}`);
if (runJoin && !(joinOpenShare > 0 && joinOpenShare <= 1)) throw new Error(`BENCH_JOIN_OPEN_SHARE must be a share of capacity in (0, 1], not ${process.env.BENCH_JOIN_OPEN_SHARE}`);
if (runJoin && !(Number.isInteger(joinKeys) && joinKeys >= 100)) throw new Error(`BENCH_JOIN_KEYS must be a whole number of at least 100, not ${process.env.BENCH_JOIN_KEYS}`);

interface Measurement {
  storage: string;
  operation: 'PUT' | 'GET' | 'GET r=one';
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

async function main(): Promise<void> {
  const results: Measurement[] = [];
  if (runOps) {
    const variants = [...storages.map((storage) => ({ storage, secure: false })), ...(runSecure ? [{ storage: 'lmdb' as Storage, secure: true }] : [])];
    for (const [index, variant] of variants.entries()) {
      // Ports of its own for each cluster: the one before may still be releasing its ports.
      const cluster = await startCluster(variant.storage, basePort + 20 * index, variant.secure);
      const label = variant.secure ? `${variant.storage}, TLS + token` : variant.storage;
      try {
        await prefill(cluster);
        for (const operation of ['PUT', 'GET', 'GET r=one'] as const) results.push(await measure(label, operation, cluster));
      } finally {
        await cluster.stop();
      }
    }
  }
  // Ports of its own, clear of the clusters below (etcd, when installed, takes the six after the three nodes').
  const yardstickResult: YardstickResult | null = runYardsticks
    ? await runYardstickBench({ basePort: basePort + 260, seconds, rounds: yardstickRounds, keyCount, etcd: process.env.BENCH_YARDSTICK_ETCD !== '0' })
    : null;
  let joinResult: JoinResult | null = null;
  if (runJoin) {
    // Ports of its own: a node of the cluster above may still be releasing its port.
    joinResult = await runJoinBench({
      basePort: basePort + 10,
      keyCount: joinKeys,
      connections,
      seconds,
      writeShare: joinWriteShare,
      timeoutMs: joinTimeoutMs,
      openShare: joinOpenShare,
      closedLoop: joinClosedLoop,
      standby: joinStandby,
    });
  }
  // Ports of its own, clear of the clusters above.
  const memoryResult: MemoryResult | null = runMemory ? await runMemoryBench({ basePort: basePort + 280, keyCounts: memoryKeyCounts, settleSeconds: memorySettleSeconds }) : null;
  let frozenResult: FrozenResult | null = null;
  if (runFrozen) {
    // Ports of its own, clear of the clusters above.
    frozenResult = await runFrozenBench({ basePort: basePort + 120, storage: frozenStorage, keyCount, connections, seconds: frozenSeconds });
  }
  // Ports of its own, clear of the clusters above.
  const floodResult: FloodResult | null = runFlood ? await runFloodBench({ basePort: basePort + 140, seconds: Math.min(seconds, 5), puts: floodPuts, connections }) : null;
  // Ports of its own, clear of the clusters above.
  const sdkResult: SdkResult | null = runSdk ? await runSdkBench({ basePort: basePort + 160, keyCount: Math.min(keyCount, 2000), connections, seconds: Math.min(seconds, 5) }) : null;
  // Ports of its own, clear of the clusters above (etcd, when installed, takes the next six).
  const casResult: CasResult | null = runCas ? await runCasBench({ basePort: basePort + 180, seconds: Math.min(seconds, 5), etcd: process.env.BENCH_CAS_ETCD !== '0' }) : null;
  // Ports of its own, clear of the clusters above.
  const batchResult: BatchResult | null = runBatch ? await runBatchBench({ basePort: basePort + 200, storage: 'memory', puts: batchPuts, opsPerBatch: 100, connections }) : null;
  // Ports of its own, clear of the clusters above (its second, fresh cluster takes basePort + 230).
  const scanResult: ScanResult | null = runScan ? await runScanBench({ basePort: basePort + 220, keys: scanKeys, stepTimeoutMs: 600_000 }) : null;
  // Ports of its own, clear of the clusters above.
  const watchResult: WatchResult | null = runWatch ? await runWatchBench({ basePort: basePort + 240, connections: Math.min(connections, 16), seconds: Math.min(seconds, 5) }) : null;
  report(results, yardstickResult, joinResult, memoryResult, frozenResult, floodResult, sdkResult, casResult, batchResult, scanResult, watchResult);
}

async function prefill(cluster: BenchCluster): Promise<void> {
  const { urls, credentials } = cluster;
  const send = fetchTrusting(credentials?.caPem);
  const headers = { 'content-type': 'application/json', ...(credentials ? { authorization: `Bearer ${credentials.token}` } : {}) };
  let next = 0;
  const worker = async () => {
    while (next < keyCount) {
      const i = next++;
      const response = await send(`${urls[i % urls.length]}/store/key${i}`, { method: 'PUT', headers, body: valueBody });
      if (!response.ok) throw new Error(`prefill failed: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

async function measure(storage: string, operation: Measurement['operation'], cluster: BenchCluster): Promise<Measurement> {
  const result = await runLoad({ urls: cluster.urls, operation, keyCount, connections, seconds, ...(cluster.credentials ? { credentials: cluster.credentials } : {}) });
  const measurement = { storage, operation, requestsPerSecond: result.requestsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors: result.errors, non2xx: result.non2xx };
  process.stdout.write(`${storage} ${operation}: ${measurement.requestsPerSecond} req/s, p50 ${measurement.p50Ms} ms, p99 ${measurement.p99Ms} ms\n`);
  return measurement;
}

function report(
  results: Measurement[],
  yardstickResult: YardstickResult | null,
  joinResult: JoinResult | null,
  memoryResult: MemoryResult | null,
  frozenResult: FrozenResult | null,
  floodResult: FloodResult | null,
  sdkResult: SdkResult | null,
  casResult: CasResult | null,
  batchResult: BatchResult | null,
  scanResult: ScanResult | null,
  watchResult: WatchResult | null,
): void {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const lines = ['', `Machine: ${machine}, load from ${loadGenerator}`];
  if (results.length > 0) {
    lines.push(
      '',
      `ringkv benchmark: 3 nodes on one machine, N=3, quorum writes and reads (and reads at r=one), ${connections} connections`,
      `spread over the nodes, ${keyCount} keys, 100-byte values, ${seconds} s per operation.`,
      '',
      '| storage | operation | requests/s | p50 ms | p99 ms | errors |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      ...results.map((r) => `| ${r.storage} | ${r.operation} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors + r.non2xx} |`),
    );
  }
  if (yardstickResult !== null) lines.push(...reportYardsticks(yardstickResult));
  if (joinResult !== null) lines.push(...reportJoin(joinResult));
  if (memoryResult !== null) lines.push(...reportMemory(memoryResult));
  if (frozenResult !== null) lines.push(...reportFrozen(frozenResult));
  if (floodResult !== null) lines.push(...reportFlood(floodResult));
  if (sdkResult !== null) lines.push(...reportSdk(sdkResult));
  if (casResult !== null) lines.push(...reportCas(casResult));
  if (batchResult !== null) lines.push(...reportBatch(batchResult));
  if (scanResult !== null) lines.push(...reportScan(scanResult));
  if (watchResult !== null) lines.push(...reportWatch(watchResult));
  lines.push('');
  process.stdout.write(lines.join('\n'));
  const resultsDir = join(here, '..', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, loadGenerator, seconds, keyCount, connections, results, yardsticks: yardstickResult, join: joinResult, memory: memoryResult, frozen: frozenResult, flood: floodResult, sdk: sdkResult, cas: casResult, batch: batchResult, scan: scanResult, watch: watchResult }, null, 2)}\n`,
  );
  process.stdout.write(`results written to bench/results/latest.json\n`);
}

await main();
