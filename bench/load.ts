// Load generation for the benchmark: wrk when it is installed (it is what the team's
// yardsticks use, and it takes far less CPU from the servers than a Node client), else
// autocannon. A load runs for a fixed time, or until it is stopped (the join benchmark
// cannot know in advance how long a join takes). Also the bulk load of the join benchmark.
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { killOnExit, sleep } from './cluster.js';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..');
export const valueBody = JSON.stringify({ value: 'v'.repeat(100) });
export const loadGenerator = process.env.BENCH_LOAD ?? (hasWrk() ? 'wrk' : 'autocannon');
const stopTimeoutMs = 15_000;

function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** `mixed`: a PUT (w=quorum) with chance `writeShare`, else a GET (r=quorum). */
export type Operation = 'PUT' | 'GET' | 'GET r=one' | 'mixed';

/**
 * Whose API the load speaks: ringkv's (GETs carry ?r=), the fan-out yardstick's (the same
 * /store/{key} routes, GETs without a query), or etcd's v3 JSON gateway (put and range).
 */
export type LoadApi = 'ringkv' | 'fan-out' | 'etcd';

export interface LoadSpec {
  urls: string[];
  operation: Operation;
  /** 'ringkv' when absent. */
  api?: LoadApi;
  /** Keys are drawn at random from key0 .. key(keyCount-1). */
  keyCount: number;
  connections: number;
  writeShare?: number;
  /** The load ends by itself after this long, if it is not stopped before. */
  seconds: number;
  /** For a cluster run the secure way: the API token, and the CA its HTTPS certificates come from. */
  credentials?: { token: string; caPem: string };
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** The non-2xx answers by status code. */
  statuses: Record<string, number>;
  /** Responses per wall-clock second (Unix seconds), first to last, every second listed. */
  perSecond: Array<{ second: number; requests: number }>;
}

export interface RunningLoad {
  /** Ends the load now (or waits for its end, if it is over) and resolves with its figures. */
  stop(): Promise<LoadResult>;
}

export function startLoad(spec: LoadSpec): RunningLoad {
  return loadGenerator === 'wrk' ? startWrk(spec) : startAutocannon(spec);
}

/** A load for exactly `spec.seconds`. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const load = startLoad(spec);
  return sleep(spec.seconds * 1000).then(() => load.stop());
}

/** One wrk thread per node, the connections spread over them. */
function startWrk(spec: LoadSpec): RunningLoad {
  const hosts = spec.urls.map((url) => url.replace(/^https?:\/\//, '')).join(',');
  const child = spawn(
    'wrk',
    [`-t${spec.urls.length}`, `-c${Math.max(spec.connections, spec.urls.length)}`, `-d${Math.ceil(spec.seconds)}s`, '--timeout', '5s', '-s', join(benchDir, 'kv.lua'), spec.urls[0] as string],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        MODE: spec.operation === 'PUT' ? 'PUT' : spec.operation === 'mixed' ? 'MIX' : 'GET',
        WRITE_SHARE: String(spec.writeShare ?? 0),
        API: spec.api === 'etcd' ? 'etcd' : 'store',
        READ: spec.api === 'fan-out' ? '' : spec.operation === 'GET r=one' ? 'one' : 'quorum',
        HOSTS: hosts,
        KEYS: String(spec.keyCount),
        TOKEN: spec.credentials?.token ?? '',
      },
    },
  );
  killOnExit(child);
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    stop: async () => {
      // wrk ends early on SIGINT, and still prints its summary (done() runs).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
      const line = output.split('\n').find((item) => item.startsWith('RESULT '));
      if (line === undefined) throw new Error(`wrk printed no result (exit ${child.exitCode ?? child.signalCode}): ${errors.trim() || output.trim()}`);
      const field = (name: string) => Number(new RegExp(`${name}=([0-9.]+)`).exec(line)?.[1] ?? NaN);
      const series = output.split('\n').find((item) => item.startsWith('SERIES ')) ?? 'SERIES ';
      const statuses = output.split('\n').find((item) => item.startsWith('STATUSES ')) ?? 'STATUSES ';
      return {
        requests: field('requests'),
        seconds: round(field('seconds')),
        requestsPerSecond: Math.round(field('rps')),
        p50Ms: round(field('p50_ms')),
        p99Ms: round(field('p99_ms')),
        errors: field('errors'),
        non2xx: field('non2xx'),
        statuses: Object.fromEntries(
          statuses
            .slice('STATUSES '.length)
            .split(',')
            .filter((point) => point.includes(':'))
            .map((point) => point.split(':').map(Number) as [number, number]),
        ),
        perSecond: everySecond(
          series
            .slice('SERIES '.length)
            .split(',')
            .filter((point) => point.includes(':'))
            .map((point) => point.split(':').map(Number) as [number, number]),
        ),
      };
    },
  };
}

/** One autocannon instance per node, connections split between them, run together. */
function startAutocannon(spec: LoadSpec): RunningLoad {
  const { urls, operation, connections, keyCount } = spec;
  const auth: Record<string, string> = spec.credentials ? { authorization: `Bearer ${spec.credentials.token}` } : {};
  const share = (i: number) => Math.max(1, Math.floor(connections / urls.length) + (i < connections % urls.length ? 1 : 0));
  const counts = new Map<number, number>();
  const statuses: Record<string, number> = {};
  const startedAtMs = Date.now();
  const runs = urls.map((url, i) => {
    let instance: autocannon.Instance | undefined;
    const result = new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url,
          connections: share(i),
          ...(spec.credentials ? { tlsOptions: { ca: spec.credentials.caPem } } : {}),
          duration: spec.seconds,
          requests: [
            {
              setupRequest: (request) => {
                const key = `key${Math.floor(Math.random() * keyCount)}`;
                const put = operation === 'PUT' || (operation === 'mixed' && Math.random() < (spec.writeShare ?? 0));
                if (spec.api === 'etcd') {
                  const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), ...(put ? { value: Buffer.from('v'.repeat(100)).toString('base64') } : {}) });
                  return { ...request, method: 'POST', path: put ? '/v3/kv/put' : '/v3/kv/range', body, headers: { 'content-type': 'application/json' } };
                }
                const path = `/store/${key}`;
                if (put) return { ...request, method: 'PUT', path, body: valueBody, headers: { 'content-type': 'application/json', ...auth } };
                const query = spec.api === 'fan-out' ? '' : `?r=${operation === 'GET r=one' ? 'one' : 'quorum'}`;
                return { ...request, method: 'GET', path: `${path}${query}`, body: undefined, headers: auth };
              },
            },
          ],
        },
        (error, value) => (error ? reject(error) : resolve(value)),
      );
      instance.on('response', (_client, statusCode) => {
        if (statusCode < 200 || statusCode > 299) statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
        const second = Math.floor(Date.now() / 1000);
        counts.set(second, (counts.get(second) ?? 0) + 1);
      });
    });
    return { result, stop: () => instance?.stop() };
  });
  return {
    stop: async () => {
      for (const run of runs) run.stop();
      const results = await Promise.all(runs.map((run) => run.result));
      const seconds = (Date.now() - startedAtMs) / 1000;
      const requests = results.reduce((sum, run) => sum + run.requests.total, 0);
      const weighted = (pick: (run: autocannon.Result) => number) =>
        results.reduce((sum, run) => sum + pick(run) * run.requests.total, 0) / Math.max(1, requests);
      return {
        requests,
        seconds: round(seconds),
        requestsPerSecond: Math.round(requests / seconds),
        p50Ms: round(weighted((run) => run.latency.p50)),
        p99Ms: round(Math.max(...results.map((run) => run.latency.p99))),
        errors: results.reduce((sum, run) => sum + run.errors + run.timeouts, 0),
        non2xx: results.reduce((sum, run) => sum + run.non2xx, 0),
        statuses,
        perSecond: everySecond([...counts.entries()]),
      };
    },
  };
}

/** Points sorted by second, with the seconds in which nothing was answered (absent from the counts) as zeros. */
function everySecond(points: Array<[number, number]>): LoadResult['perSecond'] {
  const counts = new Map(points);
  const seconds = points.map(([second]) => second);
  if (seconds.length === 0) return [];
  const [first, last] = [Math.min(...seconds), Math.max(...seconds)];
  return Array.from({ length: last - first + 1 }, (_, i) => ({ second: first + i, requests: counts.get(first + i) ?? 0 }));
}

export interface BulkLoadResult {
  keys: number;
  seconds: number;
  keysPerSecond: number;
  /** Writes that failed (non-2xx answers, connection errors, timeouts). */
  errors: number;
}

/**
 * Writes key`firstKey` .. key(keyCount-1) once each with a 100-byte value, at w=one by
 * default: the point is to fill the store fast, and every write still goes to all N
 * replicas (but one that misses a replica may stay there, unseen by a quorum read, until
 * repair; w=quorum rules that out). Any server with ringkv's PUT /store/{key} will do (the
 * fan-out yardstick ignores the query).
 */
export async function bulkLoad(urls: string[], keyCount: number, timeoutMs: number, firstKey = 0, write: 'one' | 'quorum' = 'one'): Promise<BulkLoadResult> {
  const startedAtMs = Date.now();
  let errors = loadGenerator === 'wrk' ? await bulkLoadWithWrk(urls, firstKey, keyCount, timeoutMs, write) : await bulkLoadWithFetch(urls, firstKey, keyCount, 64, timeoutMs, write);
  // wrk throws away the first request it builds (see bulk-load.lua): write the first key of
  // every thread again. Cheap, and right whichever wrk version ran.
  if (loadGenerator === 'wrk') errors += await bulkLoadWithFetch(urls, firstKey, Math.min(firstKey + urls.length, keyCount), urls.length, 30_000, write);
  const seconds = (Date.now() - startedAtMs) / 1000;
  const keys = keyCount - firstKey;
  return { keys, seconds: round(seconds), keysPerSecond: Math.round(keys / seconds), errors };
}

/** 32 connections per node; resolves with the number of failed writes. */
async function bulkLoadWithWrk(urls: string[], firstKey: number, keyCount: number, timeoutMs: number, write: 'one' | 'quorum'): Promise<number> {
  const threads = urls.length;
  const child = spawn(
    'wrk',
    [`-t${threads}`, `-c${32 * threads}`, `-d${Math.ceil(timeoutMs / 1000)}s`, '--timeout', '10s', '-s', join(benchDir, 'bulk-load.lua'), urls[0] as string],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FIRST: String(firstKey), KEYS: String(keyCount), THREADS: String(threads), WRITE: write, HOSTS: urls.map((url) => url.replace('http://', '')).join(',') },
    },
  );
  killOnExit(child);
  let output = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if ((output.match(/^THREAD_DONE$/gm) ?? []).length === threads) child.kill('SIGINT');
  });
  // Bounded: wrk's own -d deadline ends it if some thread never sees all its answers.
  await exited;
  const line = output.split('\n').find((item) => item.startsWith('RESULT ')) ?? '';
  const done = (output.match(/^THREAD_DONE$/gm) ?? []).length;
  if (line === '') throw new Error(`bulk load: wrk printed no result (exit ${child.exitCode ?? child.signalCode}): ${errors.trim()}`);
  if (done < threads) throw new Error(`bulk load: only ${done} of ${threads} wrk threads finished within ${timeoutMs / 1000} s`);
  return Number(/errors=(\d+)/.exec(line)?.[1] ?? NaN);
}

/** `concurrency` keep-alive writers, keys from..to-1 round-robin over the nodes. */
async function bulkLoadWithFetch(urls: string[], from: number, to: number, concurrency: number, timeoutMs: number, write: 'one' | 'quorum'): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let next = from;
  let failed = 0;
  const worker = async () => {
    while (next < to) {
      if (Date.now() > deadline) throw new Error(`bulk load: ${next - from} of ${to - from} writes sent within ${timeoutMs / 1000} s`);
      const i = next++;
      const response = await fetch(`${urls[i % urls.length]}/store/key${i}?w=${write}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: valueBody,
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined);
      if (!response?.ok) failed++;
      await response?.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}

export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
