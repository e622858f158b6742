// The benchmark's own local cluster: real node processes started through the CLI, on
// fresh temporary data directories, and every one of them stopped when the benchmark
// ends, however it ends (normal return, error, Ctrl-C).
import { spawn, type ChildProcess } from 'node:child_process';
import { createCertificates, createToken, ensureClusterSecretFile, fetchTrusting } from '@ringkv/server';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingkvClient } from '@ringkv/client';

const here = dirname(fileURLToPath(import.meta.url));
const cliPath = join(here, '..', '..', 'packages', 'server', 'dist', 'cli.js');
const startTimeoutMs = 60_000;
const stopTimeoutMs = 10_000;

export type Storage = 'memory' | 'lmdb';

export interface BenchNode {
  id: string;
  address: string;
  url: string;
  child: ChildProcess;
}

export interface BenchCluster {
  /** The founding members' base URLs. */
  urls: string[];
  /** Set when the cluster runs the secure way (TLS, mutual TLS between peers, tokens). */
  credentials?: { token: string; caPem: string };
  nodes: BenchNode[];
  /** Starts a new node with the founders as seeds: it joins the running cluster. */
  /** Starts one more node with the founders as seeds, and `args` besides the usual ones. */
  addNode(id: string, port: number, args?: string[]): BenchNode;
  /** Stops a node (SIGTERM) and starts it again on the same port and data directory; resolves once it is spawned. */
  restartNode(id: string): Promise<BenchNode>;
  stop(): Promise<void>;
}

/** BENCH_NODE_ARGS: extra Node.js flags for every node process, to profile one (`--cpu-prof --cpu-prof-dir=DIR`). */
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');

/** Every process (node, load generator) and data directory this benchmark started, so an exit handler can still clean up what is left. */
const running = new Set<ChildProcess>();
const dataDirs = new Set<string>();
let exitHooked = false;

/** Kills `child` when the benchmark exits, if it is still running then. */
export function killOnExit(child: ChildProcess): void {
  hookExit();
  running.add(child);
  child.once('exit', () => running.delete(child));
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // 'exit' handlers run synchronously: SIGKILL is all there is time for.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark's nodes\n`);
      process.exit(130);
    });
  }
}

/**
 * Starts the three founding members, each with the other two as seeds (as the README runs
 * them); a node added later gets all three. Resolves once every node sees all three as up
 * and normal with no ring change under way: until the ring is formed, writes are refused.
 */
export async function startCluster(storage: Storage, basePort: number, secure = false): Promise<BenchCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ringkv-bench-'));
  dataDirs.add(dataDir);
  const founders = [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`);
  const secretFile = join(dataDir, 'cluster-secret');
  ensureClusterSecretFile(secretFile);
  const security = secure ? secureSetup(dataDir) : undefined;
  const nodes: BenchNode[] = [];
  const spawnNode = (id: string, port: number, args: string[] = []): BenchNode => {
    const address = `127.0.0.1:${port}`;
    const seeds = founders.filter((founder) => founder !== address).join(',');
    const child = spawn(
      process.execPath,
      [...nodeArgs, cliPath, 'node', '--id', id, '--port', String(port), '--seeds', seeds, '--cluster-secret-file', secretFile, ...(security?.args(id) ?? []), '--storage', storage, '--data-dir', join(dataDir, id), '--log-level', 'warn', ...args],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    killOnExit(child);
    return { id, address, url: `${security ? 'https' : 'http'}://${address}`, child };
  };
  const startNode = (id: string, port: number, args: string[] = []): BenchNode => {
    const node = spawnNode(id, port, args);
    nodes.push(node);
    return node;
  };
  founders.forEach((_, i) => startNode(`n${i + 1}`, basePort + i));
  const cluster: BenchCluster = {
    urls: nodes.map((node) => node.url),
    ...(security ? { credentials: security.credentials } : {}),
    nodes,
    addNode: startNode,
    restartNode: async (id) => {
      const index = nodes.findIndex((node) => node.id === id);
      const old = nodes[index];
      if (old === undefined) throw new Error(`no node ${id} in the benchmark cluster`);
      await stopChild(old.child);
      const node = spawnNode(id, Number(old.address.split(':')[1]));
      nodes[index] = node;
      return node;
    },
    stop: async () => {
      await Promise.all(nodes.map((node) => stopChild(node.child)));
      rmSync(dataDir, { recursive: true, force: true });
      dataDirs.delete(dataDir);
    },
  };
  try {
    await waitForStableRing(cluster, startTimeoutMs);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  process.stdout.write(`cluster up (${storage}), ${cluster.urls.join(' ')}\n`);
  return cluster;
}

/** Until every node answers and agrees that all members are up and normal, and nothing moves. */
export async function waitForStableRing(cluster: BenchCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(
      cluster.nodes.map((node) => benchClient(cluster, node.url).cluster().catch(() => undefined)),
    );
    const stable = views.every(
      (view) =>
        view !== undefined &&
        !view.rebalancing &&
        view.members.length === cluster.nodes.length &&
        view.members.every((member) => member.state === 'up' && member.ringStatus === 'normal'),
    );
    if (stable) return;
    const exited = cluster.nodes.find((node) => node.child.exitCode !== null || node.child.signalCode !== null);
    if (exited) throw new Error(`node ${exited.id} exited (${exited.child.signalCode ?? `code ${exited.child.exitCode}`})`);
    if (Date.now() > deadline) throw new Error(`the benchmark cluster did not settle within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** A client for one node, with the cluster's token and CA when it runs the secure way. */
export function benchClient(cluster: Pick<BenchCluster, 'credentials'>, url: string): RingkvClient {
  const credentials = cluster.credentials;
  return new RingkvClient({ baseUrl: url, timeoutMs: 2000, ...(credentials ? { token: credentials.token, fetch: fetchTrusting(credentials.caPem) } : {}) });
}

/** Certificates for n1..n3 (mutual TLS between peers) and a write token, as an application would have. */
function secureSetup(dataDir: string): { args(id: string): string[]; credentials: { token: string; caPem: string } } {
  const certDir = join(dataDir, 'certs');
  const certificates = createCertificates({ outDir: certDir, nodeIds: ['n1', 'n2', 'n3'], hosts: ['127.0.0.1', 'localhost'], days: 2 });
  const authFile = join(dataDir, 'auth.json');
  const { token } = createToken(authFile, { role: 'write', name: 'bench' }, Date.now());
  return {
    args: (id) => ['--tls-cert', join(certDir, `${id}.pem`), '--tls-key', join(certDir, `${id}-key.pem`), '--tls-ca', certificates.caCertFile, '--auth-file', authFile],
    credentials: { token, caPem: readFileSync(certificates.caCertFile, 'utf8') },
  };
}

/** SIGTERM, then SIGKILL for a process that has not exited within `timeoutMs`; resolves once it has exited. */
export function stopChild(child: ChildProcess, timeoutMs = stopTimeoutMs): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    // A node that does not stop in time (e.g. stuck in a long write) is killed outright.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
