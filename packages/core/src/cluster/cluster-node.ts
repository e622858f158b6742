// One node's core, wired from its parts: membership, the ring built from the members,
// the coordinator, the replica handler and anti-entropy over a range index. The shell (packages/server) gives it real
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
import { MemoryHintStore, type HintStore } from '../handoff/hint-store.js';
import { HintedHandoff, type HintedHandoffEvents } from '../handoff/hinted-handoff.js';
import { AntiEntropy, type AntiEntropyEvents, type AntiEntropyOptions } from '../repair/anti-entropy.js';
import { IndexedEngine } from '../repair/indexed-engine.js';
import { RangeIndex } from '../repair/range-index.js';
import { Coordinator, type CoordinatorEvents, type CoordinatorOptions } from './coordinator.js';
import { createReplicaHandler } from './replica-handler.js';

export interface ClusterNodeOptions {
  replicas: number;
  vnodes: number;
  probeIntervalMs: number;
  membership: Partial<MembershipOptions>;
  coordinator: Partial<CoordinatorOptions>;
  /** Pause between anti-entropy rounds; 0 turns anti-entropy off. Default 1000. */
  antiEntropyIntervalMs?: number;
  antiEntropy?: Partial<AntiEntropyOptions>;
  /** Pause between hint delivery rounds; 0 turns delivery off. Default 1000. */
  hintDeliveryIntervalMs?: number;
}

/** Entries read per page while the range index is rebuilt. */
const indexScanPage = 2000;

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
  /** Where hints are kept (durable on real nodes); a memory store by default. */
  hintStore?: HintStore;
  events?: CoordinatorEvents & AntiEntropyEvents & HintedHandoffEvents & {
    membersChanged?(members: readonly MemberAddress[]): void;
    memberStateChanged?(member: MemberView, previous: MemberState): void;
  };
}

export class ClusterNode {
  readonly membership: Membership;
  readonly coordinator: Coordinator;
  readonly hlc: HybridLogicalClock;
  readonly handleRequest: RequestHandler;
  readonly antiEntropy: AntiEntropy;
  readonly hints: HintStore;
  readonly handoff: HintedHandoff;
  private handoffTimer: TimerHandle | undefined;
  /** The node's engine, wrapped so every applied write updates the range index. */
  readonly engine: Engine;
  private currentRing: Ring;
  private liveIndex: RangeIndex | undefined;
  private buildingIndex: RangeIndex | undefined;
  private antiEntropyTimer: TimerHandle | undefined;
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
        rng: deps.rng,
        nowMs: () => deps.clock.nowMs(),
        known: deps.known ?? [],
        onMembersChanged: (members) => {
          // Called from Membership's constructor too, before this.membership is set.
          if ((this.membership as Membership | undefined) !== undefined) {
            this.currentRing = this.buildRing();
            this.startIndexBuild();
          }
          deps.events?.membersChanged?.(members);
        },
        onStateChanged: (member, previous) => deps.events?.memberStateChanged?.(member, previous),
      },
      options.membership,
    );
    this.currentRing = this.buildRing();
    this.engine = new IndexedEngine(deps.engine, () => [this.liveIndex, this.buildingIndex].filter((index) => index !== undefined));
    this.antiEntropy = new AntiEntropy(
      {
        selfId: deps.self.nodeId,
        ring: () => this.currentRing,
        index: () => this.liveIndex,
        engine: this.engine,
        transport: lazyTransport,
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        isAvailable: (nodeId) => this.membership.stateOf(nodeId) === 'up',
        clock: deps.clock,
        observe: (hlc) => this.hlc.observe(hlc),
        events: deps.events ?? {},
      },
      options.antiEntropy ?? {},
    );
    this.hints = deps.hintStore ?? new MemoryHintStore();
    this.handoff = new HintedHandoff({
      store: this.hints,
      transport: lazyTransport,
      addressOf: (nodeId) => this.membership.addressOf(nodeId),
      isUp: (nodeId) => this.membership.stateOf(nodeId) === 'up',
      events: deps.events ?? {},
    });
    this.handleRequest = createReplicaHandler({
      engine: this.engine,
      hlc: this.hlc,
      membership: this.membership,
      antiEntropy: this.antiEntropy,
      plantedBugs: deps.plantedBugs ?? {},
    });
    const transport = connect(this.handleRequest);
    connected.transport = transport;
    this.coordinator = new Coordinator(
      {
        selfId: deps.self.nodeId,
        ring: () => this.currentRing,
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        isAvailable: (nodeId) => this.membership.isAvailable(nodeId),
        local: { apply: (key, record) => this.engine.apply(key, record), get: (key) => this.engine.get(key) },
        transport,
        hlc: this.hlc,
        rng: deps.rng,
        events: deps.events ?? {},
        hints: { hold: (target, key, record) => this.hints.add({ target, key, record, storedAtMs: deps.clock.nowMs() }) },
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

  /** Starts periodic probing (the first round at once), the index build and anti-entropy. */
  start(): void {
    this.stopped = false;
    this.probeRound();
    this.startIndexBuild();
    this.scheduleAntiEntropy();
    this.scheduleHandoff();
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) this.deps.clock.clearTimer(this.probeTimer);
    if (this.antiEntropyTimer) this.deps.clock.clearTimer(this.antiEntropyTimer);
    if (this.handoffTimer) this.deps.clock.clearTimer(this.handoffTimer);
    this.probeTimer = undefined;
    this.antiEntropyTimer = undefined;
    this.handoffTimer = undefined;
  }

  private scheduleHandoff(): void {
    this.repeat(this.options.hintDeliveryIntervalMs ?? 1000, () => this.handoff.round(), (timer) => (this.handoffTimer = timer));
  }

  /** Runs `round` every `intervalMs` after the previous one finished, until stopped; 0 never. */
  private repeat(intervalMs: number, round: () => Promise<void>, keep: (timer: TimerHandle) => void): void {
    if (this.stopped || intervalMs <= 0) return;
    keep(
      this.deps.clock.setTimer(intervalMs, () => {
        // A failed round (a peer gone, the engine closing) must not stop the rounds or
        // surface as an unhandled rejection: the next round tries again.
        if (!this.stopped) round().catch(() => undefined).finally(() => this.repeat(intervalMs, round, keep));
      }),
    );
  }

  /** Runs one anti-entropy round now (tests; the timer runs them otherwise). */
  antiEntropyNow(): Promise<void> {
    return this.antiEntropy.round();
  }

  private scheduleAntiEntropy(): void {
    const round = () => {
      // An index build that failed (say, a storage error) is retried before the round.
      if (this.liveIndex === undefined && this.buildingIndex === undefined) this.startIndexBuild();
      return this.antiEntropy.round();
    };
    this.repeat(this.options.antiEntropyIntervalMs ?? 1000, round, (timer) => (this.antiEntropyTimer = timer));
  }

  private startIndexBuild(): void {
    const build = this.rebuildIndex();
    build.catch(() => {
      this.buildingIndex = undefined;
    });
  }

  /**
   * Builds a fresh range index for the current ring by scanning the engine. Writes applied
   * during the scan go to the index being built as well, so it misses none of them.
   */
  private async rebuildIndex(): Promise<void> {
    const ring = this.currentRing;
    const building = new RangeIndex(ring, this.deps.hash);
    this.buildingIndex = building;
    this.liveIndex = undefined;
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.engine.scan({ after, limit: indexScanPage });
      if (this.buildingIndex !== building) return; // a newer ring started another build
      for (const entry of page) building.addScanned(entry.key, entry.record);
      if (page.length < indexScanPage) break;
      after = page[page.length - 1]?.key;
    }
    if (this.currentRing !== ring) return;
    this.liveIndex = building;
    this.buildingIndex = undefined;
  }

  private probeRound(): void {
    if (this.stopped) return;
    this.membership.protocolPeriod().catch(() => undefined).finally(() => {
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
