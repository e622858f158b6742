// The flood benchmark (issue 13, "Overload is shed, not queued"): what a light client sees
// through a node while that node is flooded with 1 MiB PUTs. A fresh 3-node LMDB cluster;
// one connection reads a small key through n1 in a closed loop, first alone (baseline),
// then while 32 connections send `puts` PUTs of 1 MiB values to n1 as fast as it answers.
// Reports the light client's p50/p99/max in both phases, how much of the flood n1 accepted
// and shed (503 + Retry-After), and n1's peak resident memory (from its /metrics).
// The flood runs in a worker thread: building and sending 1 MiB bodies would otherwise
// delay the light client's own event loop and count against the node.
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startCluster } from './cluster.js';

export interface FloodBenchOptions {
  basePort: number;
  /** Length of the baseline measurement. */
  seconds: number;
  /** PUTs of 1 MiB in the flood. */
  puts: number;
  connections: number;
}

export interface LightLatency {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  failures: number;
}

export interface FloodResult {
  puts: number;
  connections: number;
  floodSeconds: number;
  accepted: number;
  shed: number;
  otherAnswers: number;
  baseline: LightLatency;
  underFlood: LightLatency;
  rssBeforeMiB: number;
  rssMaxMiB: number;
}

const valueBytes = 1024 * 1024;
const requestTimeoutMs = 30_000;

function send(agent: Agent, url: string, method: string, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'content-type': 'application/json', 'content-length': body.length } : {};
    const req = request(url, { method, agent, timeout: requestTimeoutMs, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} took over ${requestTimeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function residentMiB(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((row) => row.startsWith('process_resident_memory_bytes'));
  return Math.round(Number(line?.split(' ').at(-1) ?? Number.NaN) / 2 ** 20);
}

/** Reads `url` in a closed loop on one connection until `running()` turns false. */
async function lightLoad(url: string, running: () => boolean): Promise<LightLatency> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let failures = 0;
  while (running()) {
    const startedAt = performance.now();
    const status = await send(agent, url, 'GET').catch(() => 0);
    times.push(performance.now() - startedAt);
    if (status !== 200) failures++;
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (share: number) => Math.round((times[Math.min(times.length - 1, Math.floor(times.length * share))] ?? 0) * 10) / 10;
  return { requests: times.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), failures };
}

export async function runFloodBench(options: FloodBenchOptions): Promise<FloodResult> {
  const cluster = await startCluster('lmdb', options.basePort);
  try {
    const target = cluster.urls[0] as string;
    const lightUrl = `${target}/store/light`;
    const setup = new Agent({ keepAlive: true, maxSockets: 1 });
    if ((await send(setup, lightUrl, 'PUT', Buffer.from('{"value":"small"}'))) !== 200) throw new Error('could not write the light key');
    setup.destroy();
    const baselineUntilMs = Date.now() + options.seconds * 1000;
    const baseline = await lightLoad(lightUrl, () => Date.now() < baselineUntilMs);
    const rssBeforeMiB = await residentMiB(target);

    let flooding = true;
    let rssMaxMiB = rssBeforeMiB;
    const sampler = (async () => {
      while (flooding) {
        rssMaxMiB = Math.max(rssMaxMiB, await residentMiB(target).catch(() => 0));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const light = lightLoad(lightUrl, () => flooding);
    const startedAtMs = Date.now();
    const counts = await floodInWorker({ target, puts: options.puts, connections: options.connections });
    const floodSeconds = Math.round((Date.now() - startedAtMs) / 100) / 10;
    flooding = false;
    const underFlood = await light;
    await sampler;
    const result: FloodResult = {
      puts: options.puts,
      connections: options.connections,
      floodSeconds,
      accepted: counts.accepted,
      shed: counts.shed,
      otherAnswers: counts.other,
      baseline,
      underFlood,
      rssBeforeMiB,
      rssMaxMiB,
    };
    process.stdout.write(
      `flood: ${result.accepted} accepted, ${result.shed} shed, ${result.otherAnswers} other in ${floodSeconds} s; light GET p99 ${baseline.p99Ms} -> ${underFlood.p99Ms} ms; RSS ${rssBeforeMiB} -> ${rssMaxMiB} MiB\n`,
    );
    return result;
  } finally {
    await cluster.stop();
  }
}

interface FloodSpec {
  target: string;
  puts: number;
  connections: number;
}

interface FloodCounts {
  accepted: number;
  shed: number;
  other: number;
}

function floodInWorker(spec: FloodSpec): Promise<FloodCounts> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { flood: spec } });
    worker.once('message', (counts: FloodCounts) => resolve(counts));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`the flood worker exited with ${code}`)));
  });
}

/** In the worker: `puts` PUTs of 1 MiB over `connections` connections, as fast as the node answers. */
async function flood(spec: FloodSpec): Promise<FloodCounts> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const counts: FloodCounts = { accepted: 0, shed: 0, other: 0 };
  let next = 0;
  const worker = async () => {
    while (next < spec.puts) {
      const index = next++;
      const head = `{"value":"put-${index}-`;
      const body = Buffer.from(head + 'x'.repeat(valueBytes - head.length - 2) + '"}');
      const status = await send(agent, `${spec.target}/store/flood-${index}`, 'PUT', body).catch(() => 0);
      if (status === 200) counts.accepted++;
      else if (status === 503) counts.shed++;
      else counts.other++;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  agent.destroy();
  return counts;
}

if (!isMainThread && (workerData as { flood?: FloodSpec } | null)?.flood !== undefined) {
  const counts = await flood((workerData as { flood: FloodSpec }).flood);
  parentPort?.postMessage(counts);
}

export function reportFlood(result: FloodResult): string[] {
  const row = (phase: string, latency: LightLatency) =>
    `| ${phase} | ${latency.requests} | ${latency.p50Ms} | ${latency.p99Ms} | ${latency.maxMs} | ${latency.failures} |`;
  return [
    '',
    `Flood: a light client reads one small key through n1 (one connection, closed loop) while ${result.connections} connections`,
    `send ${result.puts} PUTs of 1 MiB to n1 (3 LMDB nodes, N=3). n1 accepted ${result.accepted} and shed ${result.shed} (503 + Retry-After)` +
      `${result.otherAnswers > 0 ? `, ${result.otherAnswers} other answers` : ''} in ${result.floodSeconds} s; its RSS went from ${result.rssBeforeMiB} to at most ${result.rssMaxMiB} MiB.`,
    '',
    '| light client | GETs | p50 ms | p99 ms | max ms | failures |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('alone', result.baseline),
    row('under the flood', result.underFlood),
  ];
}
