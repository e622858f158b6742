// Where the chaos run's nodes live and how their links are cut. Two worlds, one interface:
// - namespaces: each node in its own network namespace, joined by a veth to a bridge in a
//   per-run "hub" namespace; the test process (root namespace) reaches the bridge through
//   one more veth. Addresses come from a private 10.201.X.0/24 that only these namespaces
//   use. Partitions are policy rules ("from <peer> blackhole", placed before the local
//   table) inside a node's namespace: the peer's packets are dropped silently on arrival,
//   so both directions stall as on a real cut link. Isolating a node takes its bridge
//   port down. Only iproute2 is needed (no nftables, no tc).
// - loopback: every node on 127.0.0.1; no partitions (kill, pause and restart only).
// Every `ip` call has a timeout, and everything created is deleted in destroy(); a run
// that died without cleaning up is swept by the next run (names carry the owner's pid).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { freePorts } from './cluster.js';

const execFileAsync = promisify(execFile);
const ipTimeoutMs = 5000;
const namePrefix = 'rkchaos';
/** Second octet range of the private networks this harness may use. */
const subnetBase = '10.201';
const nodePortInNamespace = 7100;

export type NetworkKind = 'namespaces' | 'loopback';

export interface ChaosNetwork {
  readonly kind: NetworkKind;
  /** Partitions and isolation are possible (namespaces only). */
  readonly canPartition: boolean;
  readonly nodeCount: number;
  hostOf(index: number): string;
  portOf(index: number): number;
  /** The program and arguments that run `argv` where node `index` lives. */
  commandFor(index: number, argv: readonly string[]): { file: string; args: string[] };
  /** Drops all traffic between every node of `sideA` and every node of `sideB`. */
  partition(sideA: readonly number[], sideB: readonly number[]): Promise<void>;
  /** Cuts node `index` off from everyone, the test client included. */
  isolate(index: number): Promise<void>;
  /** Undoes every partition and isolation. */
  heal(): Promise<void>;
  describe(): string;
  /** Deletes everything created; safe to call twice. */
  destroy(): Promise<void>;
  /** The same, synchronously, for process exit and signal handlers. */
  destroySync(): void;
}

/** Why namespaces cannot be used here, or undefined when they can. */
export async function namespacesUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `platform is ${process.platform}, not linux`;
  if (process.getuid?.() !== 0) return 'not running as root (ip netns needs CAP_SYS_ADMIN)';
  try {
    await ip(['-V']);
  } catch (error) {
    return `iproute2's ip command is not usable: ${messageOf(error)}`;
  }
  const probe = `${namePrefix}-${process.pid}-probe`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (error) {
    return `ip netns add failed: ${messageOf(error)}`;
  }
  await ip(['netns', 'del', probe]).catch(() => undefined);
  return undefined;
}

export async function createLoopbackNetwork(nodeCount: number): Promise<ChaosNetwork> {
  const ports = await freePorts(nodeCount);
  const unsupported = () => Promise.reject(new Error('partitions need network namespaces; this run is on loopback'));
  return {
    kind: 'loopback',
    canPartition: false,
    nodeCount,
    hostOf: () => '127.0.0.1',
    portOf: (index) => ports[index] as number,
    commandFor: (_index, argv) => ({ file: argv[0] as string, args: argv.slice(1) }),
    partition: unsupported,
    isolate: unsupported,
    heal: () => Promise.resolve(),
    describe: () => `loopback 127.0.0.1, ports ${ports.join(', ')}`,
    destroy: () => Promise.resolve(),
    destroySync: () => undefined,
  };
}

let runsInThisProcess = 0;

export async function createNamespaceNetwork(nodeCount: number): Promise<ChaosNetwork> {
  if (nodeCount < 1 || nodeCount > 100) throw new Error(`nodeCount must be 1..100, got ${nodeCount}`);
  await sweepAbandonedNamespaces();
  runsInThisProcess += 1;
  const tag = `${process.pid}-${runsInThisProcess}`;
  const network = new NamespaceNetwork(tag, nodeCount, await pickFreeSubnet());
  try {
    await network.build();
  } catch (error) {
    await network.destroy();
    throw error;
  }
  return network;
}

class NamespaceNetwork implements ChaosNetwork {
  readonly kind = 'namespaces';
  readonly canPartition = true;
  readonly nodeCount: number;
  private readonly hub: string;
  private readonly nodeNamespaces: string[];
  /** The root namespace's end of the link to the hub (interface names are at most 15 bytes). */
  private readonly rootLink: string;
  private readonly subnet: string;
  /** Active drop rules: "<index>|<peer address>". */
  private readonly dropRules = new Set<string>();
  private readonly isolated = new Set<number>();
  private destroyed = false;

  constructor(tag: string, nodeCount: number, subnet: string) {
    this.nodeCount = nodeCount;
    this.subnet = subnet;
    this.hub = `${namePrefix}-${tag}-hub`;
    this.nodeNamespaces = Array.from({ length: nodeCount }, (_, index) => `${namePrefix}-${tag}-n${index + 1}`);
    this.rootLink = `rkc${Number(tag.split('-')[0]).toString(36)}x${tag.split('-')[1]}`.slice(0, 15);
  }

  hostOf(index: number): string {
    return `${this.subnet}.${10 + index}`;
  }

  portOf(): number {
    return nodePortInNamespace;
  }

  commandFor(index: number, argv: readonly string[]): { file: string; args: string[] } {
    // `ip netns exec` enters the namespace and then execs argv, so the child's pid is the
    // node's own pid: signals sent to it reach the node, not a wrapper.
    return { file: 'ip', args: ['netns', 'exec', this.namespaceOf(index), ...argv] };
  }

  async build(): Promise<void> {
    await ip(['netns', 'add', this.hub]);
    await ip(['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', this.hub, 'link', 'set', 'br0', 'up']);
    for (let index = 0; index < this.nodeCount; index++) await this.buildNode(index);
    await ip(['link', 'add', this.rootLink, 'type', 'veth', 'peer', 'name', 'up0', 'netns', this.hub]);
    await ip(['-n', this.hub, 'link', 'set', 'up0', 'master', 'br0']);
    await ip(['-n', this.hub, 'link', 'set', 'up0', 'up']);
    await ip(['addr', 'add', `${this.subnet}.1/24`, 'dev', this.rootLink]);
    await ip(['link', 'set', this.rootLink, 'up']);
  }

  private async buildNode(index: number): Promise<void> {
    const namespace = this.namespaceOf(index);
    const port = `n${index + 1}`;
    await ip(['netns', 'add', namespace]);
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    await ip(['-n', this.hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace]);
    await ip(['-n', this.hub, 'link', 'set', port, 'master', 'br0']);
    await ip(['-n', this.hub, 'link', 'set', port, 'up']);
    await ip(['-n', namespace, 'addr', 'add', `${this.hostOf(index)}/24`, 'dev', 'eth0']);
    await ip(['-n', namespace, 'link', 'set', 'eth0', 'up']);
    // Move the local-table lookup below the drop rules (pref 10), so that a dropped peer's
    // packets are discarded before they are recognised as addressed to this node.
    await ip(['-n', namespace, 'rule', 'add', 'pref', '100', 'lookup', 'local']);
    await ip(['-n', namespace, 'rule', 'del', 'pref', '0']);
  }

  async partition(sideA: readonly number[], sideB: readonly number[]): Promise<void> {
    for (const a of sideA) {
      for (const b of sideB) {
        if (a === b) throw new Error(`node index ${a} is on both sides of the partition`);
        await this.dropFrom(a, b);
        await this.dropFrom(b, a);
      }
    }
  }

  private async dropFrom(index: number, peer: number): Promise<void> {
    const rule = `${index}|${this.hostOf(peer)}`;
    if (this.dropRules.has(rule)) return;
    await ip(['-n', this.namespaceOf(index), 'rule', 'add', 'pref', '10', 'from', this.hostOf(peer), 'blackhole']);
    this.dropRules.add(rule);
  }

  async isolate(index: number): Promise<void> {
    await ip(['-n', this.hub, 'link', 'set', `n${index + 1}`, 'down']);
    this.isolated.add(index);
  }

  async heal(): Promise<void> {
    for (const rule of [...this.dropRules]) {
      const [index, address] = rule.split('|') as [string, string];
      await ip(['-n', this.namespaceOf(Number(index)), 'rule', 'del', 'pref', '10', 'from', address, 'blackhole']);
      this.dropRules.delete(rule);
    }
    for (const index of [...this.isolated]) {
      await ip(['-n', this.hub, 'link', 'set', `n${index + 1}`, 'up']);
      this.isolated.delete(index);
    }
  }

  describe(): string {
    return `network namespaces ${this.hub} and ${this.nodeNamespaces.join(', ')}; nodes ${this.hostOf(0)}..${this.hostOf(this.nodeCount - 1)}:${nodePortInNamespace}; client via ${this.rootLink} ${this.subnet}.1`;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    // Deleting a namespace deletes the veths in it, and with them their peers.
    for (const namespace of [...this.nodeNamespaces, this.hub]) await ip(['netns', 'del', namespace]).catch(() => undefined);
    await ip(['link', 'del', this.rootLink]).catch(() => undefined);
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const namespace of [...this.nodeNamespaces, this.hub]) ipSync(['netns', 'del', namespace]);
    ipSync(['link', 'del', this.rootLink]);
  }

  private namespaceOf(index: number): string {
    const namespace = this.nodeNamespaces[index];
    if (namespace === undefined) throw new Error(`no node index ${index}`);
    return namespace;
  }
}

/** A 10.201.X.0/24 that no route in the root namespace uses yet (another run may hold one). */
async function pickFreeSubnet(): Promise<string> {
  const { stdout } = await ip(['-4', 'route', 'show']);
  const used = new Set<number>();
  for (const match of stdout.matchAll(/\b10\.201\.(\d+)\./g)) used.add(Number(match[1]));
  const start = process.pid % 250;
  for (let step = 0; step < 250; step++) {
    const third = 1 + ((start + step) % 250);
    if (!used.has(third)) return `${subnetBase}.${third}`;
  }
  throw new Error(`every ${subnetBase}.X.0/24 is in use`);
}

/**
 * Deletes namespaces left by chaos runs whose process is gone (killed before its cleanup
 * ran), after killing the node processes still inside them, which that run had started.
 */
async function sweepAbandonedNamespaces(): Promise<void> {
  const { stdout } = await ip(['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = new RegExp(`^${namePrefix}-(\\d+)-`).exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    const pids = (await ip(['netns', 'pids', name]).catch(() => ({ stdout: '' }))).stdout.split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await ip(['netns', 'del', name]).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ip(args: string[]): Promise<{ stdout: string }> {
  try {
    const { stdout } = await execFileAsync('ip', args, { timeout: ipTimeoutMs, encoding: 'utf8' });
    return { stdout };
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || messageOf(error)}`);
  }
}

function ipSync(args: string[]): void {
  try {
    execFileSync('ip', args, { timeout: ipTimeoutMs, stdio: 'ignore' });
  } catch {
    // Best effort during exit: the next run sweeps what is left.
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
