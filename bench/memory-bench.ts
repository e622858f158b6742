// Memory per key (issue 14, "Targets"): a fresh 3-node LMDB cluster (N=3, so every node holds
// every key) is bulk-loaded to each key count in turn (100 k, 1 M, 3 M keys of 100 bytes by
// default: each step writes only the keys it adds). After each step, once the replicas hold
// every key and a settle period has passed, each node's RssAnon (heap and other private
// memory, not LMDB's mapped file) and RSS are read from /proc/PID/status; then n1 is
// restarted (SIGTERM, then the same command on the same data directory) and the time from
// its start to GET /health answering 200 is measured, with its memory at that moment and
// again after the settle period. Memory is also sampled every second during each load, for
// the peak.
import { readFileSync } from 'node:fs';
import { sleep, startCluster, type BenchCluster, type BenchNode } from './cluster.js';
import { waitForKeyCount } from './join-bench.js';
import { bulkLoad, round } from './load.js';

export interface MemoryBenchOptions {
  basePort: number;
  /** Key counts to load to, in increasing order. */
  keyCounts: number[];
  /** Pause after a load, and after a restart, before memory is read as steady. */
  settleSeconds: number;
}

export interface ProcessMemory {
  rssAnonBytes: number;
  rssBytes: number;
}

export interface MemoryPoint {
  keys: number;
  loadSeconds: number;
  keysPerSecond: number;
  loadErrors: number;
  /** The highest RssAnon and RSS of any node, sampled each second during the load. */
  peakDuringLoad: ProcessMemory;
  /** Each node after the load and the settle period. */
  steady: Record<string, ProcessMemory>;
  /** The highest steady RssAnon of the nodes, per key; and RSS likewise. */
  anonBytesPerKey: number;
  rssBytesPerKey: number;
  /** Steady RssAnon added per key added since the previous count (the first: since the empty cluster). */
  anonBytesPerAddedKey: number;
  restart: {
    node: string;
    /** From spawning the process to GET /health answering 200. */
    readySeconds: number;
    atReady: ProcessMemory;
    settled: ProcessMemory;
    /** The highest RssAnon and RSS sampled each second from ready to settled (work after start, such as rebuilding state, may peak in between). */
    peakAfterReady: ProcessMemory;
  };
}

export interface MemoryTarget {
  figure: string;
  value: number | null;
  target: number;
  unit: string;
  pass: boolean | null;
}

export interface MemoryResult {
  settleSeconds: number;
  valueBytes: number;
  /** Each node's memory on the empty cluster, after the settle period. */
  empty: Record<string, ProcessMemory>;
  points: MemoryPoint[];
  targets: MemoryTarget[];
}

const replicas = 3;
const restartTimeoutMs = 120_000;
const healthPollMs = 20;
const megabyte = 1024 * 1024;
/** The targets are set for this count (issue 14). */
const judgedKeys = 1_000_000;

export async function runMemoryBench(options: MemoryBenchOptions): Promise<MemoryResult> {
  const cluster = await startCluster('lmdb', options.basePort);
  const say = (line: string) => process.stdout.write(`memory: ${line}\n`);
  try {
    await sleep(options.settleSeconds * 1000);
    const empty = memoryOfNodes(cluster.nodes);
    say(`empty cluster: ${describe(empty)}`);
    const points: MemoryPoint[] = [];
    let loaded = 0;
    let previousAnon = Math.max(...Object.values(empty).map((memory) => memory.rssAnonBytes));
    for (const keys of options.keyCounts) {
      const point = await measureCount(cluster, loaded, keys, previousAnon, options.settleSeconds, say);
      points.push(point);
      loaded = keys;
      previousAnon = Math.max(...Object.values(point.steady).map((memory) => memory.rssAnonBytes));
    }
    return { settleSeconds: options.settleSeconds, valueBytes: 100, empty, points, targets: judge(points) };
  } finally {
    await cluster.stop();
  }
}

async function measureCount(cluster: BenchCluster, from: number, keys: number, previousAnon: number, settleSeconds: number, say: (line: string) => void): Promise<MemoryPoint> {
  say(`loading keys ${from} .. ${keys - 1}...`);
  const peak: ProcessMemory = { rssAnonBytes: 0, rssBytes: 0 };
  const sampler = setInterval(() => {
    for (const memory of Object.values(memoryOfNodes(cluster.nodes))) {
      peak.rssAnonBytes = Math.max(peak.rssAnonBytes, memory.rssAnonBytes);
      peak.rssBytes = Math.max(peak.rssBytes, memory.rssBytes);
    }
  }, 1000);
  let load: Awaited<ReturnType<typeof bulkLoad>>;
  try {
    // Bound: fails if slower than 500 writes/s, far below what a cluster that works does.
    load = await bulkLoad(cluster.urls, keys, 60_000 + (keys - from) * 2, from);
    const stored = await waitForKeyCount(cluster.urls, replicas * keys, 60_000);
    if (stored.sum !== replicas * keys) say(`the nodes hold ${stored.sum} records, not ${replicas * keys}`);
  } finally {
    clearInterval(sampler);
  }
  say(`loaded ${keys - from} keys in ${load.seconds} s (${load.keysPerSecond} keys/s, ${load.errors} failed)`);
  await sleep(settleSeconds * 1000);
  const steady = memoryOfNodes(cluster.nodes);
  say(`${keys} keys, steady: ${describe(steady)}`);
  const highest = (pick: (memory: ProcessMemory) => number) => Math.max(...Object.values(steady).map(pick));

  const node = await cluster.restartNode('n1');
  const readySeconds = await waitReady(node);
  const atReady = memoryOf(node);
  const peakAfterReady = { ...atReady };
  for (let second = 0; second < settleSeconds; second++) {
    await sleep(1000);
    const memory = memoryOf(node);
    peakAfterReady.rssAnonBytes = Math.max(peakAfterReady.rssAnonBytes, memory.rssAnonBytes);
    peakAfterReady.rssBytes = Math.max(peakAfterReady.rssBytes, memory.rssBytes);
  }
  const settled = memoryOf(node);
  say(`${keys} keys: n1 restarted, ready in ${readySeconds} s; RssAnon ${mb(atReady.rssAnonBytes)} MB at ready, ${mb(settled.rssAnonBytes)} MB after ${settleSeconds} s`);
  return {
    keys,
    loadSeconds: load.seconds,
    keysPerSecond: load.keysPerSecond,
    loadErrors: load.errors,
    peakDuringLoad: peak,
    steady,
    anonBytesPerKey: Math.round(highest((memory) => memory.rssAnonBytes) / keys),
    rssBytesPerKey: Math.round(highest((memory) => memory.rssBytes) / keys),
    anonBytesPerAddedKey: Math.round((highest((memory) => memory.rssAnonBytes) - previousAnon) / (keys - from)),
    restart: { node: node.id, readySeconds, atReady, settled, peakAfterReady },
  };
}

/** Seconds from the node's spawn until GET /health answers 200, polled every 20 ms. */
async function waitReady(node: BenchNode): Promise<number> {
  const spawnedMs = Date.now();
  for (;;) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) throw new Error(`${node.id} exited while starting (${node.child.signalCode ?? `code ${node.child.exitCode}`})`);
    const status = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(2000) }).then(
      async (response) => {
        await response.arrayBuffer();
        return response.status;
      },
      () => 0,
    );
    if (status === 200) return round((Date.now() - spawnedMs) / 1000);
    if (Date.now() - spawnedMs > restartTimeoutMs) throw new Error(`${node.id} was not ready within ${restartTimeoutMs / 1000} s of its restart (last /health answer: ${status || 'none'})`);
    await sleep(healthPollMs);
  }
}

function memoryOfNodes(nodes: BenchNode[]): Record<string, ProcessMemory> {
  return Object.fromEntries(nodes.map((node) => [node.id, memoryOf(node)]));
}

/** RssAnon and VmRSS from /proc/PID/status (Linux; in kB there). */
function memoryOf(node: BenchNode): ProcessMemory {
  const status = readFileSync(`/proc/${node.child.pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match === null) throw new Error(`/proc/${node.child.pid}/status has no ${name} line`);
    return Number(match[1]) * 1024;
  };
  return { rssAnonBytes: field('RssAnon'), rssBytes: field('VmRSS') };
}

function judge(points: MemoryPoint[]): MemoryTarget[] {
  const at = points.find((point) => point.keys === judgedKeys);
  const target = (figure: string, value: number | null, limit: number, unit: string): MemoryTarget => ({ figure, value, target: limit, unit, pass: value === null ? null : value < limit });
  const steadyAnon = at === undefined ? null : mb(Math.max(...Object.values(at.steady).map((memory) => memory.rssAnonBytes)));
  return [
    target('RssAnon at 1,000,000 keys, steady (highest node)', steadyAnon, 200, 'MB'),
    target('RssAnon at 1,000,000 keys, after a restart (n1, highest from ready to settled)', at === undefined ? null : mb(at.restart.peakAfterReady.rssAnonBytes), 200, 'MB'),
    target('restart to ready at 1,000,000 keys', at?.restart.readySeconds ?? null, 2, 's'),
  ];
}

function mb(bytes: number): number {
  return round(bytes / megabyte);
}

function describe(memory: Record<string, ProcessMemory>): string {
  return Object.entries(memory)
    .map(([node, m]) => `${node} RssAnon ${mb(m.rssAnonBytes)} MB, RSS ${mb(m.rssBytes)} MB`)
    .join('; ');
}

export function reportMemory(result: MemoryResult): string[] {
  const lines = [
    '',
    `Memory per key: 3 LMDB nodes (N=3: every node holds every key), ${result.valueBytes}-byte values, bulk-loaded at w=one; memory from /proc/PID/status`,
    `after a ${result.settleSeconds} s settle (RssAnon: heap and other private memory; RSS adds LMDB's mapped pages). Then n1 restarts: time to /health 200.`,
    `Empty cluster: ${describe(result.empty)}.`,
    '',
    '| keys | load keys/s | RssAnon MB (highest node) | RSS MB (highest node) | RssAnon B/key | RSS B/key | RssAnon B per added key | peak RssAnon MB during load | restart to ready s | n1 RssAnon MB at ready / highest / settled | n1 RSS MB at ready / highest / settled |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...result.points.map((p) => {
      const highest = (pick: (memory: ProcessMemory) => number) => mb(Math.max(...Object.values(p.steady).map(pick)));
      const r = p.restart;
      return `| ${p.keys} | ${p.keysPerSecond} | ${highest((m) => m.rssAnonBytes)} | ${highest((m) => m.rssBytes)} | ${p.anonBytesPerKey} | ${p.rssBytesPerKey} | ${p.anonBytesPerAddedKey} | ${mb(p.peakDuringLoad.rssAnonBytes)} | ${r.readySeconds} | ${mb(r.atReady.rssAnonBytes)} / ${mb(r.peakAfterReady.rssAnonBytes)} / ${mb(r.settled.rssAnonBytes)} | ${mb(r.atReady.rssBytes)} / ${mb(r.peakAfterReady.rssBytes)} / ${mb(r.settled.rssBytes)} |`;
    }),
    '',
    '| target | measured | limit | |',
    '| --- | ---: | ---: | --- |',
    ...result.targets.map((t) => `| ${t.figure} | ${t.value ?? '-'} ${t.unit} | < ${t.target} ${t.unit} | ${t.pass === null ? 'not measured' : t.pass ? 'pass' : 'MISS'} |`),
  ];
  return lines;
}
