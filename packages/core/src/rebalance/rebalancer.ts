// Drives ring transitions on one node (docs/design.md, "Membership and ring": join, leave,
// remove). Every round it looks at the placement (ring/placement.ts) and:
// 0. if the cluster is still forming, a joining node becomes normal at once;
// 1. if this node gains keys in the transition under way, pulls them (rebalance/transfer.ts),
//    starting only after a settle period and once every member has seen the state that
//    began it (the barrier, cluster/cluster-state.ts), so that every coordinator already
//    writes to it;
// 2. once every gaining member has announced it holds its data, completes the transition:
//    a joining node becomes normal, a leaving node becomes left (and its shell exits after
//    the settle period), and a dead leaving node (`remove`) is marked left by whoever sees
//    it first;
// 3. once the ring has been stable for the settle period and every member has seen it,
//    drops the keys this node no longer owns, so every key ends on exactly N nodes (a
//    cleanup job). Those keys lie in the arcs of the ranges this node does not replicate:
//    the engine's ring index counts them and walks only those arcs (storage/ring-order.ts).
import { backgroundSlice, type BackgroundPace } from '../clock/background-budget.js';
import { pacedTurn, type Clock } from '../clock/clock.js';
import type { Membership } from '../membership/membership.js';
import { gainers, type Placement } from '../ring/placement.js';
import type { Ring, RingArc } from '../ring/ring.js';
import type { Engine, RingScanEntry, ScanEntry } from '../storage/engine.js';
import { payloadBytesOf } from '../cluster/key-scan.js';
import type { RingCursor } from '../storage/ring-order.js';
import { jobPace, type JobKind, type JobView } from './job.js';
import type { Transfer } from './transfer.js';

export interface RebalancerDeps {
  selfId: string;
  membership: Membership;
  placement(): Placement;
  transfer: Transfer;
  engine: Engine;
  clock: Clock;
  /** How long a ring change takes to reach every node (gossip), with room to spare. */
  settleMs: number;
  /** Exchanges cluster states with a member directly (cluster/cluster-node.ts); resolves with whether it answered. */
  exchangeState(nodeId: string): Promise<boolean>;
  /**
   * Of the keys a cleanup would drop, those a majority of their new replicas hold (after
   * being handed any they lack: rebalance/cleanup-handoff.ts); without it, all of them.
   */
  handOff?(foreign: readonly ScanEntry[], ring: Ring): Promise<ScanEntry[]>;
  /** Paces the cleanup scan so that it yields to clients (clock/background-budget.ts); half the time without it. */
  budget?: BackgroundPace;
  events?: {
    /** This node's leave is complete: the shell may stop it after the settle period. */
    left?(): void;
    keysCleanedUp?(count: number): void;
  };
}

const cleanupPage = 1000;

/** Where a cleanup's walk of its foreign arcs stands: the arc, and the last key walked in it. */
interface ArcPosition {
  index: number;
  after: RingCursor | undefined;
}

interface CleanupJob {
  ring: number;
  startedAtMs: number;
  finishedAtMs: number | null;
  scanned: number;
  total: number;
  dropped: number;
  droppedBytes: number;
}

export class Rebalancer {
  private readonly deps: RebalancerDeps;
  private seenTransition = 0;
  private seenAtMs = 0;
  /** The epoch this node held when it first saw the transition under way. */
  private seenEpoch = 0;
  private gainersOf: { transition: number; nodes: Set<string> } = { transition: 0, nodes: new Set() };
  private cleanup: CleanupJob | undefined;
  /** Keys this node held outside its ranges of a read ring when last counted (each cleanup round counts them). */
  private outside: { ring: number; keys: number } | undefined;
  private leftAnnounced = false;

  constructor(deps: RebalancerDeps) {
    this.deps = deps;
  }

  async round(): Promise<void> {
    const placement = this.deps.placement();
    const { membership, selfId } = this.deps;
    // A forming cluster (no member has yet been ready, so none has taken a write) holds no
    // data: a joining node has nothing to receive and becomes normal at once, so members
    // started together all found it.
    if (membership.isReady() && membership.ringOf(selfId) === 'joining' && (await this.clusterIsForming())) {
      membership.advanceRing(selfId, 'normal');
      return;
    }
    if (placement.transition === 0) {
      const seenByAll = membership.barrierPassed(membership.routeStamp().epoch);
      // A node that has left hands its keys on like any cleanup before its shell stops it: a
      // transfer that ran while it was unavailable took its keys from the other replicas,
      // which may lack a write only it held (simulator seed 1731197 of slow-gossip).
      const ring = membership.ringOf(selfId);
      if (placement.writes.length === 1 && seenByAll && membership.isReady() && (ring === 'normal' || ring === 'left')) await this.cleanUp(placement.read);
      this.announceLeftIfSo();
      return;
    }
    const nowMs = this.deps.clock.nowMs();
    if (this.seenTransition !== placement.transition) {
      this.seenTransition = placement.transition;
      this.seenAtMs = nowMs;
      this.seenEpoch = membership.routeStamp().epoch;
    }
    const gaining = this.gainers(placement);
    const everyoneWrites = nowMs - this.seenAtMs >= this.deps.settleMs && membership.barrierPassed(this.seenEpoch);
    if (gaining.has(selfId) && membership.syncedOf(selfId) !== placement.transition && everyoneWrites) {
      const complete = await this.deps.transfer.run(this.plan(placement));
      if (complete && this.deps.placement().transition === placement.transition) membership.markSynced(placement.transition);
    }
    if ([...gaining].every((nodeId) => membership.syncedOf(nodeId) === placement.transition)) this.complete();
  }

  /** True when no ring change is under way or settling here, and keys no longer owned are dropped. */
  settled(): boolean {
    const placement = this.deps.placement();
    if (placement.transition !== 0 || placement.writes.length !== 1) return false;
    const ring = this.deps.membership.ringOf(this.deps.selfId);
    if (ring === 'left') return this.handedAllOn();
    if (ring !== 'normal') return true;
    return this.cleanup?.ring === placement.read.fingerprint && this.cleanup.finishedAtMs !== null && this.outsideOf(placement.read) === 0;
  }

  /** Jobs on this node: the transfer under way or last finished, and the last cleanup. */
  jobs(): JobView[] {
    const jobs: JobView[] = [];
    const placement = this.deps.placement();
    // A transfer this node is to run but has not begun (the settle period) is waiting.
    const pending = placement.transition !== 0 && this.deps.transfer.transition !== placement.transition && this.gainers(placement).has(this.deps.selfId);
    const transfer = pending ? this.pendingView(placement) : this.deps.transfer.view();
    if (transfer !== undefined) jobs.push(transfer);
    if (this.cleanup !== undefined) jobs.push(this.cleanupView(this.cleanup));
    return jobs;
  }

  pause(): boolean {
    return this.deps.transfer.pause();
  }

  resume(): boolean {
    return this.deps.transfer.resume();
  }

  /** What the transition is, in words, and the kind of job it makes. */
  private describe(): { kind: JobKind; description: string } {
    const parts: string[] = [];
    let kind: JobKind = 'join';
    for (const member of this.deps.membership.list()) {
      if (member.ring === 'joining') parts.push(`${member.nodeId} joins`);
      if (member.ring === 'leaving') {
        const removed = member.state === 'down';
        parts.push(`${member.nodeId} ${removed ? 'is removed' : 'leaves'}`);
        kind = removed ? 'remove' : 'leave';
      }
    }
    return { kind, description: parts.length === 0 ? 'ring change' : parts.join(', ') };
  }

  private plan(placement: Placement) {
    return {
      transition: placement.transition,
      readRing: placement.read.fingerprint,
      targetRing: placement.target.fingerprint,
      sources: placement.read.nodeIds.filter((nodeId) => nodeId !== this.deps.selfId),
      ...this.describe(),
    };
  }

  private gainers(placement: Placement): Set<string> {
    if (this.gainersOf.transition !== placement.transition) this.gainersOf = { transition: placement.transition, nodes: gainers(placement.read, placement.target) };
    return this.gainersOf.nodes;
  }

  private complete(): void {
    const { membership, selfId } = this.deps;
    const ring = membership.ringOf(selfId);
    if (ring === 'joining') membership.advanceRing(selfId, 'normal');
    else if (ring === 'leaving') membership.advanceRing(selfId, 'left');
    for (const member of membership.list()) {
      if (member.ring === 'leaving' && member.state === 'down') membership.advanceRing(member.nodeId, 'left');
    }
    this.announceLeftIfSo();
  }

  /**
   * Whether no other member serves yet. A member whose status no update has told reads as
   * joining, so its state is asked for directly first: a joiner whose gossip is starved from
   * its first moment would otherwise take a serving cluster for a forming one and serve
   * reads it holds no data for (simulator seed 1230856 of slow-gossip).
   */
  private async clusterIsForming(): Promise<boolean> {
    const { membership, selfId } = this.deps;
    // A member known down is not waited for: it cannot hold up forming for ever.
    const unheard = membership.ringUnheard().filter((nodeId) => membership.stateOf(nodeId) !== 'down');
    const answered = await Promise.all(unheard.map((nodeId) => this.deps.exchangeState(nodeId)));
    if (answered.includes(false)) return false;
    return !membership.list().some((member) => member.nodeId !== selfId && (member.ring === 'normal' || member.ring === 'leaving') && member.serving);
  }

  private announceLeftIfSo(): void {
    if (this.leftAnnounced || this.deps.membership.ringOf(this.deps.selfId) !== 'left' || !this.handedAllOn()) return;
    this.leftAnnounced = true;
    this.deps.events?.left?.();
  }

  /** A node that has left: its last cleanup handed on (and dropped) every key it held. */
  private handedAllOn(): boolean {
    const read = this.deps.placement().read;
    return this.cleanup?.ring === read.fingerprint && this.cleanup.finishedAtMs !== null && this.outsideOf(read) === 0;
  }

  /** The last count of keys outside this node's ranges of `ring`; undefined when none was taken for it. */
  private outsideOf(ring: Ring): number | undefined {
    return this.outside?.ring === ring.fingerprint ? this.outside.keys : undefined;
  }

  /** The arcs of `ring` whose ranges this node does not replicate. */
  private foreignArcs(ring: Ring): RingArc[] {
    return ring.arcsWhere((replicas) => !replicas.includes(this.deps.selfId));
  }

  /** Counts the keys held in `arcs` (the ring index's summaries, no walk) and remembers the count for `ring`. */
  private async countOutside(ring: Ring, arcs: readonly RingArc[]): Promise<number> {
    let keys = 0;
    for (const arc of arcs) keys += (await this.deps.engine.summarize(arc.start, arc.end)).keys;
    this.outside = { ring: ring.fingerprint, keys };
    return keys;
  }

  /** Drops keys this node is no longer a replica of (once per stable ring). */
  private async cleanUp(ring: Ring): Promise<void> {
    const arcs = this.foreignArcs(ring);
    const outside = await this.countOutside(ring, arcs);
    if (this.cleanup?.ring === ring.fingerprint && this.cleanup.finishedAtMs !== null) {
      // Done for this ring, unless keys arrived outside its ranges since (a coordinator
      // that had not yet heard of a ring change wrote to the old owners): go again, once
      // the settle period since the last pass has passed.
      if (outside === 0 || this.deps.clock.nowMs() - this.cleanup.finishedAtMs < this.deps.settleMs) return;
      this.cleanup.finishedAtMs = null;
    }
    if (this.cleanup?.ring !== ring.fingerprint || this.cleanup.finishedAtMs === null) {
      // A new ring (or a restart, or an interrupted or repeated pass): walk from the start,
      // counting what earlier passes over the same ring dropped.
      const same = this.cleanup?.ring === ring.fingerprint ? this.cleanup : undefined;
      this.cleanup = {
        ring: ring.fingerprint,
        startedAtMs: this.deps.clock.nowMs(),
        finishedAtMs: null,
        scanned: 0,
        total: outside,
        dropped: same?.dropped ?? 0,
        droppedBytes: same?.droppedBytes ?? 0,
      };
    }
    const job = this.cleanup;
    job.total = Math.max(outside, job.scanned);
    // After a restart, or on a node that gave nothing up, there is nothing to walk.
    if (outside > 0 && !(await this.cleanArcs(ring, arcs, job))) return;
    // Counted again now that the pass is done, so a node that has left knows at once whether
    // it handed everything on (the count taken before the pass still holds what it dropped).
    if (outside > 0) await this.countOutside(ring, arcs);
    job.finishedAtMs = this.deps.clock.nowMs();
  }

  /**
   * Hands on and drops the keys of the foreign arcs, page by page; false when the ring
   * changed meanwhile. A page gathers up to `cleanupPage` keys across arcs in ring order:
   * with hundreds of vnodes an arc holds a few hundred keys, and a page per arc asked the
   * new replicas once per arc and took no pause between arcs. A page's drop commits while
   * the next page is walked, handed on and paced for: the drop is mostly a wait for its
   * commit and the hand-off a wait for the replicas, so the pause, which leaves the event
   * loop to clients, runs while both wait. The drop's time is paced at the next page's turn.
   */
  private async cleanArcs(ring: Ring, arcs: readonly RingArc[], job: CleanupJob): Promise<boolean> {
    const position: ArcPosition = { index: 0, after: undefined };
    /** The previous page's drop, resolving to how long it took; awaited before the next drop and before the pass ends. */
    let dropping: Promise<number> | undefined;
    /** Drops' time not paced yet: the next turn pauses for it. */
    let unpacedMs = 0;
    /** The page being handed on, awaited before its drop (or dropped unseen when the pass stops first). */
    let handing: Promise<ScanEntry[]> | undefined;
    try {
      while (position.index < arcs.length) {
        if (this.deps.placement().read !== ring || this.cleanup !== job) return false;
        // Paced by the work done here, the walk and the drop: the replicas asked in between pace
        // their answers by their own budgets (cluster-node.ts, pacedForPeers).
        const scanStartedAtMs = this.deps.clock.nowMs();
        const page = await this.gatherPage(arcs, position);
        const workMs = this.deps.clock.nowMs() - scanStartedAtMs;
        const foreign: ScanEntry[] = page.map(({ key, record }) => ({ key, record }));
        // Dropped only once the new replicas hold them (handed on first if need be).
        handing = foreign.length > 0 && this.deps.handOff !== undefined ? this.deps.handOff(foreign, ring) : Promise.resolve(foreign);
        // Its error surfaces where it is awaited; until then it is not an unhandled rejection.
        handing.catch(() => undefined);
        if (position.index < arcs.length) {
          const workedFromMs = this.deps.clock.nowMs() - workMs - unpacedMs;
          unpacedMs = 0;
          await (this.deps.budget?.turn(workedFromMs) ?? pacedTurn(this.deps.clock, workedFromMs));
        }
        const handedOn = await handing;
        handing = undefined;
        unpacedMs += (await dropping) ?? 0;
        dropping = undefined;
        // The ring may have changed while the page was read: check again before dropping.
        if (this.deps.placement().read !== ring || this.deps.placement().writes.length !== 1) return false;
        if (handedOn.length > 0) {
          dropping = this.drop(handedOn, job);
          dropping.catch(() => undefined);
        }
        job.scanned += page.length;
        job.total = Math.max(job.total, job.scanned);
      }
    } finally {
      // Done, or stopped by a ring change: the last drop finishes before the pass is over,
      // and a hand-off still asking ends before another pass may ask again.
      await handing?.catch(() => undefined);
      await dropping;
    }
    return true;
  }

  /** Up to `cleanupPage` keys from `arcs`, in ring order from `position`, which it moves on. */
  private async gatherPage(arcs: readonly RingArc[], position: ArcPosition): Promise<RingScanEntry[]> {
    // Smaller pages while clients load this node: each page's walk, hand-off and drop hold
    // its event loop in turn, and the nodes asked to take the keys are paced by their clients too.
    const size = backgroundSlice(this.deps.budget, cleanupPage);
    const page: RingScanEntry[] = [];
    while (page.length < size && position.index < arcs.length) {
      const arc = arcs[position.index] as RingArc;
      const wanted = size - page.length;
      const part = await this.deps.engine.ringScan({ start: arc.start, end: arc.end, limit: wanted, ...(position.after !== undefined ? { after: position.after } : {}) });
      page.push(...part);
      const last = part[part.length - 1];
      if (part.length < wanted || last === undefined) {
        position.index++;
        position.after = undefined;
      } else {
        position.after = { token: last.token, key: last.key };
      }
    }
    return page;
  }

  /**
   * Drops `entries` where they still hold the version walked; resolves to the time it took.
   * One transaction for the page, or under client load (which may have come since the
   * page was walked) a few smaller ones, one after another: each holds the event loop
   * while it removes.
   */
  private async drop(entries: readonly ScanEntry[], job: CleanupJob): Promise<number> {
    const startedAtMs = this.deps.clock.nowMs();
    for (let from = 0; from < entries.length; ) {
      const to = from + backgroundSlice(this.deps.budget, cleanupPage);
      const removed = await this.deps.engine.discard(entries.slice(from, to).map(({ key, record }) => ({ key, hlc: record.hlc, nodeId: record.nodeId })));
      from = to;
      job.dropped += removed.length;
      for (const { key, record } of removed) job.droppedBytes += payloadBytesOf(key, record);
      this.deps.events?.keysCleanedUp?.(removed.length);
    }
    return this.deps.clock.nowMs() - startedAtMs;
  }

  private cleanupView(job: CleanupJob): JobView {
    const pace = jobPace(job.scanned, job.total, job.droppedBytes, job.startedAtMs, job.finishedAtMs ?? this.deps.clock.nowMs());
    return {
      id: `cleanup-${job.ring.toString(16)}`,
      kind: 'cleanup',
      node: this.deps.selfId,
      state: job.finishedAtMs === null ? 'running' : 'done',
      description: 'drop keys this node no longer owns',
      keysDone: job.scanned,
      keysTotal: job.total,
      recordsMoved: job.dropped,
      bytesMoved: job.droppedBytes,
      ...pace,
      startedAtMs: job.startedAtMs,
      finishedAtMs: job.finishedAtMs,
      sources: [],
    };
  }

  private pendingView(placement: Placement): JobView {
    const plan = this.plan(placement);
    return {
      id: `transfer-${placement.transition.toString(16)}`,
      kind: plan.kind,
      node: this.deps.selfId,
      state: 'waiting',
      description: plan.description,
      keysDone: 0,
      keysTotal: 0,
      recordsMoved: 0,
      bytesMoved: 0,
      bytesPerSecond: 0,
      keysPerSecond: 0,
      etaSeconds: null,
      startedAtMs: this.seenAtMs,
      finishedAtMs: null,
      sources: [],
    };
  }
}
