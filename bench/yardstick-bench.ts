// ringkv beside its yardsticks, in one run (issue 14, "Targets"): a 3-node LMDB cluster, the
// naive 3-process fan-out (fanout-node.ts) and, where the binary is installed, a 3-member
// etcd (started as cas-bench.ts starts it), all running at once and driven by the same wrk
// load (kv.lua: c=33, one wrk thread per node, random keys over `keyCount` keys of 100 bytes
// written first). The measurements of the systems alternate within each round (ringkv PUT,
// fan-out PUT, etcd put, ...), each after a short unmeasured warm-up, and each figure is the
// median of the rounds, so a noisy stretch of the shared machine hits all systems alike. The
// ratios the issue sets targets for are printed with their target and whether they pass.
import { benchTarget, type BenchTarget } from './bench-target.js';
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit, startCluster, stopChild, type BenchCluster } from './cluster.js';
import { base64, etcdCall, startEtcd, type EtcdCluster } from './cas-bench.js';
import { bulkLoad, round, runLoad, type LoadApi, type Operation } from './load.js';

const here = dirname(fileURLToPath(import.meta.url));
const spreadConnections = 33;
const warmUpSeconds = 2;
const startTimeoutMs = 10_000;

export interface YardstickBenchOptions {
  basePort: number;
  seconds: number;
  rounds: number;
  keyCount: number;
  /** Also drive etcd when its binary is installed. */
  etcd: boolean;
}

export type YardstickSystem = 'ringkv' | 'fan-out' | 'etcd';

export interface YardstickRow {
  system: YardstickSystem;
  operation: string;
  connections: number;
  /** Medians over the rounds. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Requests/s of each round, to show the spread. */
  rounds: number[];
}

export type YardstickTarget = BenchTarget;

export interface YardstickResult {
  seconds: number;
  rounds: number;
  keyCount: number;
  rows: YardstickRow[];
  targets: YardstickTarget[];
  /** Why etcd was not measured, when it was not. */
  etcdSkipped?: string;
}

interface Measurement {
  system: YardstickSystem;
  operation: string;
  load: Operation;
  api: LoadApi;
  connections: number;
  /** Only the first node, for the one-connection latency. */
  firstNodeOnly?: boolean;
}

/** In the order they run within a round: each ringkv figure next to the yardstick it is judged by. */
const measurements: Measurement[] = [
  { system: 'ringkv', operation: 'PUT w=quorum', load: 'PUT', api: 'ringkv', connections: spreadConnections },
  { system: 'fan-out', operation: 'PUT (W=2)', load: 'PUT', api: 'fan-out', connections: spreadConnections },
  { system: 'etcd', operation: 'put', load: 'PUT', api: 'etcd', connections: spreadConnections },
  { system: 'ringkv', operation: 'GET r=quorum', load: 'GET', api: 'ringkv', connections: spreadConnections },
  { system: 'etcd', operation: 'range (linearizable)', load: 'GET', api: 'etcd', connections: spreadConnections },
  { system: 'ringkv', operation: 'GET r=one', load: 'GET r=one', api: 'ringkv', connections: spreadConnections },
  { system: 'fan-out', operation: 'GET (local)', load: 'GET', api: 'fan-out', connections: spreadConnections },
  { system: 'ringkv', operation: 'PUT w=quorum, one connection', load: 'PUT', api: 'ringkv', connections: 1, firstNodeOnly: true },
  // The same four hops in sequence (client, coordinator, a replica and back) with nothing
  // stored but a Map: the floor this machine's sockets and wake-ups set under the target.
  { system: 'fan-out', operation: 'PUT (W=2), one connection', load: 'PUT', api: 'fan-out', connections: 1, firstNodeOnly: true },
  { system: 'etcd', operation: 'put, one connection', load: 'PUT', api: 'etcd', connections: 1, firstNodeOnly: true },
];

export async function runYardstickBench(options: YardstickBenchOptions): Promise<YardstickResult> {
  const say = (line: string) => process.stdout.write(`yardsticks: ${line}\n`);
  const stops: Array<() => Promise<void>> = [];
  try {
    const ringkv: BenchCluster = await startCluster('lmdb', options.basePort);
    stops.push(() => ringkv.stop());
    const fanOut = await startFanOut();
    stops.push(() => fanOut.stop());
    let etcdSkipped: string | undefined = options.etcd ? undefined : 'BENCH_YARDSTICK_ETCD=0';
    let etcd: EtcdCluster | undefined;
    if (options.etcd) {
      const started = await startEtcd(options.basePort + 3).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
      if (typeof started === 'string') etcdSkipped = started;
      else {
        etcd = started;
        stops.push(() => started.stop());
      }
    }
    if (etcdSkipped !== undefined) say(`etcd not measured: ${etcdSkipped}`);
    const urlsOf: Record<YardstickSystem, string[] | undefined> = { ringkv: ringkv.urls, 'fan-out': fanOut.urls, etcd: etcd?.urls };
    const loadTimeoutMs = 60_000 + options.keyCount * 2;
    for (const [system, urls] of [['ringkv', ringkv.urls], ['fan-out', fanOut.urls]] as const) {
      const loaded = await bulkLoad(urls, options.keyCount, loadTimeoutMs, 0, 'quorum');
      if (loaded.errors > 0) throw new Error(`yardsticks: ${loaded.errors} writes failed filling ${system}`);
    }
    if (etcd !== undefined) await fillEtcd(etcd.urls, options.keyCount);
    say(`${options.keyCount} keys written to every system; ${options.rounds} round(s) of ${options.seconds} s per figure`);

    const runs = new Map<Measurement, Array<{ requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number }>>();
    for (let round = 1; round <= options.rounds; round++) {
      for (const measurement of measurements) {
        const all = urlsOf[measurement.system];
        if (all === undefined) continue;
        const urls = measurement.firstNodeOnly === true ? all.slice(0, 1) : all;
        const spec = { urls, operation: measurement.load, api: measurement.api, keyCount: options.keyCount, connections: measurement.connections };
        await runLoad({ ...spec, seconds: warmUpSeconds });
        const result = await runLoad({ ...spec, seconds: options.seconds });
        const errors = result.errors + result.non2xx;
        say(`round ${round}: ${measurement.system} ${measurement.operation} c=${measurement.connections}: ${result.requestsPerSecond} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${errors > 0 ? `, ${errors} errors` : ''}`);
        runs.set(measurement, [...(runs.get(measurement) ?? []), { requestsPerSecond: result.requestsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors }]);
      }
    }
    const rows: YardstickRow[] = [...runs.entries()].map(([measurement, results]) => ({
      system: measurement.system,
      operation: measurement.operation,
      connections: measurement.connections,
      requestsPerSecond: Math.round(median(results.map((r) => r.requestsPerSecond))),
      p50Ms: round(median(results.map((r) => r.p50Ms))),
      p99Ms: round(median(results.map((r) => r.p99Ms))),
      errors: results.reduce((sum, r) => sum + r.errors, 0),
      rounds: results.map((r) => r.requestsPerSecond),
    }));
    return { seconds: options.seconds, rounds: options.rounds, keyCount: options.keyCount, rows, targets: judge(rows), ...(etcdSkipped === undefined ? {} : { etcdSkipped }) };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

function rowOf(rows: readonly YardstickRow[], system: YardstickSystem, operation: string): YardstickRow | undefined {
  return rows.find((row) => row.system === system && row.operation === operation);
}

/** The issue's targets, as ratios of the medians (null where a side was not measured). */
function judge(rows: YardstickRow[]): YardstickTarget[] {
  const rate = (system: YardstickSystem, operation: string) => rowOf(rows, system, operation)?.requestsPerSecond;
  const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? null : round(a / b));
  const oneConnection = rowOf(rows, 'ringkv', 'PUT w=quorum, one connection');
  return [
    benchTarget('ringkv GET r=one / fan-out local GET', ratio(rate('ringkv', 'GET r=one'), rate('fan-out', 'GET (local)')), 'min', 0.8, 'x'),
    benchTarget('ringkv quorum PUT / fan-out PUT', ratio(rate('ringkv', 'PUT w=quorum'), rate('fan-out', 'PUT (W=2)')), 'min', 1.5, 'x'),
    benchTarget('ringkv quorum PUT / etcd put', ratio(rate('ringkv', 'PUT w=quorum'), rate('etcd', 'put')), 'min', 4, 'x'),
    benchTarget('ringkv quorum GET / etcd range', ratio(rate('ringkv', 'GET r=quorum'), rate('etcd', 'range (linearizable)')), 'min', 4, 'x'),
    benchTarget('ringkv one-connection PUT p50', oneConnection?.p50Ms ?? null, 'max', 0.3, 'ms'),
  ];
}

/** Three fan-out nodes on free ports, each told the other two. */
async function startFanOut(): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const children: ChildProcess[] = [0, 1, 2].map(() => fork(join(here, 'fanout-node.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  for (const child of children) killOnExit(child);
  const stop = () => Promise.all(children.map((child) => stopChild(child, 5000))).then(() => undefined);
  try {
    const ports = await Promise.all(children.map((child) => nextMessage<{ port: number }>(child, 'port')));
    await Promise.all(
      children.map((child, i) => {
        const ready = nextMessage(child, 'ready');
        child.send({ peerPorts: ports.filter((_, j) => j !== i).map((message) => message.port) });
        return ready;
      }),
    );
    const urls = ports.map((message) => `http://127.0.0.1:${message.port}`);
    process.stdout.write(`fan-out up, ${urls.join(' ')}\n`);
    return { urls, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function nextMessage<T>(child: ChildProcess, field: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a fan-out node sent no ${field} within ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    const onMessage = (message: Record<string, unknown>) => {
      if (!(field in message)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.once('exit', (code, signal) => reject(new Error(`a fan-out node exited (${signal ?? `code ${code}`})`)));
  });
}


/** key0 .. key(keyCount-1) with the load's 100-byte value, 32 writes in flight, round-robin over the members. */
async function fillEtcd(urls: string[], keyCount: number): Promise<void> {
  const value = base64('v'.repeat(100));
  let next = 0;
  const writer = async () => {
    while (next < keyCount) {
      const i = next++;
      await etcdCall(urls[i % urls.length] as string, 'kv/put', { key: base64(`key${i}`), value });
    }
  };
  await Promise.all(Array.from({ length: 32 }, writer));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The fan-out's one-connection PUT beside ringkv's: the same hops, with nothing stored. */
function oneConnectionFloor(rows: readonly YardstickRow[]): string[] {
  const ringkv = rowOf(rows, 'ringkv', 'PUT w=quorum, one connection')?.p50Ms;
  const fanOut = rowOf(rows, 'fan-out', 'PUT (W=2), one connection')?.p50Ms;
  if (ringkv === undefined || fanOut === undefined) return [];
  return [`One connection: the fan-out's PUT, the same four hops with a Map for storage, took p50 ${fanOut} ms; ringkv's ${ringkv} ms (${round(ringkv - fanOut)} ms more).`];
}

export function reportYardsticks(result: YardstickResult): string[] {
  const shown = (target: YardstickTarget) => (target.value === null ? '-' : target.unit === 'ms' ? `${target.value} ms` : `${target.value.toFixed(2)}x`);
  const limit = (target: YardstickTarget) => `${target.bound === 'min' ? '≥' : '≤'} ${target.target}${target.unit === 'ms' ? ' ms' : 'x'}`;
  return [
    '',
    `ringkv beside its yardsticks, one run: 3 LMDB nodes (N=3), the naive 3-process fan-out (every PUT on all 3, answered at W=2; GET local) and 3 etcd members,`,
    `all driven by wrk at c=${spreadConnections} spread over the 3 nodes (one connection to node 1 for the latency), ${result.keyCount} keys of 100 bytes,`,
    `${result.seconds} s per figure after a ${warmUpSeconds} s warm-up, medians of ${result.rounds} round(s) that alternate the systems.`,
    '',
    '| system | operation | connections | requests/s | p50 ms | p99 ms | errors | requests/s per round |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...result.rows.map((r) => `| ${r.system} | ${r.operation} | ${r.connections} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} | ${r.rounds.join(', ')} |`),
    '',
    '| figure | measured | target | |',
    '| --- | ---: | ---: | --- |',
    ...result.targets.map((t) => `| ${t.figure} | ${shown(t)} | ${limit(t)} | ${t.pass === null ? 'not measured' : t.pass ? 'pass' : 'MISS'} |`),
    ...oneConnectionFloor(result.rows),
    ...(result.etcdSkipped === undefined ? [] : [`etcd not measured: ${result.etcdSkipped}.`]),
  ];
}
