// A whole ringkv cluster in one process: real ClusterNodes over a MemoryNetwork, with
// MemoryEngines and one VirtualClock, all driven from a seed. Used by the core's tests
// and by the simulator (sim/). Time moves only when `run`, `tick` or `settle` advance it.
// Each node gets its own skewable wall clock and a disk that can be slowed down, so the
// simulator can inject clock and disk faults without touching the core.
import { MemoryChangeStore } from '../watch/change-log.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { ClientLoad } from '../clock/background-budget.js';
import { ClusterNode, type ClusterNodeDeps, type ClusterNodeOptions } from '../cluster/cluster-node.js';
import { MemoryPaxosStore } from '../cluster/paxos.js';
import { MemoryHintStore } from '../handoff/hint-store.js';
import type { KnownMember } from '../membership/membership.js';
import { MemoryJobStore } from '../rebalance/job.js';
import type { KeyHasher } from '../ring/hash.js';
import { MemoryNetwork, type MemoryNetworkObserver, type MemoryNetworkOptions } from '../protocol/memory-network.js';
import { SeededRng } from '../rng.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { withPlantedBugs, type PlantedBugs } from './planted-bugs.js';
import { SkewedClock } from './skewed-clock.js';
import { SlowEngine, type DiskLatency } from './slow-engine.js';

export interface InProcessClusterOptions {
  nodes: number;
  seed: number;
  hash: KeyHasher;
  /** Lets pending promise callbacks run; tests pass `() => new Promise(setImmediate)`. */
  yieldToEventLoop: () => Promise<void>;
  network?: Partial<MemoryNetworkOptions>;
  node?: Partial<ClusterNodeOptions>;
  /** Test-only bugs planted in every node (testing/planted-bugs.ts). */
  plantedBugs?: PlantedBugs;
  /** Watches every message and every failed request handler (the simulator's trace). */
  networkObserver?: MemoryNetworkObserver;
  /** Core events of each node, by node id (read repairs, hints, anti-entropy). */
  events?: (nodeId: string) => ClusterNodeDeps['events'];
  /** The client load each node's shell would report (clock/background-budget.ts), by node id; none by default. */
  clientLoad?: (nodeId: string) => ClientLoad | undefined;
  /** A node's process stopped (a crash, or a node that left stopping): its clients lose their connections. */
  crashed?: (nodeId: string) => void;
}

export interface InProcessMember {
  nodeId: string;
  address: string;
  node: ClusterNode;
  /** The node's durable storage: it survives a crash unless the crash loses data. */
  engine: MemoryEngine;
  /** The node's hints for other replicas, durable like its engine. */
  hints: MemoryHintStore;
  /** What the node keeps beside its data (job checkpoints, the tombstone watermark), durable like its engine. */
  meta: MemoryJobStore;
  /** The acceptor's Paxos state per key, durable like its engine. */
  paxos: MemoryPaxosStore;
  /** The node's change log (watch/change-log.ts), durable like its engine. */
  changes: MemoryChangeStore;
  /** The members the node has learned, saved with its data as a real node does (members.json). */
  knownMembers: KnownMember[];
  /** The node's wall clock; its timers run on the cluster's shared clock. */
  clock: SkewedClock;
  /** Latency of the node's disk, read on every engine call (0/0: fast). */
  disk: DiskLatency;
  /** 1 for the first process, +1 for each restart. */
  incarnation: number;
  /** Started with `--standby`: a new member outside the ring until told to join (its restarts start so too). */
  standby: boolean;
  up: boolean;
  /** Gone for good: it left the ring and stopped, or it was removed. It never restarts. */
  retired: boolean;
}

export const inProcessNodeDefaults: ClusterNodeOptions = {
  replicas: 3,
  vnodes: 64,
  probeIntervalMs: 200,
  membership: { probeTimeoutMs: 100, suspicionTimeoutMs: 600 },
  coordinator: { writeTimeoutMs: 200, readTimeoutMs: 200, readRepairChance: 0 },
};

function addressOf(index: number): string {
  return `10.0.0.${index}:8000`;
}

export class InProcessCluster {
  readonly clock = new VirtualClock();
  readonly rng: SeededRng;
  readonly network: MemoryNetwork;
  readonly members: InProcessMember[] = [];
  private readonly options: InProcessClusterOptions;
  private readonly nodeOptions: ClusterNodeOptions;
  /** The engine seam of each member's current process, halted when it crashes. */
  private readonly disks = new Map<string, SlowEngine>();

  constructor(options: InProcessClusterOptions) {
    this.options = options;
    this.rng = new SeededRng(options.seed);
    this.network = new MemoryNetwork(this.clock, this.rng, options.network ?? {}, options.networkObserver ?? {});
    this.nodeOptions = { ...inProcessNodeDefaults, ...options.node };
    const addresses = Array.from({ length: options.nodes }, (_, i) => addressOf(i + 1));
    for (let i = 1; i <= options.nodes; i++) this.members.push(this.newMember(i, addresses));
  }

  /**
   * A new node with empty storage, started with every other member as its seeds: it
   * joins the running cluster (its ranges stream to it before it serves them). With
   * `standby` it waits outside the ring until its node's `join()`.
   */
  join(nodeId?: string, options: { standby?: boolean } = {}): InProcessMember {
    const index = this.members.length + 1;
    if (nodeId !== undefined && this.members.some((member) => member.nodeId === nodeId)) throw new Error(`${nodeId} is already a member`);
    const member = this.newMember(index, [...this.members.map((item) => item.address), addressOf(index)], nodeId, options.standby === true);
    this.members.push(member);
    member.node.start();
    return member;
  }

  private newMember(index: number, seeds: readonly string[], nodeId = `n${index}`, standby = false): InProcessMember {
    const member = {
      nodeId,
      address: addressOf(index),
      engine: new MemoryEngine(this.options.hash),
      hints: new MemoryHintStore(),
      meta: new MemoryJobStore(),
      paxos: new MemoryPaxosStore(),
      changes: new MemoryChangeStore(),
      knownMembers: [] as KnownMember[],
      clock: new SkewedClock(this.clock),
      disk: { delayMinMs: 0, delayMaxMs: 0 },
      incarnation: 1,
      standby,
      up: true,
      retired: false,
    } as InProcessMember;
    member.node = this.buildNode(member, seeds);
    return member;
  }

  /** Starts probing on every node and runs `ms` of virtual time so all know each other. */
  async start(ms = 1000): Promise<void> {
    for (const member of this.members) member.node.start();
    await this.run(ms);
    // Members started together form the ring within a few probe periods (at most a settle period more).
    for (let waitedMs = 0; ms > 0 && !this.ringFormed() && waitedMs < 10_000; waitedMs += 50) await this.run(50);
  }

  member(nodeId: string): InProcessMember {
    const found = this.members.find((member) => member.nodeId === nodeId);
    if (!found) throw new Error(`no member ${nodeId}`);
    return found;
  }

  /** A crash: the process dies (nothing in flight completes); its engine and hints are kept or lost. */
  crash(nodeId: string, options: { loseData?: boolean } = {}): void {
    const member = this.member(nodeId);
    member.node.stop();
    member.up = false;
    this.disks.get(nodeId)?.halt();
    this.network.setUp(member.address, false);
    this.options.crashed?.(nodeId);
    if (options.loseData) {
      member.engine = new MemoryEngine(this.options.hash);
      member.hints = new MemoryHintStore();
      member.meta = new MemoryJobStore();
      member.paxos = new MemoryPaxosStore();
      member.changes = new MemoryChangeStore();
      member.knownMembers = [];
    }
  }

  /** A node's process stops for good (it left the ring, or it is to be removed after a crash). */
  retire(nodeId: string): void {
    const member = this.member(nodeId);
    if (member.up) this.crash(nodeId);
    member.retired = true;
  }

  /**
   * Starts a retired node's id again as a new process on an empty disk (a StatefulSet
   * scaled back up): with `remembers`, it kept the member list of its last life (the shell
   * wipes the data but keeps members.json), else it starts knowing nothing.
   */
  rejoin(nodeId: string, options: { remembers?: boolean } = {}): InProcessMember {
    const member = this.member(nodeId);
    if (!member.retired) throw new Error(`${nodeId} has not stopped for good: restart it instead`);
    member.retired = false;
    member.engine = new MemoryEngine(this.options.hash);
    member.hints = new MemoryHintStore();
    member.meta = new MemoryJobStore();
    member.paxos = new MemoryPaxosStore();
    member.changes = new MemoryChangeStore();
    if (options.remembers !== true) member.knownMembers = [];
    this.restart(nodeId);
    return member;
  }

  /** Restart a crashed node: a new process with a fresh core over its (kept or lost) storage. */
  restart(nodeId: string): void {
    const member = this.member(nodeId);
    if (member.retired) throw new Error(`${nodeId} is retired: it left the ring or was removed, and never restarts`);
    member.incarnation += 1;
    member.node = this.buildNode(member, this.members.map((item) => item.address));
    this.network.replaceHandler(member.address, member.node.handleRequest);
    this.network.setUp(member.address, true);
    member.up = true;
    member.node.start();
  }

  stop(): void {
    for (const member of this.members) member.node.stop();
  }

  /** True when every running node sees every other running node as up. */
  allSeeAllUp(): boolean {
    const running = this.members.filter((member) => member.up);
    return running.every((viewer) =>
      running.every((other) => other === viewer || viewer.node.membership.stateOf(other.nodeId) === 'up'),
    );
  }

  /** True when every running node is ready and all share one settled ring of every member. */
  ringFormed(): boolean {
    const running = this.members.filter((member) => member.up);
    const first = running[0]?.node.placement;
    if (first === undefined) return false;
    return running.every((member) => {
      const placement = member.node.placement;
      return member.node.isReady() && placement.transition === 0 && placement.writes.length === 1 && placement.read.fingerprint === first.read.fingerprint;
    });
  }

  /** The ring is formed and no data is moving: transfers done, settled, cleanups finished. */
  ringSettled(): boolean {
    return this.ringFormed() && this.members.every((member) => !member.up || member.node.rebalancer.settled());
  }

  /** Advances virtual time by 1 ms, firing due timers, then lets callbacks run. */
  async tick(): Promise<void> {
    this.clock.advance(1);
    await this.options.yieldToEventLoop();
  }

  /** Advances virtual time by `ms` in 1 ms steps, letting callbacks run between steps. */
  async run(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed++) await this.tick();
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
    const disk = new SlowEngine(member.engine, this.clock, this.rng, member.disk);
    this.disks.set(member.nodeId, disk);
    const events = this.options.events?.(member.nodeId) ?? {};
    const deps: ClusterNodeDeps = {
      self,
      seeds: addresses,
      known: member.knownMembers,
      standby: member.standby,
      engine: disk,
      hintStore: member.hints,
      jobStore: member.meta,
      paxosStore: member.paxos,
      changeStore: member.changes,
      clock: member.clock,
      rng: this.rng,
      hash: this.options.hash,
      ...withClientLoad(this.options.clientLoad?.(member.nodeId)),
      events: {
        ...events,
        membersChanged: (members) => {
          member.knownMembers = [...members];
          events.membersChanged?.(members);
        },
        // As the server does: a node that has left stops once the settle period has passed.
        left: () => {
          events.left?.();
          const incarnation = member.incarnation;
          member.clock.setTimer(this.nodeOptions.ringSettleMs ?? 2000, () => {
            if (member.up && member.incarnation === incarnation) this.retire(member.nodeId);
          });
        },
      },
    };
    return new ClusterNode(withPlantedBugs(deps, this.options.plantedBugs ?? {}), this.nodeOptions, (handler) => this.network.attach(self, handler));
  }
}

function withClientLoad(clientLoad: ClientLoad | undefined): Pick<ClusterNodeDeps, 'clientLoad'> {
  return clientLoad === undefined ? {} : { clientLoad };
}
