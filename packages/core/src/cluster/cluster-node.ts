// One node's core, wired from its parts: membership, the placement (read and target rings)
// built from the members, the coordinator, the replica handler, anti-entropy over the
// engine's ring index, tombstone purging, hinted handoff and the rebalancer that moves data when the
// ring changes. The shell (packages/server) gives it real
// storage, sockets and time; tests and the simulator give it a MemoryEngine, a
// MemoryNetwork and a VirtualClock. Same code either way (docs/style.md, "One code path, many worlds").
import { BackgroundBudget, type ClientLoad } from '../clock/background-budget.js';
import { InflightCount } from '../clock/recent-peak.js';
import type { ByteRate } from '../clock/token-bucket.js';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { HybridLogicalClock } from '../clock/hlc.js';
import { Membership, type KnownMember, type MembershipOptions, type MemberState, type MemberView } from '../membership/membership.js';
import {
  idempotencyRetentionSecondsDefault,
  scanRecordsTimeoutMsDefault,
  stateExchangeIntervalMs,
  watchCloseMsDefault,
  watchRetentionBytesDefault,
  watchRetentionSecondsDefault,
} from '../limits.js';
import type { MemberAddress, MemberUpdate, RingStatus, Routed } from '../protocol/messages.js';
import { PeerError, type DataRequest, type RequestHandler, type Transport } from '../protocol/transport.js';
import type { KeyHasher } from '../ring/hash.js';
import { isFormedAmong, nextPlacement, type Placement } from '../ring/placement.js';
import type { Ring } from '../ring/ring.js';
import { MemoryJobStore, type JobStore } from '../rebalance/job.js';
import { handOff, type CleanupHandoff } from '../rebalance/cleanup-handoff.js';
import { Rebalancer } from '../rebalance/rebalancer.js';
import { Transfer, type TransferOptions } from '../rebalance/transfer.js';
import { SendingTotals, transferBatchFor } from '../rebalance/transfer-source.js';
import { purgedBy, TombstonePurge, type PurgePolicy, type TombstonePurgeOptions } from '../repair/tombstone-purge.js';
import type { Rng } from '../rng.js';
import type { Engine } from '../storage/engine.js';
import { MemoryHintStore, type HintStore } from '../handoff/hint-store.js';
import { HintedHandoff, type HintedHandoffEvents } from '../handoff/hinted-handoff.js';
import { AntiEntropy, type AntiEntropyEvents, type AntiEntropyOptions } from '../repair/anti-entropy.js';
import { holdsNoRanges, inRing, laterRingStatus, strictFencing, type FencingPolicy } from './cluster-state.js';
import { Coordinator, type CoordinatorEvents, type CoordinatorOptions } from './coordinator.js';
import type { QuorumPolicy } from './quorum-policy.js';
import { applyChosen, createPeerHandler, localReplicaOf } from './peer-handler.js';
import { MemoryPaxosStore, PaxosAcceptor, type PaxosPolicy, type PaxosStore } from './paxos.js';
import { PaxosProposer } from './paxos-proposer.js';
import { scanClusterPage, scannedRecordsOf, type ClusterScanPage, type ScanPageRequest } from './key-scan.js';
import { restoreRecords, type RestoreAnswer } from './restore-writes.js';
import type { StoredRecord } from '../storage/record.js';
import { ChangeLog, MemoryChangeStore, type ChangeLogOptions, type ChangeStore, type KeyVersionSeen } from '../watch/change-log.js';
import { newestConfirmed, type VersionAnswer } from '../watch/expiry-confirmation.js';
import type { WatchCursor } from '../watch/watch-cursor.js';
import { WatchError, WatchSession, type WatchListener } from '../watch/watch-session.js';

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
  /** How long a ring change takes to reach every node; writes keep reaching the old ring that long. Default 2000. */
  ringSettleMs?: number;
  /** Pause between rebalancing rounds (transfers, completion, cleanup). Default 500. */
  rebalanceIntervalMs?: number;
  transfer?: Partial<TransferOptions>;
  tombstones?: Partial<TombstonePurgeOptions>;
  /** How long replicas remember an idempotent write (--idempotency-retention-s); a day by default. */
  idempotencyRetentionMs?: number;
  /** How long a member has to answer one page of a cluster-wide scan; scanRecordsTimeoutMsDefault by default. */
  scanTimeoutMs?: number;
  /** The change log behind watches (watch/change-log.ts): close window and retention. */
  changes?: Partial<ChangeLogOptions>;
}

/** Requests routed by the ring: each carries the cluster state it was routed by (fencing). */
const routedTypes: ReadonlySet<DataRequest['type']> = new Set(['put', 'get', 'paxosPrepare', 'paxosAccept', 'paxosCommit']);

/**
 * An operator's ring change: accepted, with the member's ring status it moved to and how
 * many other members hold the change once this node has told them (spreadRingChange), or
 * refused.
 */
export type RingChangeResult =
  | { ok: true; ringStatus: RingStatus; message: string; told: Promise<number> }
  | { ok: false; reason: 'conflict' | 'not-found'; message: string };

export interface ClusterNodeDeps {
  self: MemberAddress;
  seeds: readonly string[];
  known?: readonly KnownMember[];
  /**
   * A new member starts on standby (`ringkv node --standby`): outside the ring until
   * `join()`. A node that was a member before a restart goes on with its remembered status.
   */
  standby?: boolean;
  engine: Engine;
  /** Where job checkpoints and the tombstone watermark are kept (durable on real nodes). */
  jobStore?: JobStore;
  clock: Clock;
  rng: Rng;
  hash: KeyHasher;
  /** Where this node's HLC starts (above anything it issued before a restart). */
  hlcStartAfter?: number;
  /** The node's version clock; by default a HybridLogicalClock over `clock` from `hlcStartAfter`. */
  hlc?: HybridLogicalClock;
  /** When a write's acks make it written (cluster/quorum-policy.ts); `strictQuorum` by default. */
  quorum?: QuorumPolicy;
  /** Where the tombstone purge cutoff comes from (repair/tombstone-purge.ts); the members' horizons by default. */
  purgePolicy?: PurgePolicy;
  /** What a cleanup may drop: keys a majority of their new replicas hold (rebalance/cleanup-handoff.ts; testing/ plants a bug here). */
  cleanupHandoff?: CleanupHandoff;
  /** How replicas judge the state requests were routed by; strict by default (testing/ plants a bug here). */
  fencing?: FencingPolicy;
  /** Where hints are kept (durable on real nodes); a memory store by default. */
  hintStore?: HintStore;
  /** Where the acceptor keeps its Paxos state per key (durable on real nodes); a memory store by default. */
  paxosStore?: PaxosStore;
  /** Where the change log is kept (durable on real nodes); a memory store by default. */
  changeStore?: ChangeStore;
  /** How a watch resolves its members' floors (watch/watch-session.ts); the lowest by default (testing/ plants a bug here). */
  watchResolvedOf?: (floors: readonly number[]) => number;
  /** How the proposer judges promises (cluster/paxos.ts); strict by default (testing/ plants bugs here). */
  paxosPolicy?: PaxosPolicy;
  /**
   * The clients' load on this node (the shell's API counts requests in flight): background
   * jobs give way to it (clock/background-budget.ts). Without it they run at full speed.
   */
  clientLoad?: ClientLoad;
  /** The smallest share of time background jobs keep under client load (limits.ts backgroundShareMin by default; PUT /jobs/pace changes it). */
  backgroundShareMin?: number;
  /** Caps the bytes per second this node receives in transfers (clock/token-bucket.ts); uncapped without it. */
  transferRate?: ByteRate;
  events?: CoordinatorEvents & AntiEntropyEvents & HintedHandoffEvents & {
    membersChanged?(members: readonly KnownMember[]): void;
    memberStateChanged?(member: MemberView, previous: MemberState): void;
    /** This node has left the ring; stop it after the settle period. */
    left?(): void;
    keysCleanedUp?(count: number): void;
    tombstonesPurged?(count: number): void;
    recordsReceived?(count: number): void;
  };
}

export class ClusterNode {
  readonly membership: Membership;
  readonly coordinator: Coordinator;
  /** Conditional writes and serial reads (cluster/paxos-proposer.ts). */
  readonly paxos: PaxosProposer;
  readonly hlc: HybridLogicalClock;
  readonly handleRequest: RequestHandler;
  readonly antiEntropy: AntiEntropy;
  readonly hints: HintStore;
  readonly handoff: HintedHandoff;
  readonly rebalancer: Rebalancer;
  readonly tombstones: TombstonePurge;
  /** Paces every background job of this node by the client load. */
  readonly budget: BackgroundBudget;
  /** One page of every member's records, merged (cluster/key-scan.ts): GET /cluster/keys and /admin/records. */
  readonly scanPage: (page: ScanPageRequest) => Promise<ClusterScanPage>;
  private handoffTimer: TimerHandle | undefined;
  private rebalanceTimer: TimerHandle | undefined;
  /** The node's engine, wrapped so every applied write enters the change log. */
  readonly engine: Engine;
  /** This replica's change log (watch/change-log.ts). */
  readonly changes: ChangeLog;
  private readonly watches = new Set<WatchSession>();
  /** Latched once this node, having lost its data, had every range it owns verified by repair (dataIncomplete). */
  private repairedSinceDataLoss = false;
  private readonly coverage = { key: '', covers: false };
  private currentPlacement: Placement;
  /** State exchanges under way, by peer, and when the last one with each peer ended. */
  private readonly exchanges = new Map<string, Promise<boolean>>();
  private readonly exchangedAtMs = new Map<string, number>();
  private antiEntropyTimer: TimerHandle | undefined;
  private readonly deps: ClusterNodeDeps;
  /** To peers, unrouted (restore pushes carry no epoch). */
  private readonly transport: Transport;
  private readonly options: ClusterNodeOptions;
  private probeTimer: TimerHandle | undefined;
  private stopped = false;
  /** Background rounds still running: the shell waits for them before closing the engine. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Peers' requests on behalf of their clients being served here (withPeerClients). */
  private readonly peerClients: InflightCount;

  /** `connect` builds the node's Transport from its request handler. */
  constructor(deps: ClusterNodeDeps, options: ClusterNodeOptions, connect: (handler: RequestHandler) => Transport) {
    this.deps = deps;
    this.options = options;
    this.peerClients = new InflightCount(() => deps.clock.nowMs());
    this.budget = new BackgroundBudget(
      deps.clock,
      deps.clientLoad && withPeerClients(deps.clientLoad, this.peerClients),
      deps.backgroundShareMin === undefined ? {} : { shareMin: deps.backgroundShareMin },
    );
    this.hlc = deps.hlc ?? new HybridLogicalClock(() => deps.clock.nowMs(), deps.hlcStartAfter ?? 0);
    // Membership needs the transport, and the transport needs the handler built from
    // membership: the membership gets a forwarder that is connected below.
    const connected: { transport?: Transport } = {};
    const lazyTransport: Transport = {
      request: (address, body, timeoutMs) => (connected.transport as Transport).request(address, body, timeoutMs),
    };
    // A node's ring status survives restarts (the shell remembers the members). A new node
    // (or one that lost its data) starts joining: if the cluster it finds already has
    // normal members, its ranges stream to it before it serves them; if not, the cluster
    // is just forming and it becomes normal at once (rebalance/rebalancer.ts).
    // A node with no seeds and nothing remembered is a cluster of one: normal at once.
    // A new node told to start on standby waits outside the ring for join().
    const alone = deps.seeds.length === 0 && (deps.known ?? []).length === 0;
    const remembered = deps.known?.find((member) => member.nodeId === deps.self.nodeId);
    // A node that had left and is started again is a new member under its old id, one life
    // later; the shell discarded its old data (membership/membership.ts, "Lives").
    const rejoins = remembered?.ring === 'left';
    const fresh: RingStatus = deps.standby === true ? 'standby' : alone ? 'normal' : 'joining';
    const selfRing: RingStatus = rejoins ? (deps.standby === true ? 'standby' : 'joining') : (remembered?.ring ?? fresh);
    const selfLife = (remembered?.life ?? 0) + (rejoins ? 1 : 0);
    this.membership = new Membership(
      {
        self: deps.self,
        seeds: deps.seeds,
        transport: lazyTransport,
        rng: deps.rng,
        nowMs: () => deps.clock.nowMs(),
        selfRing,
        selfLife,
        startedEmpty: remembered === undefined || rejoins,
        known: deps.known ?? [],
        onMembersChanged: (members, moved) => {
          // Called from Membership's constructor too, before this.membership is set.
          if ((this.membership as Membership | undefined) !== undefined) this.refreshPlacement(moved);
          deps.events?.membersChanged?.(members);
        },
        onStateChanged: (member, previous) => deps.events?.memberStateChanged?.(member, previous),
      },
      options.membership,
    );
    this.currentPlacement = this.buildPlacement(undefined);
    const jobStore = deps.jobStore ?? new MemoryJobStore();
    this.changes = new ChangeLog(
      {
        engine: deps.engine,
        store: deps.changeStore ?? new MemoryChangeStore(),
        hlc: this.hlc,
        clock: deps.clock,
        newestVersions: (keys) => this.newestVersions(keys),
      },
      {
        closeMs: options.changes?.closeMs ?? watchCloseMsDefault,
        retentionMs: options.changes?.retentionMs ?? watchRetentionSecondsDefault * 1000,
        retentionBytes: options.changes?.retentionBytes ?? watchRetentionBytesDefault,
      },
    );
    this.engine = this.changes;
    this.antiEntropy = new AntiEntropy(
      {
        selfId: deps.self.nodeId,
        ring: () => this.currentPlacement.read,
        engine: this.engine,
        transport: lazyTransport,
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        isAvailable: (nodeId) => this.membership.stateOf(nodeId) === 'up',
        clock: deps.clock,
        observe: (hlc) => this.hlc.observe(hlc),
        watermark: () => this.tombstones.watermark,
        adoptWatermark: (watermark) => this.adoptWatermark(watermark),
        hintsHeldSinceMs: () => this.handoff.heldSinceMs(),
        now: () => this.hlc.now(),
        budget: this.budget,
        events: deps.events ?? {},
      },
      options.antiEntropy ?? {},
    );
    this.tombstones = new TombstonePurge(
      {
        engine: this.engine,
        store: jobStore,
        nowMs: () => deps.clock.nowMs(),
        // Members on standby hold no data, so their repair horizons bound nothing. A member that
        // has left still holds what its cleanup has not handed on while it is up: below its
        // horizon its copies were verified, above it they may be the last (slow-gossip seed
        // 6231017, where the leaving node's hand-off of a write two replicas had lost with their
        // disks fell below a watermark that had passed it, and was dropped as settled).
        horizons: () => this.membersHoldingData().map((member) => member.horizon),
        policy: deps.purgePolicy,
        raised: (watermark) => this.observeWatermark(watermark),
        ringChanging: () => this.currentPlacement.transition !== 0 || this.currentPlacement.writes.length > 1,
        budget: this.budget,
        events: deps.events ?? {},
      },
      options.tombstones ?? {},
    );
    this.observeWatermark(this.tombstones.watermark);
    this.hints = deps.hintStore ?? new MemoryHintStore();
    this.handoff = new HintedHandoff({
      store: this.hints,
      transport: lazyTransport,
      addressOf: (nodeId) => this.membership.addressOf(nodeId),
      isUp: (nodeId) => this.membership.stateOf(nodeId) === 'up',
      isGone: (nodeId) => this.membership.ringOf(nodeId) === 'left',
      watermark: () => this.tombstones.watermark,
      now: () => this.hlc.now(),
      budget: this.budget,
      events: deps.events ?? {},
    });
    // What every replica write goes through, a peer's put or this node's own (below).
    const replicaWrites = { engine: this.engine, hlc: this.hlc, watermark: () => this.tombstones.watermark, changes: this.changes };
    // A chosen record is stored by the same replica code as any write.
    const acceptor = new PaxosAcceptor({
      store: deps.paxosStore ?? new MemoryPaxosStore(),
      read: (key) => this.engine.get(key),
      apply: (key, record) => applyChosen(replicaWrites, key, record),
      accepted: (key, record) => this.changes.proposalAccepted(key, record),
      refusesAt: (hlc) => this.changes.refusesAt(hlc),
      observe: (hlc) => this.hlc.observe(hlc),
      retention: { nowMs: () => deps.clock.nowMs(), ms: options.idempotencyRetentionMs ?? idempotencyRetentionSecondsDefault * 1000 },
    });
    const sendingTotals = new SendingTotals(() => deps.clock.nowMs());
    const replicaHandler = createPeerHandler({
      ...replicaWrites,
      paxos: acceptor,
      membership: this.membership,
      antiEntropy: this.antiEntropy,
      replicates: (key) => this.currentPlacement.writes.some((ring) => ring.preferenceList(key).includes(deps.self.nodeId)),
      fence: (request, from) => this.fence(request, from),
      servesRepair: () => this.membership.ringOf(deps.self.nodeId) !== 'left',
      dataIncomplete: () => this.dataIncomplete(),
      transferBatch: (request) =>
        transferBatchFor(request, {
          selfId: deps.self.nodeId,
          placement: () => this.currentPlacement,
          engine: this.engine,
          pace: { budget: this.budget, clock: deps.clock },
          totals: sendingTotals,
        }),
    });
    this.handleRequest = pacedForPeers(countedForClients(replicaHandler, this.peerClients), this.budget);
    const transport = connect(this.handleRequest);
    connected.transport = transport;
    this.transport = transport;
    const routedTransport = this.routed(transport);
    const scanDeps = {
      selfId: deps.self.nodeId,
      members: () => this.membership.list().filter((member) => inRing(member.ring)),
      isAvailable: (nodeId: string) => this.membership.isAvailable(nodeId),
      replicas: options.replicas,
      local: (request: Parameters<typeof scannedRecordsOf>[1]) => scannedRecordsOf(this.engine, request),
      transport,
      timeoutMs: options.scanTimeoutMs ?? scanRecordsTimeoutMsDefault,
    };
    this.scanPage = (page) => scanClusterPage(scanDeps, page);
    this.coordinator = new Coordinator(
      {
        selfId: deps.self.nodeId,
        placement: () => this.currentPlacement,
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        isAvailable: (nodeId) => this.membership.isAvailable(nodeId),
        // The local write is stored by the same replica code as a peer's put (loopback,
        // peer-handler.ts storeReplicaWrite): the purge watermark, the clock and "newer" are
        // decided in one place.
        local: localReplicaOf(replicaWrites),
        transport: routedTransport,
        hlc: this.hlc,
        rng: deps.rng,
        clock: deps.clock,
        events: deps.events ?? {},
        hints: { hold: (target, key, record) => this.handoff.hold({ target, key, record, storedAtMs: deps.clock.nowMs() }) },
        quorum: deps.quorum,
      },
      options.coordinator,
    );
    this.paxos = new PaxosProposer({
      selfId: deps.self.nodeId,
      groups: (key) => this.coordinator.writeGroups(key),
      isAvailable: (nodeId) => this.membership.isAvailable(nodeId),
      addressOf: (nodeId) => this.membership.addressOf(nodeId),
      transport: routedTransport,
      acceptor,
      hlc: this.hlc,
      clock: deps.clock,
      rng: deps.rng,
      timeoutMs: options.coordinator.writeTimeoutMs ?? 2000,
      ...(deps.paxosPolicy !== undefined ? { policy: deps.paxosPolicy } : {}),
    });
    const transfer = new Transfer(
      {
        selfId: deps.self.nodeId,
        transport,
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        isAvailable: (nodeId) => this.membership.stateOf(nodeId) === 'up',
        engine: this.engine,
        clock: deps.clock,
        store: jobStore,
        observe: (hlc) => this.hlc.observe(hlc),
        accepts: (record) => !purgedBy(record, this.tombstones.watermark),
        current: (transition) => !this.stopped && this.currentPlacement.transition === transition,
        budget: this.budget,
        ...(deps.transferRate !== undefined ? { rate: deps.transferRate } : {}),
        events: deps.events ?? {},
      },
      options.transfer ?? {},
    );
    this.rebalancer = new Rebalancer({
      selfId: deps.self.nodeId,
      membership: this.membership,
      placement: () => this.currentPlacement,
      transfer,
      engine: this.engine,
      clock: deps.clock,
      settleMs: this.settleMs,
      exchangeState: (nodeId) => this.exchangeState(nodeId),
      handOff: (foreign, ring) =>
        (deps.cleanupHandoff ?? handOff)(foreign, ring, {
          selfId: deps.self.nodeId,
          transport,
          addressOf: (nodeId) => this.membership.addressOf(nodeId),
          isAvailable: (nodeId) => this.membership.stateOf(nodeId) === 'up',
          timeoutMs: this.options.transfer?.requestTimeoutMs ?? this.options.coordinator.writeTimeoutMs ?? 2000,
          nowHlc: () => this.hlc.now(),
        }),
      budget: this.budget,
      events: deps.events ?? {},
    });
  }

  /**
   * Ready to serve: every seed is known, this node has joined, and the ring is formed (a
   * new cluster's members have all become normal, so a key has its N replicas). Changes
   * nothing: `admitClients` is what a client request calls.
   */
  isReady(): boolean {
    if (!this.membership.isReady() || this.membership.ringOf(this.nodeId) === 'joining') return false;
    // On every client request: counted in place, not from a sorted copy of the member list.
    // A node on standby serves as a coordinator once the ring it routes to is formed.
    return isFormedAmong(this.currentPlacement.read, this.membership.countInRing(), this.options.replicas);
  }

  /**
   * Whether a client request may be served now (isReady). The first time it may, the node
   * tells the others it serves, before it serves anything: from then on a node that joins
   * receives its ranges before it serves them (rebalance/rebalancer.ts).
   */
  admitClients(): boolean {
    if (!this.isReady()) return false;
    this.membership.markServing();
    return true;
  }

  /** An operator's restore of backed-up records to their replicas (cluster/restore-writes.ts). */
  restore(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<RestoreAnswer> {
    return restoreRecords(
      {
        self: this.deps.self,
        writeGroups: (key) => this.coordinator.writeGroups(key),
        isAvailable: (nodeId) => this.membership.isAvailable(nodeId),
        addressOf: (nodeId) => this.membership.addressOf(nodeId),
        transport: this.transport,
        local: this.handleRequest,
        nowHlc: () => this.hlc.now(),
        timeoutMs: this.options.coordinator.writeTimeoutMs ?? 2000,
        ...(this.deps.quorum !== undefined ? { quorum: this.deps.quorum } : {}),
      },
      entries,
    );
  }

  /** The read ring: where keys are now (reads, anti-entropy, ownership). */
  get ring(): Ring {
    return this.currentPlacement.read;
  }

  /** Tombstones this node holds. */
  tombstoneCount(): number {
    return this.engine.keyCount() - this.engine.liveCount();
  }

  get placement(): Placement {
    return this.currentPlacement;
  }

  private get settleMs(): number {
    return this.options.ringSettleMs ?? 2000;
  }

  /** Rebuilds the placement from the members (and lets settled rings go). */
  refreshPlacement(moved = false): void {
    const previous = this.currentPlacement;
    const next = this.buildPlacement(previous, moved);
    const changed =
      next.read.fingerprint !== previous.read.fingerprint ||
      next.target.fingerprint !== previous.target.fingerprint ||
      next.transition !== previous.transition ||
      next.writes.length !== previous.writes.length ||
      next.settling.length !== previous.settling.length;
    if (!changed) return;
    this.currentPlacement = next;
  }

  /** The placement that follows `previous` for the ring statuses this node holds now (ring/placement.ts). */
  private buildPlacement(previous: Placement | undefined, moved = false): Placement {
    const settings = { vnodes: this.options.vnodes, replicas: this.options.replicas, hash: this.deps.hash, settleMs: this.settleMs };
    const input = {
      members: this.membership.list(),
      moved,
      nowMs: this.deps.clock.nowMs(),
      epoch: this.membership.routeStamp().epoch,
      barrierPassed: (epoch: number) => this.membership.barrierPassed(epoch),
    };
    return nextPlacement(previous, input, settings);
  }

  /**
   * Moves this node from standby into the ring: it joins as a new node does, its ranges
   * streaming to it before it serves them. Refused unless it is on standby.
   */
  join(): RingChangeResult {
    const ring = this.membership.ringOf(this.nodeId);
    if (ring !== 'standby') return { ok: false, reason: 'conflict', message: `${this.nodeId} is ${ring}, not on standby: only a node started with --standby is told to join` };
    return this.moveRing(this.nodeId, 'joining', `${this.nodeId} is joining: its ranges stream to it, then it is normal`);
  }

  /**
   * Starts this node's decommission: its ranges stream to their new owners, then it is
   * `left` (events.left). Refused unless it is normal and enough members remain for N. A
   * node on standby holds no ranges: it is left at once.
   */
  leave(): RingChangeResult {
    const ring = this.membership.ringOf(this.nodeId);
    if (ring === 'standby') return this.moveRing(this.nodeId, 'left', `${this.nodeId} was on standby and held no ranges: it has left`);
    if (ring !== 'normal') return { ok: false, reason: 'conflict', message: `${this.nodeId} is ${ring}, not normal: only a normal member (or one on standby) can leave` };
    const refusal = this.tooFewAfterRemoving(this.nodeId);
    if (refusal !== undefined) return refusal;
    return this.moveRing(this.nodeId, 'leaving', `${this.nodeId} is leaving: its ranges stream to their new owners, then it stops`);
  }

  /**
   * Takes a dead member out for good: the survivors re-replicate its ranges from the
   * other replicas. Refused for a member that is not known to be down (use leave on it).
   */
  remove(nodeId: string): RingChangeResult {
    const state = this.membership.stateOf(nodeId);
    if (state === undefined) return { ok: false, reason: 'not-found', message: `no member ${nodeId} is known to this node` };
    if (nodeId === this.nodeId) return { ok: false, reason: 'conflict', message: 'a node cannot remove itself: ask it to leave, or remove it from another node once it is down' };
    const ring = this.membership.ringOf(nodeId);
    if (ring === 'left' || ring === 'leaving') return { ok: false, reason: 'conflict', message: `${nodeId} is already ${ring}` };
    if (state !== 'down') {
      return { ok: false, reason: 'conflict', message: `${nodeId} is ${state}, not down: remove is for a node that will never return; ask a live node to leave instead` };
    }
    const refusal = this.tooFewAfterRemoving(nodeId);
    if (refusal !== undefined) return refusal;
    // A member that holds no ranges yet (standby, or joining) has nothing to re-replicate.
    if (ring !== undefined && holdsNoRanges(ring)) return this.moveRing(nodeId, 'left', `${nodeId} was ${ring} and held no ranges: it has left`);
    return this.moveRing(nodeId, 'leaving', `${nodeId} is being removed: the other replicas re-replicate its ranges`);
  }

  /** An accepted ring change: moves `nodeId` on to `status` and tells the other members at once. */
  private moveRing(nodeId: string, status: RingStatus, message: string): RingChangeResult {
    this.membership.advanceRing(nodeId, status);
    return { ok: true, ringStatus: status, message, told: this.spreadRingChange(nodeId, status) };
  }

  /**
   * Fencing, the replica's side (cluster/cluster-state.ts judgeRoute): a put or get routed
   * by the state this node holds is served; one routed by a newer state is served too, and
   * this node learns the sender's state; one routed by an older state (or by other news at
   * the same epoch) is refused, so the coordinator learns this node's state and routes
   * again. Requests not routed by the ring carry no epoch and are served.
   */
  private fence(request: Routed, from: MemberAddress): { serve: true } | { serve: false; message: string } {
    if (request.epoch === undefined || request.digest === undefined) return { serve: true };
    const held = this.membership.routeStamp();
    const verdict = (this.deps.fencing ?? strictFencing).judge(held, { epoch: request.epoch, digest: request.digest });
    if (verdict === 'current') return { serve: true };
    // At the same epoch each side holds news the other lacks: both learn.
    if (verdict === 'newer' || request.epoch === held.epoch) this.learnStateOf(from.nodeId);
    if (verdict === 'newer') return { serve: true };
    return {
      serve: false,
      message: `the request was routed by cluster state epoch ${request.epoch} (digest ${request.digest}) but ${this.nodeId} holds epoch ${held.epoch} (digest ${held.digest}): learn its state and route again`,
    };
  }

  /** Learns a peer's state unless an exchange with it ran within the last stateExchangeIntervalMs. */
  private learnStateOf(nodeId: string): void {
    const lastMs = this.exchangedAtMs.get(nodeId);
    if (lastMs !== undefined && this.deps.clock.nowMs() - lastMs < stateExchangeIntervalMs) return;
    void this.exchangeState(nodeId);
  }

  /**
   * Exchanges cluster states with `nodeId` directly (membership.exchangeState), one
   * exchange per peer at a time: callers of a running one wait for it. Resolves with
   * whether the peer answered; never rejects.
   */
  exchangeState(nodeId: string): Promise<boolean> {
    const running = this.exchanges.get(nodeId);
    if (running !== undefined) return running;
    const exchange = this.exchangeNow(nodeId)
      .then((held) => held !== undefined)
      .finally(() => this.exchanges.delete(nodeId));
    this.exchanges.set(nodeId, exchange);
    return exchange;
  }

  /** One exchange with `nodeId`, started now: resolves with what it holds after it, or undefined when it did not answer; never rejects. */
  private exchangeNow(nodeId: string): Promise<readonly MemberUpdate[] | undefined> {
    const probeTimeoutMs = this.options.membership.probeTimeoutMs ?? 500;
    return this.track(this.membership.exchangeState(nodeId, probeTimeoutMs))
      .then(
        (held) => held,
        () => undefined,
      )
      .finally(() => this.exchangedAtMs.set(nodeId, this.deps.clock.nowMs()));
  }

  /**
   * Fencing, the coordinator's side: every put and get to a replica carries the epoch and
   * digest of the state this node routes by; a replica that refuses with `stale-epoch` is
   * asked for its state before the refusal reaches the coordinator, so that the request
   * routed again goes by the newer state.
   */
  private routed(transport: Transport): Transport {
    const learnOnRefusal = (address: string) => async (error: unknown) => {
      if (error instanceof PeerError && error.remoteCode === 'stale-epoch') {
        const nodeId = this.membership.nodeIdsAt(address)[0];
        if (nodeId !== undefined) await this.exchangeState(nodeId);
      }
      throw error;
    };
    return {
      // No async wrapper: a put or get is on every client request's path.
      request: (address, body, timeoutMs) => {
        if (!routedTypes.has(body.type)) return transport.request(address, body, timeoutMs);
        const stamp = this.membership.routeStamp();
        return transport.request(address, { ...body, epoch: stamp.epoch, digest: stamp.digest }, timeoutMs).catch(learnOnRefusal(address));
      },
    };
  }

  /**
   * Tells every member not known down of a ring change this node just made, directly (a
   * state exchange each) rather than by gossip alone: a node that accepted an operator's
   * remove and then lost its disk before its next gossip round would take the removal with
   * it (simulator seed 1030600 of slow-gossip). Resolves with how many members now hold it.
   */
  spreadRingChange(nodeId: string, status: RingStatus): Promise<number> {
    const others = this.membership.list().filter((member) => member.nodeId !== this.nodeId && member.state !== 'down' && member.ring !== 'left');
    return Promise.all(others.map((member) => this.holdsAfterTelling(member.nodeId, nodeId, status))).then((answers) => answers.filter(Boolean).length);
  }

  /**
   * Tells `other` the state this node holds now and resolves with whether its answer shows
   * `nodeId` at `status` or later. An exchange already running sent an older state (a ring
   * change made since is not in it), so it is waited for and a new one follows; and an
   * answer is not a hold: a member that still holds the removed node up keeps it as it was
   * until it finds it down too (Membership.mergeRelayed). Counting answers said members
   * held a removal they had not taken.
   */
  private async holdsAfterTelling(other: string, nodeId: string, status: RingStatus): Promise<boolean> {
    await this.exchanges.get(other);
    const theirs = (await this.exchangeNow(other))?.find((update) => update.nodeId === nodeId)?.ring;
    return theirs !== undefined && laterRingStatus(theirs, status) === theirs;
  }

  private tooFewAfterRemoving(nodeId: string): RingChangeResult | undefined {
    const remaining = this.membership.list().filter((member) => member.nodeId !== nodeId && (member.ring === 'normal' || member.ring === 'joining')).length;
    if (remaining >= this.options.replicas) return undefined;
    return {
      ok: false,
      reason: 'conflict',
      message: `only ${remaining} members would remain for ${this.options.replicas} replicas per key; add a node first`,
    };
  }

  private adoptWatermark(watermark: number): void {
    if (this.tombstones.adopt(watermark)) void this.tombstones.round().catch(() => undefined);
  }

  /**
   * Keeps this node's clock above the tombstone watermark, so the versions it stamps are
   * never below it (replicas refuse those, as they could revive a purged delete).
   */
  private observeWatermark(watermark: number): void {
    try {
      this.hlc.observe(watermark);
    } catch {
      // A watermark far ahead of this clock (skew): replicas' refusals re-stamp writes instead.
    }
  }

  get nodeId(): string {
    return this.deps.self.nodeId;
  }

  /**
   * The members whose data and change logs count: those in the ring, and one that has left
   * while it is still up, since its cleanup may still be handing on what it holds.
   */
  private membersHoldingData(): MemberView[] {
    return this.membership.list().filter((member) => inRing(member.ring) || (member.ring === 'left' && this.membership.isAvailable(member.nodeId)));
  }

  /**
   * A watch of the changes under `prefix` (watch/watch-session.ts), from `cursor` or from
   * now. Resolves once it has begun (after `listener.ready`); rejects with a WatchError
   * when too few members answer.
   */
  async openWatch(prefix: string, cursor: WatchCursor | undefined, listener: WatchListener): Promise<WatchSession> {
    // A node that does not yet know the whole cluster (starting, joining) cannot tell which members cover every key.
    if (!this.isReady()) throw new WatchError('unavailable', `node ${this.nodeId} is not ready: it is starting or joining the ring; retry in a moment or use another node`);
    const session = new WatchSession(
      {
        selfId: this.deps.self.nodeId,
        // The members in the ring, and one that has left while it is still up: its change log
        // may hold a change no member logged, a version overwritten before the transfers, which
        // carry each key's newest version only (ring-changes seed 6220413).
        members: () => this.membersHoldingData(),
        covers: (nodeIds) => this.covers(nodeIds),
        isAvailable: (nodeId) => this.membership.isAvailable(nodeId),
        local: (request) => this.changes.changesFor(request),
        ...(this.deps.watchResolvedOf !== undefined ? { resolvedOf: this.deps.watchResolvedOf } : {}),
        transport: this.transport,
        clock: this.deps.clock,
      },
      { prefix, cursor, startTimeoutMs: this.options.scanTimeoutMs ?? scanRecordsTimeoutMsDefault },
      {
        ...listener,
        ended: (error) => {
          this.watches.delete(session);
          listener.ended(error);
        },
      },
    );
    this.watches.add(session);
    try {
      await session.start();
    } catch (error) {
      this.watches.delete(session);
      throw error;
    }
    return session;
  }

  /** Open watches on this node. */
  get watchCount(): number {
    return this.watches.size;
  }

  /**
   * For each key, the newest version its replicas answered with (null: none holds it); when
   * fewer than a majority answered in every ring writes reach, only what those few hold
   * (watch/expiry-confirmation.ts): one `versions` question per replica for all the keys.
   */
  private async newestVersions(keys: readonly string[]): Promise<Map<string, KeyVersionSeen>> {
    const rings = this.currentPlacement.writes;
    const byNode = new Map<string, string[]>();
    const replicaSets = new Map<string, Array<readonly string[]>>();
    for (const key of keys) {
      const sets = rings.map((ring) => ring.preferenceList(key));
      replicaSets.set(key, sets);
      for (const nodeId of new Set(sets.flat())) {
        const list = byNode.get(nodeId) ?? [];
        list.push(key);
        byNode.set(nodeId, list);
      }
    }
    const answers = new Map<string, Map<string, VersionAnswer>>(keys.map((key) => [key, new Map()]));
    const heldOnly = new Map<string, VersionAnswer[]>(keys.map((key) => [key, []]));
    // A replica that lost its data (dataIncomplete) counts toward no majority: its "none"
    // may be a newer write it lost with its disk (slow-gossip seed 3800272). What it does
    // hold still refutes an expiry.
    const heard = (key: string, nodeId: string, version: VersionAnswer, incomplete: boolean) => {
      if (!incomplete) answers.get(key)?.set(nodeId, version);
      else if (version !== null) heldOnly.get(key)?.push(version);
    };
    await Promise.all(
      [...byNode].map(async ([nodeId, nodeKeys]) => {
        if (nodeId === this.nodeId) {
          const incomplete = this.dataIncomplete();
          for (const key of nodeKeys) {
            const record = await this.engine.get(key);
            heard(key, nodeId, record === undefined ? null : record, incomplete);
          }
          return;
        }
        const address = this.membership.addressOf(nodeId);
        if (address === undefined || !this.membership.isAvailable(nodeId)) return;
        try {
          const reply = await this.transport.request(address, { type: 'versions', keys: nodeKeys }, this.options.coordinator.readTimeoutMs ?? 2000);
          nodeKeys.forEach((key, i) => {
            const version = reply.versions[i];
            heard(key, nodeId, version === null || version === undefined ? null : { hlc: version[0], nodeId: version[1] }, reply.incomplete === true);
          });
        } catch {
          // Unanswered: its keys may lack a majority, and are asked again later.
        }
      }),
    );
    return new Map(keys.map((key) => [key, newestConfirmed(this.nodeId, replicaSets.get(key) ?? [], answers.get(key) ?? new Map(), heldOnly.get(key) ?? [])]));
  }

  /**
   * Whether this node lost its data (membership `lostData`: it restarted on an empty disk as
   * a member the ring already held) and repair has not yet verified every range it owns
   * against the other replicas since (the anti-entropy horizon): until then what it holds
   * is no evidence of what its ranges held. Latched once repaired.
   */
  private dataIncomplete(): boolean {
    if (this.repairedSinceDataLoss || !this.membership.lostData) return false;
    if (this.antiEntropy.status().horizonMs === null) return true;
    this.repairedSinceDataLoss = true;
    return false;
  }

  /** Whether `nodeIds` hold a majority of the replicas of every range, in every ring writes reach. */
  private covers(nodeIds: ReadonlySet<string>): boolean {
    const placement = this.currentPlacement;
    const key = `${placement.writes.map((ring) => ring.fingerprint).join(',')}|${[...nodeIds].sort().join(',')}`;
    if (this.coverage.key === key) return this.coverage.covers;
    let covers = true;
    for (const ring of placement.writes) {
      for (const range of ring.ranges()) {
        let held = 0;
        for (const nodeId of range.replicas) if (nodeIds.has(nodeId)) held++;
        if (held < Math.floor(range.replicas.length / 2) + 1) covers = false;
      }
    }
    this.coverage.key = key;
    this.coverage.covers = covers;
    return covers;
  }

  /** Starts periodic probing (the first round at once) and the background jobs. */
  start(): void {
    this.stopped = false;
    this.changes.start();
    this.probeRound();
    this.scheduleAntiEntropy();
    this.scheduleHandoff();
    this.scheduleRebalance();
  }

  stop(): void {
    this.stopped = true;
    for (const session of [...this.watches]) session.close();
    this.track(this.changes.stop());
    if (this.probeTimer) this.deps.clock.clearTimer(this.probeTimer);
    if (this.antiEntropyTimer) this.deps.clock.clearTimer(this.antiEntropyTimer);
    if (this.handoffTimer) this.deps.clock.clearTimer(this.handoffTimer);
    if (this.rebalanceTimer) this.deps.clock.clearTimer(this.rebalanceTimer);
    this.rebalanceTimer = undefined;
    this.probeTimer = undefined;
    this.antiEntropyTimer = undefined;
    this.handoffTimer = undefined;
  }

  /**
   * Resolves once the background rounds running when the node stopped have finished (each
   * is bounded by its peer timeouts and batch budgets), so that the engine can close
   * without a round still reading or writing it.
   */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Runs one background task, remembered until it settles (see idle). */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const forget = () => void this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  private scheduleRebalance(): void {
    const round = async () => {
      this.refreshPlacement();
      await this.rebalancer.round();
    };
    this.repeat(this.options.rebalanceIntervalMs ?? 500, round, (timer) => (this.rebalanceTimer = timer));
  }

  /**
   * A delivery round starts each period without waiting for the previous one to end: a push
   * lost on the way to one replica waits out its timeout (5 s) while the hints kept meanwhile
   * for the others go out (hinted-handoff.ts leaves that replica to its own delivery).
   * Simulator seed 4304778 of the standard profile: one lost push held every hint back 5 s.
   */
  private scheduleHandoff(): void {
    const round = async () => void this.track(this.handoff.round()).catch(() => undefined);
    this.repeat(this.options.hintDeliveryIntervalMs ?? 1000, round, (timer) => (this.handoffTimer = timer));
  }

  /** Runs `round` every `intervalMs` after the previous one finished, until stopped; 0 never. */
  private repeat(intervalMs: number, round: () => Promise<void>, keep: (timer: TimerHandle) => void): void {
    if (this.stopped || intervalMs <= 0) return;
    keep(
      this.deps.clock.setTimer(intervalMs, () => {
        // A failed round (a peer gone, the engine closing) must not stop the rounds or
        // surface as an unhandled rejection: the next round tries again.
        if (!this.stopped) this.track(round()).catch(() => undefined).finally(() => this.repeat(intervalMs, round, keep));
      }),
    );
  }

  /** Runs one anti-entropy round now (tests; the timer runs them otherwise). */
  antiEntropyNow(): Promise<void> {
    return this.antiEntropy.round();
  }

  private scheduleAntiEntropy(): void {
    const round = async () => {
      await this.antiEntropy.round();
      // Published only once the ring is formed: a horizon also tells new nodes that the
      // cluster holds data, so that they join by receiving it (rebalance/rebalancer.ts).
      const horizon = this.antiEntropy.status().horizonMs;
      if (horizon !== null && this.isReady()) this.membership.publishHorizon(horizon);
      await this.tombstones.round();
    };
    this.repeat(this.options.antiEntropyIntervalMs ?? 1000, round, (timer) => (this.antiEntropyTimer = timer));
  }

  private probeRound(): void {
    if (this.stopped) return;
    this.track(this.membership.protocolPeriod()).catch(() => undefined).finally(() => {
      if (this.stopped) return;
      this.probeTimer = this.deps.clock.setTimer(this.options.probeIntervalMs, () => this.probeRound());
    });
  }
}

/**
 * Requests a peer's background job sends (anti-entropy, cleanups): served at the pace of
 * this node's budget. A transfer's `transferScan` paces itself between the pages of its
 * walk (rebalance/transfer-source.ts), by its own work only.
 */
const backgroundRequestTypes: ReadonlySet<DataRequest['type']> = new Set(['digests', 'rangeEntries', 'pullRecords', 'versions']);

/**
 * Answers a peer's background requests only after the pause this node's budget asks for
 * the work they took, so a peer's anti-entropy or transfer gives way to this node's
 * clients too (its own budget only sees its own). Pushes are not held: hints travel as
 * pushes, and a push's work is done before the pause could spare anything.
 */
function pacedForPeers(handler: RequestHandler, budget: BackgroundBudget): RequestHandler {
  return async (body, from) => {
    if (!backgroundRequestTypes.has(body.type)) return handler(body, from);
    const startedAtMs = budget.nowMs();
    const reply = await handler(body, from);
    await budget.pause(startedAtMs);
    return reply;
  };
}

/**
 * Peer requests a coordinator sends for its clients: a replica's reads and writes,
 * conditional writes' rounds and listings (not a watch's polls, which come whether or not
 * anything is written, nor gossip, repair or transfers).
 */
const clientRequestTypes: ReadonlySet<DataRequest['type']> = new Set(['get', 'put', 'paxosPrepare', 'paxosAccept', 'paxosCommit', 'scanRecords']);

/**
 * Counts each peer request served for clients in `served` as it comes. No async wrapper
 * (a put or get is on every client request's path): each counts as one in flight for the
 * window, however long it takes.
 */
function countedForClients(handler: RequestHandler, served: InflightCount): RequestHandler {
  return (body, from) => {
    if (clientRequestTypes.has(body.type)) served.served();
    return handler(body, from);
  };
}

/**
 * The shell's client load plus the peers' requests served for their clients. A replica
 * serves clients it never sees: a member that is leaving, or one the load balancer sends
 * no client, still answers every coordinator's reads and writes, and its background work
 * (a leave's transfer) must give way to them as to its own clients.
 */
function withPeerClients(load: ClientLoad, peers: InflightCount): ClientLoad {
  const composed: ClientLoad = { inflight: () => load.inflight() + peers.recent() };
  if (load.busyShare !== undefined) composed.busyShare = () => load.busyShare?.();
  if (load.cpuPressure !== undefined) composed.cpuPressure = () => load.cpuPressure?.();
  return composed;
}
