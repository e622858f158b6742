// `ringkv cluster`: starts N real node processes on one machine (what `npm start` and
// ./run_nodes.sh run), waits until every node is ready, prints where to go, and stops
// them all cleanly on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocalClusterOptions {
  nodes: number;
  basePort: number;
  host: string;
  replicas: number;
  vnodes: number;
  storage: 'lmdb' | 'memory';
  dataDir: string;
  logLevel: string;
  /** Extra flags passed to every node. */
  nodeArgs: string[];
}

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 10_000;

export async function runLocalCluster(options: LocalClusterOptions): Promise<void> {
  const addresses = Array.from({ length: options.nodes }, (_, i) => `${options.host}:${options.basePort + i}`);
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the cluster...\n');
    await Promise.all(children.map((child) => stopChild(child)));
    process.stdout.write('All nodes stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  addresses.forEach((address, index) => {
    const id = `n${index + 1}`;
    const args = [
      cliPath, 'node',
      '--id', id,
      '--host', options.host,
      '--port', String(options.basePort + index),
      '--seeds', addresses.filter((other) => other !== address).join(','),
      '--replicas', String(options.replicas),
      '--vnodes', String(options.vnodes),
      '--storage', options.storage,
      '--data-dir', join(options.dataDir, id),
      '--log-level', options.logLevel,
      ...options.nodeArgs,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    prefixLines(child, id);
    child.on('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`[${id}] exited (${signal ?? `code ${code}`}); the other nodes keep serving\n`);
    });
    children.push(child);
  });

  const ready = await waitUntilReady(addresses);
  if (!ready) {
    process.stderr.write(`The cluster did not become ready within ${readyTimeoutMs / 1000} s; see the node output above.\n`);
    await stopAll(1);
    return;
  }
  printBanner(addresses, options);
}

function printBanner(addresses: string[], options: LocalClusterOptions): void {
  const lines = [
    '',
    `ringkv is running: ${addresses.length} nodes, ${options.replicas} replicas per key, ${options.storage} storage${options.storage === 'lmdb' ? ` under ${options.dataDir}` : ''}`,
    '',
    ...addresses.map((address, index) =>
      `  n${index + 1}  API http://${address}   docs http://${address}/docs   metrics http://${address}/metrics`,
    ),
    '',
    `  Dashboard: http://${addresses[0]}/dashboard (served by every node)`,
    '',
    'Try it:',
    `  curl -X PUT "http://${addresses[0]}/store/mykey" -H "Content-Type: application/json" -d '{"value": "test"}'`,
    `  curl "http://${addresses[addresses.length - 1]}/store/mykey"`,
    '',
    'Press Ctrl-C to stop all nodes.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

async function waitUntilReady(addresses: string[]): Promise<boolean> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const states = await Promise.all(addresses.map((address) => isReady(address, addresses.length)));
    if (states.every(Boolean)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function isReady(address: string, members: number): Promise<boolean> {
  try {
    const health = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(1000) });
    if (!health.ok) return false;
    const cluster = (await (await fetch(`http://${address}/cluster`, { signal: AbortSignal.timeout(1000) })).json()) as {
      members: Array<{ state: string }>;
    };
    return cluster.members.filter((member) => member.state === 'up').length >= members;
  } catch {
    return false;
  }
}

function prefixLines(child: ChildProcess, id: string): void {
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) out.write(`[${id}] ${line}\n`);
    });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
