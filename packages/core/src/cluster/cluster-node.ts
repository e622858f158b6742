// One node's core, wired from its parts: membership, the ring built from the members,
// the coordinator and the replica handler. The shell (packages/server) gives it real
// storage, sockets and time; tests and the simulator give it a MemoryEngine, a
// MemoryNetwork and a VirtualClock. Same code either way (STYLE.md principle 3).
import type { Clock, TimerHandle } from '../clock/clock.js';
import { HybridLogicalClock } from '../clock/hlc.js';
import { Membership, type MembershipOptions, type MemberState, type MemberView } from '../membership/membership.js';
import type { MemberAddress } from '../protocol/messages.js';
import type { RequestHandler, Transport } from '../protocol/transport.js';
import type { KeyHasher } from '../ring/hash.js';
import { Ring } from '../ring/ring.js';
import type { Rng } from '../rng.js';
import type { Engine } from '../storage/engine.js';
import type { PlantedBugs } from '../testing/planted-bugs.js';
import { Coordinator, type CoordinatorEvents, type CoordinatorOptions } from './coordinator.js';
import { createReplicaHandler } from './replica-handler.js';

export interface ClusterNodeOptions {
  replicas: number;
  vnodes: number;
  probeIntervalMs: number;
  membership: Partial<MembershipOptions>;
  coordinator: Partial<CoordinatorOptions>;
}

export interface ClusterNodeDeps {
  self: MemberAddress;
  seeds: readonly string[];
  known?: readonly MemberAddress[];
  engine: Engine;
  clock: Clock;
  rng: Rng;
  hash: KeyHasher;
  /** Where this node's HLC starts (above anything it issued before a restart). */
  hlcStartAfter?: number;
  /** Test-only planted bugs (testing/planted-bugs.ts); never set in production. */
  plantedBugs?: PlantedBugs;
  events?: CoordinatorEvents & {
    membersChanged?(members: readonly MemberAddress[]): void;
    memberStateChanged?(member: MemberView, previous: MemberState): void;
  };
}

export class ClusterNode {
  readonly membership: Membership;
  readonly coordinator: Coordinator;
  readonly hlc: HybridLogicalClock;
  readonly handleRequest: RequestHandler;
  private currentRing: Ring;
  private readonly deps: ClusterNodeDeps;
  private readonly options: ClusterNodeOptions;
  private probeTimer: TimerHandle | undefined;
  private stopped = false;

  /** `connect` builds the node's Transport from its request handler. */
  constructor(deps: ClusterNodeDeps, options: ClusterNodeOptions, connect: (handler: RequestHandler) => Transport) {
    this.deps = deps;
    this.options = options;
    this.hlc = new HybridLogicalClock(() => deps.clock.nowMs(), deps.hlcStartAfter ?? 0, deps.plantedBugs?.clockFollowsWallBlindly ?? false);
    // Membership needs the transport, and the transport needs the handler built from
    // membership: the membership gets a forwarder that is connected below.
    const connected: { transport?: Transport } = {};
    const lazyTransport: Transport = {
      request: (address, body, timeoutMs) => (connected.transport as Transport).request(address, body, timeoutMs),
    };
    this.membership = new Membership(
      {
        self: deps.self,
        seeds: deps.seeds,
        transport: lazyTransport,
        known: deps.known ?? [],
        onMembersChanged: (members) => {
          // Called from Membership's constructor too, before this.membership is set.
          if ((this.membership as Membership | undefined) !== undefined) this.currentRing = this.buildRing();
          deps.events?.membersChanged?.(members);
        },
        onStateChanged: (member, previous) => deps.events?.memberStateChanged?.(member, previous),
      },
      options.membership,
    );
    this.currentRing = this.buildRing();
    this.handleRequest = createReplicaHandler({ engine: deps.engine, hlc: this.hlc, membership: this.membership, plantedBugs: deps.plantedBugs ?? {} });
    const transport = connect(this.handleRequest);
    connected.transport = transport;
    this.coordinator = new Coordinator(
      {
        selfId: deps.self.nodeId,
        ring: () => this.currentRing,
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        isAvailable: (nodeId) => this.membership.isAvailable(nodeId),
        local: { apply: (key, record) => deps.engine.apply(key, record), get: (key) => deps.engine.get(key) },
        transport,
        hlc: this.hlc,
        rng: deps.rng,
        events: deps.events ?? {},
        plantedBugs: deps.plantedBugs ?? {},
      },
      options.coordinator,
    );
  }

  get ring(): Ring {
    return this.currentRing;
  }

  get nodeId(): string {
    return this.deps.self.nodeId;
  }

  /** Starts periodic probing; the first round runs at once. */
  start(): void {
    this.stopped = false;
    this.probeRound();
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) this.deps.clock.clearTimer(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** One probe round now (also what the timer runs). */
  async probeNow(): Promise<void> {
    await this.membership.probeAll();
  }

  private probeRound(): void {
    if (this.stopped) return;
    this.membership.probeAll().finally(() => {
      if (this.stopped) return;
      this.probeTimer = this.deps.clock.setTimer(this.options.probeIntervalMs, () => this.probeRound());
    });
  }

  private buildRing(): Ring {
    return new Ring({
      nodeIds: this.membership.nodeIds(),
      vnodes: this.options.vnodes,
      replicas: this.options.replicas,
      hash: this.deps.hash,
    });
  }
}
