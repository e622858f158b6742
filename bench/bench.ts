// `npm run bench`: starts its own local 3-node cluster (memory, then LMDB), prefills
// 10,000 keys with 100-byte values, then drives PUT and then GET load at quorum with
// 32 connections spread over the three nodes for a fixed time, and prints requests per
// second and p50/p99 latency per operation. Results also go to bench/results/latest.json.
// The load generator is wrk when it is installed (`apt-get install wrk`: it is what the
// team's yardsticks use, and it takes far less CPU from the servers than a Node client),
// else autocannon. Knobs (environment): BENCH_SECONDS (default 10), BENCH_KEYS (10000),
// BENCH_CONNECTIONS (32), BENCH_STORAGE (memory,lmdb), BENCH_BASE_PORT (18000),
// BENCH_LOAD (wrk or autocannon).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', '..', 'packages', 'server', 'dist', 'cli.js');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const keyCount = Number(process.env.BENCH_KEYS ?? 10_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const storages = (process.env.BENCH_STORAGE ?? 'memory,lmdb').split(',') as Array<'memory' | 'lmdb'>;
const basePort = Number(process.env.BENCH_BASE_PORT ?? 18_000);
const valueBody = JSON.stringify({ value: 'v'.repeat(100) });
const loadGenerator = process.env.BENCH_LOAD ?? (hasWrk() ? 'wrk' : 'autocannon');

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

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
  for (const storage of storages) {
    const cluster = await startCluster(storage);
    try {
      await prefill(cluster.urls);
      results.push(await measure(storage, 'PUT', cluster.urls));
      results.push(await measure(storage, 'GET', cluster.urls));
      results.push(await measure(storage, 'GET r=one', cluster.urls));
    } finally {
      await cluster.stop();
    }
  }
  report(results);
}

async function startCluster(storage: 'memory' | 'lmdb') {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-'));
  const addresses = [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`);
  const children: ChildProcess[] = addresses.map((address, i) =>
    spawn(
      process.execPath,
      [
        cliPath, 'node', '--id', `n${i + 1}`, '--port', String(basePort + i),
        '--seeds', addresses.filter((other) => other !== address).join(','),
        '--storage', storage, '--data-dir', join(dataDir, `n${i + 1}`), '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    ),
  );
  const urls = addresses.map((address) => `http://${address}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const healthy = await Promise.all(urls.map((url) => fetch(`${url}/health`).then((r) => r.ok, () => false)));
    if (healthy.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error('the benchmark cluster did not start within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  process.stdout.write(`cluster up (${storage}), ${urls.join(' ')}\n`);
  return {
    urls,
    stop: async () => {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function prefill(urls: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keyCount) {
      const i = next++;
      const response = await fetch(`${urls[i % urls.length]}/store/key${i}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: valueBody,
      });
      if (!response.ok) throw new Error(`prefill failed: ${response.status} ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

async function measure(storage: string, operation: Measurement['operation'], urls: string[]): Promise<Measurement> {
  const measurement = loadGenerator === 'wrk' ? measureWithWrk(storage, operation, urls) : await measureWithAutocannon(storage, operation, urls);
  process.stdout.write(`${storage} ${operation}: ${measurement.requestsPerSecond} req/s, p50 ${measurement.p50Ms} ms, p99 ${measurement.p99Ms} ms\n`);
  return measurement;
}

/** One wrk thread per node, the connections spread over them. */
function measureWithWrk(storage: string, operation: Measurement['operation'], urls: string[]): Measurement {
  const hosts = urls.map((url) => url.replace('http://', '')).join(',');
  const output = execFileSync(
    'wrk',
    [`-t${urls.length}`, `-c${Math.max(connections, urls.length)}`, `-d${seconds}s`, '--timeout', '5s', '-s', join(here, '..', 'kv.lua'), urls[0] as string],
    {
      encoding: 'utf8',
      env: { ...process.env, MODE: operation === 'PUT' ? 'PUT' : 'GET', READ: operation === 'GET r=one' ? 'one' : 'quorum', HOSTS: hosts, KEYS: String(keyCount) },
    },
  );
  const line = output.split('\n').find((item) => item.startsWith('RESULT')) ?? '';
  const field = (name: string) => Number(new RegExp(`${name}=([0-9.]+)`).exec(line)?.[1] ?? NaN);
  return {
    storage,
    operation,
    requestsPerSecond: Math.round(field('rps')),
    p50Ms: round(field('p50_ms')),
    p99Ms: round(field('p99_ms')),
    errors: field('errors'),
    non2xx: 0,
  };
}

/** One autocannon instance per node, connections split between them, run together. */
async function measureWithAutocannon(storage: string, operation: Measurement['operation'], urls: string[]): Promise<Measurement> {
  const share = (i: number) => Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0);
  const runs = await Promise.all(
    urls.map(
      (url, i) =>
        new Promise<autocannon.Result>((resolve, reject) => {
          autocannon(
            {
              url,
              connections: share(i),
              duration: seconds,
              requests: [
                {
                  method: operation === 'PUT' ? 'PUT' : 'GET',
                  ...(operation === 'PUT' ? { body: valueBody, headers: { 'content-type': 'application/json' } } : {}),
                  setupRequest: (request) => ({
                    ...request,
                    path: `/store/key${Math.floor(Math.random() * keyCount)}${operation === 'GET r=one' ? '?r=one' : ''}`,
                  }),
                },
              ],
            },
            (error, result) => (error ? reject(error) : resolve(result)),
          );
        }),
    ),
  );
  const requestsPerSecond = runs.reduce((sum, run) => sum + run.requests.average, 0);
  const weighted = (pick: (run: autocannon.Result) => number) =>
    runs.reduce((sum, run) => sum + pick(run) * run.requests.average, 0) / Math.max(1, requestsPerSecond);
  return {
    storage,
    operation,
    requestsPerSecond: Math.round(requestsPerSecond),
    p50Ms: round(weighted((run) => run.latency.p50)),
    p99Ms: round(Math.max(...runs.map((run) => run.latency.p99))),
    errors: runs.reduce((sum, run) => sum + run.errors + run.timeouts, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
  };
}

function report(results: Measurement[]): void {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const lines = [
    '',
    `ringkv benchmark: 3 nodes on one machine, N=3, quorum writes and reads (and reads at r=one), ${connections} connections`,
    `spread over the nodes, load from ${loadGenerator}, ${keyCount} keys, 100-byte values, ${seconds} s per operation.`,
    `Machine: ${machine}`,
    '',
    '| storage | operation | requests/s | p50 ms | p99 ms | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.storage} | ${r.operation} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors + r.non2xx} |`),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const resultsDir = join(here, '..', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, loadGenerator, seconds, keyCount, connections, results }, null, 2)}\n`,
  );
  process.stdout.write(`results written to bench/results/latest.json\n`);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
