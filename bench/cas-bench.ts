// Conditional writes beside plain ones (issue 11, "Everywhere"): on one fresh 3-node LMDB
// cluster, closed loops in this process send, for the same time each, plain PUTs (LWW at
// w=quorum) and PUTs with If-Match (per-key Paxos among the key's replicas), at 1 and at 32
// requests in flight, each client on its own key, then all 32 on one key, where conditional
// writers race: a 412 hands the loser the current version (currentVersion), and it tries
// again with that. Prints requests/s and p50/p99, conditional over plain as ratios, and for
// the one-key race how many writes won. Where an `etcd` binary is installed (Debian's
// etcd-server, as the team's etcd yardstick runs it), the same loops drive a 3-member etcd
// through its JSON gateway: put, and the compare-and-swap transaction (compare mod_revision,
// then put) that etcd users write for the same job.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { killOnExit, sleep, startCluster, stopChild } from './cluster.js';
import { round } from './load.js';

export interface CasBenchOptions {
  basePort: number;
  seconds: number;
  /** Also drive etcd when its binary is installed. */
  etcd: boolean;
}

export type CasSystem = 'ringkv' | 'etcd';
export type CasOperation = 'PUT' | 'PUT If-Match' | 'PUT Idempotency-Key' | 'PUT ?ttl=60' | 'put' | 'txn compare-and-swap';
type RingkvOperation = 'PUT' | 'PUT If-Match' | 'PUT Idempotency-Key' | 'PUT ?ttl=60';
export type KeySpread = 'own key' | 'one key';

export interface CasRow {
  system: CasSystem;
  operation: CasOperation;
  clients: number;
  keys: KeySpread;
  /** Answers per second (won and refused together). */
  requestsPerSecond: number;
  /** Writes that took effect, per second. */
  wonPerSecond: number;
  /** Conditional writes refused (412, or a failed compare). */
  refused: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The errors by kind ("status 504", "TimeoutError"...). */
  errorKinds: Record<string, number>;
}

export interface CasResult {
  seconds: number;
  rows: CasRow[];
  /** Why etcd was not measured, when it was not. */
  etcdSkipped?: string;
}

/** What one request of a loop came to; an error is thrown, named by its kind. */
type StepOutcome = 'won' | 'refused';
/** One client's next request; `client` is its index. */
type Step = (client: number) => Promise<StepOutcome>;

const requestTimeoutMs = 10_000;
const value = 'v'.repeat(100);
const shapes: ReadonlyArray<{ clients: number; keys: KeySpread }> = [
  { clients: 1, keys: 'own key' },
  { clients: 32, keys: 'own key' },
  { clients: 32, keys: 'one key' },
];

export async function runCasBench(options: CasBenchOptions): Promise<CasResult> {
  const rows: CasRow[] = [];
  const cluster = await startCluster('lmdb', options.basePort);
  try {
    for (const shape of shapes) {
      for (const operation of ['PUT', 'PUT If-Match', 'PUT Idempotency-Key', 'PUT ?ttl=60'] as const) {
        const step = await ringkvStep(cluster.urls, operation, shape);
        rows.push(printed({ system: 'ringkv', operation, ...shape, ...(await drive(step, shape.clients, options.seconds)) }));
      }
    }
  } finally {
    await cluster.stop();
  }
  let etcdSkipped: string | undefined = options.etcd ? undefined : 'BENCH_CAS_ETCD=0';
  if (options.etcd) {
    const etcd = await startEtcd(options.basePort + 3).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (typeof etcd === 'string') etcdSkipped = etcd;
    else {
      try {
        for (const shape of shapes) {
          for (const operation of ['put', 'txn compare-and-swap'] as const) {
            const step = await etcdStep(etcd.urls, operation, shape);
            rows.push(printed({ system: 'etcd', operation, ...shape, ...(await drive(step, shape.clients, options.seconds)) }));
          }
        }
      } finally {
        await etcd.stop();
      }
    }
  }
  if (etcdSkipped !== undefined) process.stdout.write(`cas: etcd not measured: ${etcdSkipped}\n`);
  return { seconds: options.seconds, rows, ...(etcdSkipped === undefined ? {} : { etcdSkipped }) };
}

function printed(row: CasRow): CasRow {
  process.stdout.write(`cas ${row.system} ${row.operation} c=${row.clients} ${row.keys}: ${row.requestsPerSecond} req/s (${row.wonPerSecond} won/s, ${row.refused} refused), p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ${row.errors} errors${row.errors > 0 ? ` (${Object.entries(row.errorKinds).map(([kind, count]) => `${kind}: ${count}`).join(', ')})` : ''}\n`);
  return row;
}

/** The key of a client: its own, or the one all share; client i talks to node i mod 3. */
function keyOf(prefix: string, shape: { keys: KeySpread }, client: number): string {
  return shape.keys === 'one key' ? `${prefix}-shared` : `${prefix}-${client}`;
}

/**
 * ringkv loops. A conditional writer knows its key's version from its last answer: the 200's
 * new version, or the 412's currentVersion (another writer won), so it needs no read between
 * writes. Each shape uses fresh keys, created by a plain PUT first.
 */
async function ringkvStep(urls: readonly string[], operation: RingkvOperation, shape: { clients: number; keys: KeySpread }): Promise<Step> {
  const prefix = `cas-${operation.replace(/[^A-Za-z]+/g, '-').toLowerCase()}-${shape.clients}-${shape.keys.replace(' ', '-')}`;
  const urlOf = (client: number) => `${urls[client % urls.length] as string}/store/${keyOf(prefix, shape, client)}${operation === 'PUT ?ttl=60' ? '?ttl=60' : ''}`;
  const body = JSON.stringify({ value });
  const put = (client: number, headers: Record<string, string>) =>
    fetch(urlOf(client), { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(requestTimeoutMs) });
  const versions: string[] = [];
  for (let client = 0; client < shape.clients; client++) {
    const response = await put(client, {});
    const answer = (await response.json()) as { version?: string };
    if (response.status !== 200 || answer.version === undefined) throw new Error(`cas bench: creating ${urlOf(client)} answered ${response.status}`);
    versions[client] = answer.version;
  }
  if (operation === 'PUT' || operation === 'PUT ?ttl=60' || operation === 'PUT Idempotency-Key') {
    let writes = 0;
    return async (client) => {
      // Each write is a new one, with its own Idempotency-Key (a Paxos round among the key's replicas).
      const response = await put(client, operation === 'PUT Idempotency-Key' ? { 'idempotency-key': `${prefix}-${client}-${++writes}` } : {});
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      return 'won';
    };
  }
  return async (client) => {
    const response = await put(client, { 'if-match': `"${versions[client] as string}"` });
    const answer = (await response.json()) as { version?: string; currentVersion?: string | null };
    if (response.status === 200 && answer.version !== undefined) {
      versions[client] = answer.version;
      return 'won';
    }
    if (response.status === 412 && typeof answer.currentVersion === 'string') {
      versions[client] = answer.currentVersion;
      return 'refused';
    }
    throw new Error(`status ${response.status}`);
  };
}

/** `clients` loops, one request in flight each, for `seconds`; the latency of every answered request. */
async function drive(step: Step, clients: number, seconds: number): Promise<Omit<CasRow, 'system' | 'operation' | 'clients' | 'keys'>> {
  const latenciesMs: number[] = [];
  let won = 0;
  let refused = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const endMs = performance.now() + seconds * 1000;
  const loop = async (client: number) => {
    while (performance.now() < endMs) {
      const startedMs = performance.now();
      const outcome = await step(client).catch((error: unknown) => {
        const kind = error instanceof Error ? (error.name === 'Error' ? error.message : error.name) : String(error);
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        return undefined;
      });
      if (outcome === undefined) {
        errors++;
        // A failing loop must not spin: a short pause, as a real client would back off.
        await sleep(10);
        continue;
      }
      latenciesMs.push(performance.now() - startedMs);
      if (outcome === 'won') won++;
      else refused++;
    }
  };
  const startedMs = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, client) => loop(client)));
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  latenciesMs.sort((a, b) => a - b);
  const at = (share: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(share * latenciesMs.length))] ?? 0;
  return {
    requestsPerSecond: Math.round(latenciesMs.length / elapsedSeconds),
    wonPerSecond: Math.round(won / elapsedSeconds),
    refused,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    errors,
    errorKinds,
  };
}

export interface EtcdCluster {
  urls: string[];
  stop(): Promise<void>;
}

/** Three etcd members on 127.0.0.1 (client ports base..base+2, peer ports base+3..base+5), as the team's etcd yardstick starts them. */
export async function startEtcd(basePort: number): Promise<EtcdCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-etcd-'));
  const members = [0, 1, 2].map((index) => ({ name: `m${index + 1}`, client: `http://127.0.0.1:${basePort + index}`, peer: `http://127.0.0.1:${basePort + 3 + index}` }));
  const initialCluster = members.map((member) => `${member.name}=${member.peer}`).join(',');
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => stopChild(child)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const member of members) {
    const child = spawn(
      'etcd',
      [
        '--name', member.name, '--data-dir', join(dataDir, member.name),
        '--listen-client-urls', member.client, '--advertise-client-urls', member.client,
        '--listen-peer-urls', member.peer, '--initial-advertise-peer-urls', member.peer,
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'ringkv-bench', '--initial-cluster-state', 'new',
        '--logger', 'zap', '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    killOnExit(child);
    children.push(child);
  }
  const missing = await new Promise<string | undefined>((resolve) => {
    children[0]?.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ENOENT' ? 'no etcd binary (apt-get install etcd-server)' : error.message));
    children[0]?.once('spawn', () => resolve(undefined));
  });
  if (missing !== undefined) {
    await stop();
    throw new Error(missing);
  }
  const urls = members.map((member) => member.client);
  const deadline = Date.now() + 30_000;
  while (!(await etcdAnswers(urls))) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the etcd members did not answer within 30 s');
    }
    await sleep(200);
  }
  process.stdout.write(`etcd up, ${urls.join(' ')}\n`);
  return { urls, stop };
}

async function etcdAnswers(urls: readonly string[]): Promise<boolean> {
  const answers = await Promise.all(urls.map((url) => etcdCall(url, 'kv/range', { key: base64('probe') }).then(() => true, () => false)));
  return answers.every(Boolean);
}

/** etcd's JSON gateway (etcd 3.4 serves /v3/...): keys and values in base64, int64 as strings. */
export async function etcdCall(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/v3/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(requestTimeoutMs) });
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`etcd ${path} status ${response.status}`);
  return answer;
}

/**
 * etcd loops. The compare-and-swap is one transaction: if the key's mod_revision is still
 * the one this client knows, put; else read the key, whose mod_revision the client keeps
 * for its next try (as a 412's currentVersion does for ringkv).
 */
async function etcdStep(urls: readonly string[], operation: 'put' | 'txn compare-and-swap', shape: { clients: number; keys: KeySpread }): Promise<Step> {
  const prefix = `cas-${operation === 'put' ? 'plain' : 'txn'}-${shape.clients}-${shape.keys.replace(' ', '-')}`;
  const urlOf = (client: number) => urls[client % urls.length] as string;
  const encodedValue = base64(value);
  const revisions: string[] = [];
  for (let client = 0; client < shape.clients; client++) {
    const answer = await etcdCall(urlOf(client), 'kv/put', { key: base64(keyOf(prefix, shape, client)), value: encodedValue });
    revisions[client] = String((answer.header as { revision?: string } | undefined)?.revision ?? '0');
  }
  if (operation === 'put') {
    return async (client) => {
      await etcdCall(urlOf(client), 'kv/put', { key: base64(keyOf(prefix, shape, client)), value: encodedValue });
      return 'won';
    };
  }
  return async (client) => {
    const key = base64(keyOf(prefix, shape, client));
    const answer = await etcdCall(urlOf(client), 'kv/txn', {
      compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: revisions[client] }],
      success: [{ request_put: { key, value: encodedValue } }],
      failure: [{ request_range: { key } }],
    });
    if (answer.succeeded === true) {
      revisions[client] = String((answer.header as { revision?: string } | undefined)?.revision ?? '0');
      return 'won';
    }
    const range = (answer.responses as Array<{ response_range?: { kvs?: Array<{ mod_revision?: string }> } }> | undefined)?.[0]?.response_range;
    const current = range?.kvs?.[0]?.mod_revision;
    if (current === undefined) throw new Error('txn failed without the current revision');
    revisions[client] = current;
    return 'refused';
  };
}

export function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}


export function reportCas(result: CasResult): string[] {
  const lines = [
    '',
    `Conditional writes: 3 nodes, N=3, LMDB; closed loops in this process through fetch, one request in flight per client, ${result.seconds} s each.`,
    'PUT is a plain quorum write; PUT If-Match a per-key Paxos round. On one key, 32 writers race: a 412 gives the loser the current version to try again. ' +
      'PUT Idempotency-Key is a Paxos round too (each write a new key, remembered by the replicas); PUT ?ttl=60 a plain quorum write of an expiring value.',
    '',
    '| system | operation | clients | keys | requests/s | won/s | refused | p50 ms | p99 ms | errors |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.rows.map((r) => `| ${r.system} | ${r.operation} | ${r.clients} | ${r.keys} | ${r.requestsPerSecond} | ${r.wonPerSecond} | ${r.refused} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} |`),
    '',
  ];
  const find = (system: CasSystem, operation: CasOperation, shape: (typeof shapes)[number]) =>
    result.rows.find((r) => r.system === system && r.operation === operation && r.clients === shape.clients && r.keys === shape.keys);
  for (const shape of shapes) {
    const plain = find('ringkv', 'PUT', shape);
    const conditional = find('ringkv', 'PUT If-Match', shape);
    if (plain === undefined || conditional === undefined || plain.requestsPerSecond === 0 || plain.p50Ms === 0) continue;
    const line = `c=${shape.clients} ${shape.keys}: If-Match / plain requests/s ${round(conditional.requestsPerSecond / plain.requestsPerSecond)}x, won/s ${round(conditional.wonPerSecond / plain.wonPerSecond)}x, p50 ${round(conditional.p50Ms / plain.p50Ms)}x`;
    const txn = find('etcd', 'txn compare-and-swap', shape);
    const idempotent = find('ringkv', 'PUT Idempotency-Key', shape);
    const withKey = idempotent === undefined ? '' : `; Idempotency-Key / plain requests/s ${round(idempotent.requestsPerSecond / plain.requestsPerSecond)}x`;
    lines.push(`${line}${withKey}${txn === undefined || txn.wonPerSecond === 0 ? '' : `; ringkv If-Match / etcd txn won/s ${round(conditional.wonPerSecond / txn.wonPerSecond)}x`}`);
  }
  if (result.etcdSkipped !== undefined) lines.push(`etcd not measured: ${result.etcdSkipped}.`);
  return lines;
}
