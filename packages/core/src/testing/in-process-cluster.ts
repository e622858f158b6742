// A whole ringkv cluster in one process: real ClusterNodes over a MemoryNetwork, with
// MemoryEngines and one VirtualClock, all driven from a seed. Used by the core's tests
// and by the simulator (sim/). Time moves only when `run` or `settle` advance it.
import { VirtualClock } from '../clock/virtual-clock.js';
import { ClusterNode, type ClusterNodeOptions } from '../cluster/cluster-node.js';
import type { KeyHasher } from '../ring/hash.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../protocol/memory-network.js';
import { SeededRng } from '../rng.js';
import { MemoryEngine } from '../storage/memory-engine.js';

export interface InProcessClusterOptions {
  nodes: number;
  seed: number;
  hash: KeyHasher;
  /** Lets pending promise callbacks run; tests pass `() => new Promise(setImmediate)`. */
  yieldToEventLoop: () => Promise<void>;
  network?: Partial<MemoryNetworkOptions>;
  node?: Partial<ClusterNodeOptions>;
}

export interface InProcessMember {
  nodeId: string;
  address: string;
  node: ClusterNode;
  engine: MemoryEngine;
  up: boolean;
}

export const inProcessNodeDefaults: ClusterNodeOptions = {
  replicas: 3,
  vnodes: 64,
  probeIntervalMs: 200,
  membership: { probeTimeoutMs: 100, suspectAfterMissed: 1, downAfterMissed: 3 },
  coordinator: { writeTimeoutMs: 200, readTimeoutMs: 200, readRepairChance: 0 },
};

export class InProcessCluster {
  readonly clock = new VirtualClock();
  readonly rng: SeededRng;
  readonly network: MemoryNetwork;
  readonly members: InProcessMember[] = [];
  private readonly options: InProcessClusterOptions;
  private readonly nodeOptions: ClusterNodeOptions;

  constructor(options: InProcessClusterOptions) {
    this.options = options;
    this.rng = new SeededRng(options.seed);
    this.network = new MemoryNetwork(this.clock, this.rng, options.network ?? {});
    this.nodeOptions = { ...inProcessNodeDefaults, ...options.node };
    const addresses = Array.from({ length: options.nodes }, (_, i) => `10.0.0.${i + 1}:8000`);
    addresses.forEach((address, index) => {
      const member: InProcessMember = { nodeId: `n${index + 1}`, address, engine: new MemoryEngine(), up: true } as InProcessMember;
      member.node = this.buildNode(member, addresses);
      this.members.push(member);
    });
  }

  /** Starts probing on every node and runs until all know each other. */
  async start(): Promise<void> {
    for (const member of this.members) member.node.start();
    await this.run(1000);
  }

  member(nodeId: string): InProcessMember {
    const found = this.members.find((member) => member.nodeId === nodeId);
    if (!found) throw new Error(`no member ${nodeId}`);
    return found;
  }

  /** A crash: the node stops answering and probing; its engine is kept (or dropped). */
  crash(nodeId: string, options: { loseData?: boolean } = {}): void {
    const member = this.member(nodeId);
    member.node.stop();
    member.up = false;
    this.network.setUp(member.address, false);
    if (options.loseData) member.engine = new MemoryEngine();
  }

  /** Restart a crashed node with a fresh core over its (kept or lost) engine. */
  restart(nodeId: string): void {
    const member = this.member(nodeId);
    member.node = this.buildNode(member, this.members.map((item) => item.address));
    this.network.replaceHandler(member.address, member.node.handleRequest);
    this.network.setUp(member.address, true);
    member.up = true;
    member.node.start();
  }

  stop(): void {
    for (const member of this.members) member.node.stop();
  }

  /** Advances virtual time by `ms` in 1 ms steps, letting callbacks run between steps. */
  async run(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed++) {
      this.clock.advance(1);
      await this.options.yieldToEventLoop();
    }
  }

  /** Runs virtual time until `operation` settles (at most `limitMs`), then returns its result. */
  async settle<T>(operation: Promise<T>, limitMs = 10_000): Promise<T> {
    let done = false;
    const tracked = operation.finally(() => {
      done = true;
    });
    tracked.catch(() => undefined);
    for (let elapsed = 0; !done && elapsed < limitMs; elapsed++) {
      await this.options.yieldToEventLoop();
      if (done) break;
      this.clock.advance(1);
    }
    if (!done) throw new Error(`operation did not settle within ${limitMs} virtual ms`);
    return tracked;
  }

  private buildNode(member: InProcessMember, addresses: readonly string[]): ClusterNode {
    const self = { nodeId: member.nodeId, address: member.address };
    return new ClusterNode(
      { self, seeds: addresses, engine: member.engine, clock: this.clock, rng: this.rng, hash: this.options.hash },
      this.nodeOptions,
      (handler) => {
        const transport = this.network.attach(self, handler);
        return transport;
      },
    );
  }
}
