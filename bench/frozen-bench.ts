// The frozen-replica benchmark (issue 13, "Slow or frozen replicas don't stall requests"):
// quorum GETs, then quorum PUTs, through the two healthy coordinators of a fresh 3-node
// cluster, first with every node running, then with the third node frozen by SIGSTOP (a
// long GC pause, a starved VM) from the first moment of the load. Reports p50/p99 and
// requests/s of both phases side by side, the slowest full second of the frozen phase as a
// share of the healthy rate (the target: above 80% from the first second), and how many
// reads the coordinators sent to a further replica (rapid read protection).
import { benchClient, sleep, startCluster, waitForStableRing, type BenchCluster, type BenchNode, type Storage } from './cluster.js';
import { bulkLoad, startLoad, type LoadResult } from './load.js';

export interface FrozenBenchOptions {
  basePort: number;
  storage: Storage;
  keyCount: number;
  connections: number;
  /** Length of each phase (healthy, frozen) of each operation. */
  seconds: number;
}

export interface FrozenRow {
  operation: 'GET' | 'PUT';
  phase: 'healthy' | 'one replica frozen';
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Frozen phase: the slowest full second's requests as a share of the healthy rate. */
  slowestSecondShare?: number;
}

export interface FrozenResult {
  storage: Storage;
  seconds: number;
  connections: number;
  rows: FrozenRow[];
  speculativeReads: number;
}

/** Bounds: prefill, and the cluster settling again after a thaw. */
const prefillTimeoutMs = 120_000;
const resettleTimeoutMs = 60_000;

export async function runFrozenBench(options: FrozenBenchOptions): Promise<FrozenResult> {
  const cluster = await startCluster(options.storage, options.basePort);
  const [n1, n2, n3] = cluster.nodes as [BenchNode, BenchNode, BenchNode];
  try {
    const prefill = await bulkLoad(cluster.urls, options.keyCount, prefillTimeoutMs);
    if (prefill.errors > 0) throw new Error(`frozen bench: ${prefill.errors} prefill writes failed`);
    const rows: FrozenRow[] = [];
    for (const operation of ['GET', 'PUT'] as const) {
      const healthy = await measure(options, [n1.url, n2.url], operation);
      rows.push(rowOf(operation, 'healthy', healthy));
      const frozen = await measure(options, [n1.url, n2.url], operation, () => n3.child.kill('SIGSTOP'));
      n3.child.kill('SIGCONT');
      rows.push({ ...rowOf(operation, 'one replica frozen', frozen), slowestSecondShare: slowestSecondShare(frozen, healthy.requestsPerSecond) });
      process.stdout.write(`frozen replica ${operation}: healthy p99 ${healthy.p99Ms} ms (${healthy.requestsPerSecond}/s), frozen p99 ${frozen.p99Ms} ms (${frozen.requestsPerSecond}/s)\n`);
      await waitForStableRing(cluster, resettleTimeoutMs);
    }
    return { storage: options.storage, seconds: options.seconds, connections: options.connections, rows, speculativeReads: await speculativeReads(cluster, [n1, n2]) };
  } finally {
    n3.child.kill('SIGCONT');
    await cluster.stop();
  }
}

/** One load of `seconds`; `atStart` runs as it begins (the freeze). */
async function measure(options: FrozenBenchOptions, urls: string[], operation: 'GET' | 'PUT', atStart?: () => void): Promise<LoadResult> {
  const load = startLoad({ urls, operation, keyCount: options.keyCount, connections: options.connections, seconds: options.seconds + 1 });
  atStart?.();
  await sleep(options.seconds * 1000);
  return load.stop();
}

function rowOf(operation: FrozenRow['operation'], phase: FrozenRow['phase'], result: LoadResult): FrozenRow {
  return { operation, phase, requestsPerSecond: result.requestsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors: result.errors + result.non2xx };
}

/** The first and last seconds of the series are partial: only the full ones between count. */
function slowestSecondShare(result: LoadResult, healthyPerSecond: number): number | undefined {
  const full = result.perSecond.slice(1, -1);
  if (full.length === 0 || healthyPerSecond === 0) return undefined;
  return Math.round((Math.min(...full.map((point) => point.requests)) / healthyPerSecond) * 100) / 100;
}

async function speculativeReads(cluster: BenchCluster, nodes: BenchNode[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const text = await benchClient(cluster, node.url).metrics();
    const line = text.split('\n').find((row) => row.startsWith('ringkv_speculative_reads_total'));
    total += Number(line?.split(' ').at(-1) ?? 0);
  }
  return total;
}

export function reportFrozen(result: FrozenResult): string[] {
  const share = (row: FrozenRow) => (row.slowestSecondShare === undefined ? '' : `${Math.round(row.slowestSecondShare * 100)}%`);
  return [
    '',
    `Frozen replica: 3 nodes (${result.storage}), N=3, quorum GETs then PUTs through the two healthy coordinators, ${result.connections} connections,`,
    `${result.seconds} s healthy, then ${result.seconds} s with the third node stopped (SIGSTOP) from the first moment; ${result.speculativeReads} speculative reads.`,
    '',
    '| operation | phase | requests/s | p50 ms | p99 ms | slowest second vs healthy | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...result.rows.map((row) => `| ${row.operation} | ${row.phase} | ${row.requestsPerSecond} | ${row.p50Ms} | ${row.p99Ms} | ${share(row)} | ${row.errors} |`),
  ];
}
