// What routing to a replica saves (issue 15, "A topology-aware SDK"): on one fresh 5-node
// cluster (N=3, so a node is a replica of 3/5 of the keys), the same closed-loop load of
// quorum GETs and PUTs is driven from this process three ways, each for the same time:
// the cluster client routing each key to one of its replicas, the cluster client spreading
// requests over every node without routing (a load balancer's way), and the one-node
// client fixed to n1 (every request coordinated by n1). Prints requests/s and p50/p99 of
// each, and routed over fixed as ratios. The load runs through fetch in this process, as an
// application's would, so the figures include the client's own cost.
import { performance } from 'node:perf_hooks';
import { RingkvClient, RingkvClusterClient } from '@ringkv/client';
import { sleep, startCluster, waitForStableRing, type BenchCluster } from './cluster.js';
import { round } from './load.js';

export interface SdkBenchOptions {
  basePort: number;
  keyCount: number;
  connections: number;
  seconds: number;
}

export type SdkVariant = 'routed to a replica' | 'any node, no routing' | 'fixed to n1' | 'cluster client held to n1';

export interface SdkRow {
  variant: SdkVariant;
  operation: 'GET' | 'PUT';
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface SdkResult {
  nodes: number;
  replicas: number;
  seconds: number;
  connections: number;
  rows: SdkRow[];
}

/** The minimal surface the load drives: the two clients differ in how they pass consistency. */
interface KeyClient {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<unknown>;
}

const nodesTotal = 5;
const replicas = 3;
const joinTimeoutMs = 60_000;
const value = 'v'.repeat(100);

export async function runSdkBench(options: SdkBenchOptions): Promise<SdkResult> {
  const cluster = await startCluster('memory', options.basePort);
  try {
    await growTo(cluster, options.basePort);
    const urls = cluster.nodes.map((node) => node.url);
    const routed = new RingkvClusterClient({ nodes: urls });
    const spread = new RingkvClusterClient({ nodes: urls, routing: false });
    const fixedOne = new RingkvClient({ baseUrl: urls[0]!, timeoutMs: 10_000 });
    // The cluster client told of no member but n1: its own cost, apart from where requests go.
    const heldToOne = new RingkvClusterClient({ nodes: [urls[0]!], routing: false, memberUrl: () => null });
    const clients: Array<[SdkVariant, KeyClient]> = [
      ['routed to a replica', { get: (key) => routed.get(key), put: (key, v) => routed.put(key, v) }],
      ['any node, no routing', { get: (key) => spread.get(key), put: (key, v) => spread.put(key, v) }],
      ['fixed to n1', { get: (key) => fixedOne.get(key), put: (key, v) => fixedOne.put(key, v) }],
      ['cluster client held to n1', { get: (key) => heldToOne.get(key), put: (key, v) => heldToOne.put(key, v) }],
    ];
    await routed.refresh();
    await spread.refresh();
    await prefill(routed, options.keyCount, options.connections);
    const rows: SdkRow[] = [];
    for (const operation of ['GET', 'PUT'] as const) {
      for (const [variant, client] of clients) {
        const row = { variant, operation, ...(await drive(client, operation, options)) };
        rows.push(row);
        process.stdout.write(`sdk ${operation} ${variant}: ${row.requestsPerSecond} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.errors} errors\n`);
      }
    }
    return { nodes: nodesTotal, replicas, seconds: options.seconds, connections: options.connections, rows };
  } finally {
    await cluster.stop();
  }
}

/** Adds n4 and n5 to the 3 founders (an empty cluster: the joins move no data). */
async function growTo(cluster: BenchCluster, basePort: number): Promise<void> {
  for (let index = cluster.nodes.length; index < nodesTotal; index++) {
    cluster.addNode(`n${index + 1}`, basePort + index);
    await sleep(500);
  }
  await waitForStableRing(cluster, joinTimeoutMs);
}

async function prefill(client: RingkvClusterClient, keyCount: number, connections: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keyCount) await client.put(`sdk${next++}`, value);
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** `connections` loops, each sending one request at a time, for `seconds`. */
async function drive(client: KeyClient, operation: 'GET' | 'PUT', options: SdkBenchOptions): Promise<Omit<SdkRow, 'variant' | 'operation'>> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let turn = 0;
  const endMs = performance.now() + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < endMs) {
      // A stride through the keys rather than random picks: every variant meets the same keys in the same order.
      const key = `sdk${(turn++ * 7919) % options.keyCount}`;
      const startedMs = performance.now();
      try {
        await (operation === 'GET' ? client.get(key) : client.put(key, value));
        latenciesMs.push(performance.now() - startedMs);
      } catch {
        errors++;
      }
    }
  };
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  latenciesMs.sort((a, b) => a - b);
  const at = (share: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(share * latenciesMs.length))] ?? 0;
  return { requestsPerSecond: Math.round(latenciesMs.length / elapsedSeconds), p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), errors };
}

export function reportSdk(result: SdkResult): string[] {
  const row = (variant: SdkVariant, operation: 'GET' | 'PUT') => result.rows.find((r) => r.variant === variant && r.operation === operation);
  const lines = [
    '',
    `SDK routing: ${result.nodes} nodes, N=${result.replicas}, quorum GETs and PUTs from this process through fetch, ${result.connections} requests in flight, ${result.seconds} s each.`,
    '',
    '| operation | client | requests/s | p50 ms | p99 ms | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...result.rows.map((r) => `| ${r.operation} | ${r.variant} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} |`),
    '',
  ];
  for (const operation of ['GET', 'PUT'] as const) {
    const routed = row('routed to a replica', operation);
    const fixed = row('fixed to n1', operation);
    if (routed === undefined || fixed === undefined || fixed.requestsPerSecond === 0 || routed.p50Ms === 0) continue;
    lines.push(`${operation}: routed / fixed requests/s ${round(routed.requestsPerSecond / fixed.requestsPerSecond)}x, fixed / routed p50 ${round(fixed.p50Ms / routed.p50Ms)}x`);
  }
  return lines;
}
