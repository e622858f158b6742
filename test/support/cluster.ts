// Starts real ringkv node processes on free loopback ports for integration tests, and
// stops them (SIGTERM, then SIGKILL) when the test is done. Every wait is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureClusterSecretFile } from '@ringkv/server';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingkvClient } from '@ringkv/client';
import { cliPath } from './cli.js';


export interface TestNode {
  id: string;
  port: number;
  url: string;
  client: RingkvClient;
  /** Output of the current process, for failure messages. */
  output(): string;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void;
  start(): Promise<void>;
}

export interface TestCluster {
  nodes: TestNode[];
  dataDir: string;
  /** Starts one more node that joins through the running members (its seeds), with `args` besides the cluster's. */
  addNode(id: string, args?: string[]): Promise<TestNode>;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  nodes: number;
  replicas?: number;
  storage?: 'memory' | 'lmdb';
  extraArgs?: string[];
  /** Wait until every node is ready and sees every member up (default true). */
  waitUntilUp?: boolean;
  /** API token for the nodes' clients and readiness checks, when extraArgs pass --auth-file. */
  token?: string;
  /** Runs before any node starts, with the folder holding each node's data directory (`<dataDir>/<id>`): to mount a small disk there, say. */
  beforeStart?(dataDir: string): void;
}

/** Ports that were free a moment ago (the OS picks them). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<import('node:net').Server>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((server) => (server.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export async function startCluster(options: StartClusterOptions): Promise<TestCluster> {
  const ports = await freePorts(options.nodes);
  const dataDir = mkdtempSync(join(tmpdir(), 'ringkv-test-'));
  // One secret for every node, as `ringkv cluster` hands out (a node alone would generate its own).
  const secretFile = join(dataDir, 'cluster-secret');
  ensureClusterSecretFile(secretFile);
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  const nodeArgs = (id: string, seeds: readonly string[]) => [
    '--host', '127.0.0.1',
    '--cluster-secret-file', secretFile,
    '--seeds', seeds.join(','),
    '--replicas', String(options.replicas ?? 3),
    '--storage', options.storage ?? 'memory',
    '--data-dir', join(dataDir, id),
    '--probe-interval-ms', '300',
    '--log-level', 'warn',
    ...(options.extraArgs ?? []),
  ];
  const nodes = ports.map((port, index) =>
    createTestNode({ id: `n${index + 1}`, port, token: options.token, args: nodeArgs(`n${index + 1}`, addresses.filter((address) => address !== `127.0.0.1:${port}`)) }),
  );
  const cluster: TestCluster = {
    nodes,
    dataDir,
    addNode: async (id, args = []) => {
      const [port] = (await freePorts(1)) as [number];
      const node = createTestNode({ id, port, token: options.token, args: [...nodeArgs(id, addresses), ...args] });
      nodes.push(node);
      await node.start();
      return node;
    },
    stop: async () => {
      await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    options.beforeStart?.(dataDir);
    await Promise.all(nodes.map((node) => node.start()));
    if (options.waitUntilUp ?? true) await waitForAllUp(nodes, 20_000);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

function createTestNode(spec: { id: string; port: number; token?: string | undefined; args: string[] }): TestNode {
  const headers: Record<string, string> = spec.token === undefined ? {} : { authorization: `Bearer ${spec.token}` };
  let child: ChildProcess | undefined;
  let output = '';
  const url = `http://127.0.0.1:${spec.port}`;
  const node: TestNode = {
    id: spec.id,
    port: spec.port,
    url,
    client: new RingkvClient({ baseUrl: url, timeoutMs: 10_000, token: spec.token ?? '' }),
    output: () => output.slice(-4000),
    async start() {
      output = '';
      const process_ = spawn(process.execPath, [cliPath, 'node', '--id', spec.id, '--port', String(spec.port), ...spec.args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = process_;
      process_.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      process_.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitFor(async () => (await fetch(`${url}/status`, { headers, signal: AbortSignal.timeout(500) })).ok, 15_000, () => {
        if (process_.exitCode !== null) throw new Error(`node ${spec.id} exited: ${output}`);
      });
    },
    signal(signal) {
      child?.kill(signal);
    },
    async kill(signal = 'SIGTERM') {
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.kill('SIGCONT'); // a paused process must run to handle its signal
      current.kill(signal);
      const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return node;
}

/** Every node is ready (/health ok), sees all members up, and the ring is settled (no member joining, nothing moving). */
export async function waitForAllUp(nodes: TestNode[], timeoutMs: number, expectedUp = nodes.length): Promise<void> {
  await waitFor(async () => {
    const views = await Promise.all(nodes.map((node) => node.client.cluster().catch(() => undefined)));
    const settled = (view: (typeof views)[number]) => view !== undefined && !view.rebalancing && view.members.every((member) => member.ringStatus !== 'joining');
    if (!views.every((view) => settled(view) && view!.members.filter((member) => member.state === 'up').length >= expectedUp)) return false;
    const health = await Promise.all(nodes.map((node) => fetch(`${node.url}/health`, { signal: AbortSignal.timeout(1000) }).then((response) => response.ok, () => false)));
    return health.every(Boolean);
  }, timeoutMs);
}

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, onEachTry?: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    onEachTry?.();
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
}
