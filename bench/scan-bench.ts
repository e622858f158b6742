// Seeing all the data (issue 12): on a fresh 3-node LMDB cluster (N=3) loaded with K keys of
// 100-byte values (POST /batch of 100 puts), measures a client paging GET /cluster/keys with
// limit 1000 to the end through one node, keys only and then with values=true (quorum reads),
// then `ringkv backup` of the whole cluster and `ringkv restore` of that file into a second,
// fresh 3-node cluster, both run as the CLI a user runs. Rates are keys (or records) per
// second and MB/s (10^6 bytes) of JSON received or of the backup file. Every scan must list
// all K keys and the restored cluster must hold K keys, or the benchmark fails: a fast scan
// that misses keys measures nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { putOp, RingkvClient, type BatchOp } from '@ringkv/client';
import { killOnExit, startCluster, type BenchCluster } from './cluster.js';
import { round } from './load.js';

export interface ScanBenchOptions {
  basePort: number;
  /** Keys loaded before the scans, each with a 100-byte value. */
  keys: number;
  /** Bound on each step (load, each scan, backup, restore, the count after it). */
  stepTimeoutMs: number;
}

export interface ScanRow {
  step: 'scan keys' | 'scan keys + values' | 'backup' | 'restore';
  /** Keys listed, or records backed up or restored. */
  items: number;
  seconds: number;
  itemsPerSecond: number;
  /** JSON received (scans) or the backup file's size (backup, restore), in 10^6 bytes. */
  megabytes: number;
  megabytesPerSecond: number;
}

export interface ScanResult {
  keys: number;
  valueBytes: number;
  pageLimit: number;
  /** Loading the keys through POST /batch, before any measurement. */
  loadKeysPerSecond: number;
  rows: ScanRow[];
  /** Live keys the fresh cluster lists after the restore (checked to equal `keys`). */
  restoredKeys: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', '..', 'packages', 'server', 'dist', 'cli.js');
const valueBytes = 100;
const value = 'v'.repeat(valueBytes);
/** The page size a client scanning everything asks for: the largest /cluster/keys allows (keysPageLimitMax). */
const pageLimit = 1000;
const opsPerBatch = 100;
/** Batches in flight while loading: enough to keep three nodes busy on two cores. */
const loadBatchesInFlight = 8;
/** A page of 1000 quorum reads takes a second or so here; far more means something is stuck. */
const pageTimeoutMs = 60_000;
const megabyte = 1_000_000;

export async function runScanBench(options: ScanBenchOptions): Promise<ScanResult> {
  const workDir = mkdtempSync(join(tmpdir(), 'ringkv-scan-bench-'));
  const backupFile = join(workDir, 'cluster.backup');
  try {
    const rows: ScanRow[] = [];
    let loadKeysPerSecond = 0;
    await withCluster(options.basePort, async (cluster) => {
      loadKeysPerSecond = await load(cluster, options);
      const url = cluster.urls[0] as string;
      for (const withValues of [false, true]) rows.push(await scanAll(url, withValues, options));
      rows.push(await runCli('backup', ['backup', '--node', addressOf(url), '--out', backupFile], backupFile, options));
    });
    // A fresh cluster, as for disaster recovery; ports clear of the first one's, which may still be releasing them.
    let restoredKeys = 0;
    await withCluster(options.basePort + 10, async (cluster) => {
      const url = cluster.urls[0] as string;
      rows.push(await runCli('restore', ['restore', '--node', addressOf(url), backupFile], backupFile, options));
      restoredKeys = (await scanAll(url, false, options)).items;
    });
    for (const row of rows) {
      process.stdout.write(`${row.step}: ${row.items} in ${row.seconds} s, ${row.itemsPerSecond}/s, ${row.megabytes} MB, ${row.megabytesPerSecond} MB/s\n`);
    }
    return { keys: options.keys, valueBytes, pageLimit, loadKeysPerSecond, rows, restoredKeys };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function withCluster(basePort: number, work: (cluster: BenchCluster) => Promise<void>): Promise<void> {
  const cluster = await startCluster('lmdb', basePort);
  try {
    await work(cluster);
  } finally {
    await cluster.stop();
  }
}

/** Writes keys scan/0000000.. through POST /batch, spread over the nodes; resolves with keys per second. */
async function load(cluster: BenchCluster, options: ScanBenchOptions): Promise<number> {
  const clients = cluster.urls.map((url) => new RingkvClient({ baseUrl: url, timeoutMs: 30_000 }));
  const batches = Math.ceil(options.keys / opsPerBatch);
  const deadlineMs = performance.now() + options.stepTimeoutMs;
  let next = 0;
  const worker = async () => {
    while (next < batches) {
      if (performance.now() > deadlineMs) throw new Error(`loading ${options.keys} keys took more than ${options.stepTimeoutMs / 1000} s`);
      const turn = next++;
      const ops: BatchOp[] = [];
      for (let index = turn * opsPerBatch; index < Math.min(options.keys, (turn + 1) * opsPerBatch); index++) ops.push(putOp(keyOf(index), value));
      const answer = await (clients[turn % clients.length] as RingkvClient).batch(ops);
      const failed = answer.results.find((result) => result.status !== 200);
      if (failed !== undefined) throw new Error(`loading failed: a put answered ${failed.status} ${JSON.stringify(failed.body).slice(0, 300)}`);
    }
  };
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: Math.min(loadBatchesInFlight, batches) }, worker));
  const keysPerSecond = Math.round(options.keys / ((performance.now() - startedMs) / 1000));
  process.stdout.write(`scan bench: loaded ${options.keys} keys through POST /batch of ${opsPerBatch}, ${keysPerSecond} keys/s\n`);
  return keysPerSecond;
}

function keyOf(index: number): string {
  return `scan/${String(index).padStart(7, '0')}`;
}

/** Pages GET /cluster/keys through `url` to the end, as one client would, counting keys and bytes received. */
async function scanAll(url: string, withValues: boolean, options: ScanBenchOptions): Promise<ScanRow> {
  const deadlineMs = performance.now() + options.stepTimeoutMs;
  // Full pages when nothing was deleted; the margin covers short pages, the deadline everything else.
  const pagesMax = Math.ceil(options.keys / pageLimit) + 100;
  let cursor: string | null = null;
  let keys = 0;
  let bytes = 0;
  const startedMs = performance.now();
  for (let page = 0; ; page++) {
    if (page >= pagesMax || performance.now() > deadlineMs) throw new Error(`scanning ${url}/cluster/keys did not end within ${pagesMax} pages and ${options.stepTimeoutMs / 1000} s`);
    const query = new URLSearchParams({ limit: String(pageLimit), ...(withValues ? { values: 'true' } : {}), ...(cursor === null ? {} : { cursor }) });
    const response = await fetch(`${url}/cluster/keys?${query}`, { signal: AbortSignal.timeout(pageTimeoutMs) });
    const body = Buffer.from(await response.arrayBuffer());
    if (!response.ok) throw new Error(`GET /cluster/keys answered ${response.status}: ${body.toString('utf8').slice(0, 300)}`);
    bytes += body.length;
    const answer = JSON.parse(body.toString('utf8')) as { keys: string[]; items?: unknown[]; nextCursor: string | null };
    if (withValues && answer.items?.length !== answer.keys.length) throw new Error(`GET /cluster/keys?values=true answered ${answer.items?.length ?? 'no'} items for ${answer.keys.length} keys`);
    keys += answer.keys.length;
    if (answer.nextCursor === null) break;
    cursor = answer.nextCursor;
  }
  const row = rowOf(withValues ? 'scan keys + values' : 'scan keys', keys, (performance.now() - startedMs) / 1000, bytes);
  if (keys !== options.keys) throw new Error(`${row.step} through ${url} listed ${keys} keys, not the ${options.keys} stored`);
  return row;
}

/** Runs one `ringkv backup` or `restore` to its end; its size is that of `file`, its records what the CLI's summary says. */
async function runCli(step: 'backup' | 'restore', args: string[], file: string, options: ScanBenchOptions): Promise<ScanRow> {
  const startedMs = performance.now();
  const { code, stdout, stderr } = await runCommand(args, options.stepTimeoutMs);
  const seconds = (performance.now() - startedMs) / 1000;
  if (code !== 0) throw new Error(`ringkv ${step} ended with ${code}: ${stderr.slice(-1000)}`);
  // backup: "...: 100000 records (0 tombstones) in FILE"; restore: "...: 100000 records, 100000 applied, ... 0 failed".
  const records = Number(/: (\d+) records/.exec(stdout)?.[1]);
  if (!(records === options.keys)) throw new Error(`ringkv ${step} reported ${Number.isNaN(records) ? 'no count' : records} records, not ${options.keys}: ${stdout.trim()}`);
  return rowOf(step, records, seconds, statSync(file).size);
}

function runCommand(args: string[], timeoutMs: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    // Progress lines go to stderr; only the end is needed to explain a failure.
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ringkv ${args[0]} took more than ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

function rowOf(step: ScanRow['step'], items: number, seconds: number, bytes: number): ScanRow {
  const megabytes = bytes / megabyte;
  return { step, items, seconds: round(seconds), itemsPerSecond: Math.round(items / seconds), megabytes: round(megabytes), megabytesPerSecond: round(megabytes / seconds) };
}

function addressOf(url: string): string {
  return new URL(url).host;
}

export function reportScan(result: ScanResult): string[] {
  return [
    '',
    `Scans, backup and restore: ${result.keys} keys of ${result.valueBytes}-byte values on 3 nodes (N=3, lmdb), loaded with POST /batch ` +
      `(${result.loadKeysPerSecond} keys/s). One client pages GET /cluster/keys?limit=${result.pageLimit} through one node to the end (MB of JSON received), ` +
      `then \`ringkv backup\` of the cluster and \`ringkv restore\` into a fresh 3-node cluster (MB of the backup file). MB = 10^6 bytes.`,
    '',
    '| step | keys or records | seconds | per second | MB | MB/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...result.rows.map((row) => `| ${row.step} | ${row.items} | ${row.seconds} | ${row.itemsPerSecond} | ${row.megabytes} | ${row.megabytesPerSecond} |`),
    '',
    `keys listed by the restored cluster: ${result.restoredKeys} of ${result.keys}`,
  ];
}
