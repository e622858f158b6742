// Membership and failure detection, SWIM-style (Das, Gupta, Motivala: "SWIM", 2002), as
// DESIGN.md "Membership and ring" asks:
// - each protocol period this node probes one member (round robin): a direct ping, and if
//   that gets no answer, indirect pings through k other members (§3.1);
// - a member nobody reaches becomes suspect, and down only after a suspicion timeout
//   (§4.2), which damps flapping; a live member that hears it is suspected refutes by
//   raising its incarnation number;
// - updates ride on every ping and reply (§4.1): the most recent ones first, each sent a
//   bounded number of times, then as much of the full member list as fits, so a new
//   node learns everyone from the first seed that answers.
// Members are never forgotten: a down member keeps its ring ranges and is still probed,
// so when it returns (or a partition heals) it is seen alive again. Seeds not yet known
// are pinged every period until they answer.
//
// Beside its liveness, each member carries its ring status (joining, normal, leaving,
// left), which only moves forward: a merge keeps the later of two statuses, whoever
// reported it, so an operator's `remove` of a dead member spreads like any other news.
// The member's `synced` mark (which ring transition it has finished receiving data for)
// is its own to change, and travels under a raised incarnation like a refutation.
import { membersMax, nodeIdPattern } from '../limits.js';
import type { MemberAddress, MemberUpdate, PingRequest, PingReqRequest, PingReqReply, PongReply, RingStatus } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { Rng } from '../rng.js';

export type MemberState = 'up' | 'suspect' | 'down';

/** A member as remembered across restarts. */
export interface KnownMember extends MemberAddress {
  ring?: RingStatus;
}

const ringOrder: readonly RingStatus[] = ['joining', 'normal', 'leaving', 'left'];

/** The later of two ring statuses (statuses only move forward). */
export function laterRingStatus(a: RingStatus, b: RingStatus): RingStatus {
  return ringOrder.indexOf(a) >= ringOrder.indexOf(b) ? a : b;
}

export interface MemberView extends MemberAddress {
  state: MemberState;
  incarnation: number;
  ring: RingStatus;
  /** The ring transition whose incoming data the member has received (0: none). */
  synced: number;
  /** The member's published repair horizon (ms), 0 until it has one. */
  horizon: number;
  /** The member has served clients (see MemberUpdate.serving). */
  serving: boolean;
  /** Consecutive probes (direct and indirect) that got no answer. */
  missedProbes: number;
}

export interface MembershipOptions {
  /** How long a direct or indirect probe may take. */
  probeTimeoutMs: number;
  /** Members asked to probe a target that missed a direct ping (SWIM's k). */
  indirectProbes: number;
  /** How long a member stays suspect before it is declared down. */
  suspicionTimeoutMs: number;
  /** How many times one update is piggybacked (scaled by log2 of the member count). */
  retransmitMultiplier: number;
  /** Updates carried by one message. */
  updatesPerMessageMax: number;
}

export interface MembershipDeps {
  self: MemberAddress;
  /** `host:port` of seed members; the node's own address may appear and is skipped. */
  seeds: readonly string[];
  transport: Transport;
  rng: Rng;
  nowMs(): number;
  /** This node's ring status when it starts (the status it had before a restart, or joining/normal for a new node). */
  selfRing?: RingStatus;
  /** Members remembered from an earlier run (the shell persists them). */
  known?: readonly KnownMember[];
  /**
   * Called when the set of members, their addresses or their ring statuses change;
   * `moved` is true when a known member's status moved on (a ring transition completed or
   * began), false when members were only discovered.
   */
  onMembersChanged?: (members: readonly KnownMember[], moved: boolean) => void;
  /** Called when a member's state changes. */
  onStateChanged?: (member: MemberView, previous: MemberState) => void;
}

export const membershipDefaults: MembershipOptions = {
  probeTimeoutMs: 500,
  indirectProbes: 3,
  suspicionTimeoutMs: 3000,
  retransmitMultiplier: 3,
  updatesPerMessageMax: 64,
};

interface Member extends MemberView {
  suspectedAtMs: number | undefined;
  /** False while the ring status is a default for a member heard of without one. */
  ringHeard: boolean;
}

export class Membership {
  private readonly deps: MembershipDeps;
  private readonly options: MembershipOptions;
  private readonly members = new Map<string, Member>();
  private readonly seeds: readonly string[];
  /** Recent updates still being piggybacked, with how often each was sent. */
  private readonly gossip = new Map<string, { update: MemberUpdate; sent: number }>();
  private probeOrder: string[] = [];

  constructor(deps: MembershipDeps, options: Partial<MembershipOptions> = {}) {
    this.deps = deps;
    this.options = { ...membershipDefaults, ...options };
    this.seeds = [...new Set(deps.seeds)].filter((seed) => seed !== deps.self.address);
    this.members.set(deps.self.nodeId, {
      ...deps.self,
      state: 'up',
      incarnation: 0,
      missedProbes: 0,
      suspectedAtMs: undefined,
      ring: deps.selfRing ?? 'normal',
      synced: 0,
      horizon: 0,
      serving: false,
      ringHeard: true,
    });
    this.learn(deps.known ?? []);
  }

  get selfId(): string {
    return this.deps.self.nodeId;
  }

  /** True once every seed address is known to belong to a member: the ring is complete. */
  isReady(): boolean {
    return this.seeds.every((seed) => this.memberAt(seed) !== undefined);
  }

  list(): MemberView[] {
    return [...this.members.values()]
      .map(({ suspectedAtMs: _suspectedAtMs, ringHeard: _ringHeard, ...view }) => view)
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  nodeIds(): string[] {
    return this.list().map((member) => member.nodeId);
  }

  addressOf(nodeId: string): string | undefined {
    return this.members.get(nodeId)?.address;
  }

  stateOf(nodeId: string): MemberState | undefined {
    return this.members.get(nodeId)?.state;
  }

  ringOf(nodeId: string): RingStatus | undefined {
    return this.members.get(nodeId)?.ring;
  }

  syncedOf(nodeId: string): number {
    return this.members.get(nodeId)?.synced ?? 0;
  }

  /**
   * Moves a member's ring status forward (this node's own, or a dead member's for
   * `remove`); a status that is not later than the held one changes nothing.
   */
  advanceRing(nodeId: string, status: RingStatus): boolean {
    const member = this.members.get(nodeId);
    if (member === undefined || laterRingStatus(member.ring, status) === member.ring) return false;
    member.ring = status;
    member.ringHeard = true;
    if (nodeId === this.selfId) member.incarnation++;
    this.spread(member);
    this.deps.onMembersChanged?.(this.known(), true);
    return true;
  }

  /** Announces that this node has received all data of ring transition `transition`. */
  markSynced(transition: number): void {
    const self = this.members.get(this.selfId) as Member;
    if (self.synced === transition) return;
    self.synced = transition;
    self.incarnation++;
    this.spread(self);
  }

  /** Announces, once, that this node serves clients: a node that joins later must receive data first. */
  markServing(): void {
    const self = this.members.get(this.selfId) as Member;
    if (self.serving) return;
    self.serving = true;
    this.spread(self);
  }

  /** Publishes this node's repair horizon (it only grows). */
  publishHorizon(horizonMs: number): void {
    const self = this.members.get(this.selfId) as Member;
    if (Math.floor(horizonMs) <= self.horizon) return;
    self.horizon = Math.floor(horizonMs);
    this.spread(self);
  }

  /** Worth sending a request to: not known to be down. */
  isAvailable(nodeId: string): boolean {
    const state = this.members.get(nodeId)?.state;
    return state === 'up' || state === 'suspect';
  }

  /** One SWIM protocol period: expire suspicions, probe the next member, ping unknown seeds. */
  async protocolPeriod(): Promise<void> {
    this.expireSuspicions();
    const work: Array<Promise<void>> = [];
    const target = this.nextTarget();
    if (target !== undefined) work.push(this.probe(target));
    for (const seed of this.seeds) if (this.memberAt(seed) === undefined) work.push(this.pingSeed(seed));
    await Promise.all(work);
  }

  /** Answers a direct ping: the sender is alive, and we merge what it tells us. */
  handlePing(request: PingRequest): PongReply {
    this.learn([request.from]);
    this.merge(request.updates);
    return { type: 'pong', updates: this.outgoingUpdates() };
  }

  /** Answers an indirect ping: probe the target for the asker. */
  async handlePingReq(request: PingReqRequest): Promise<PingReqReply> {
    this.merge(request.updates);
    const reached = await this.ping(request.target.address).then(
      () => true,
      () => false,
    );
    return { type: 'pingReqReply', reached, updates: this.outgoingUpdates() };
  }

  /**
   * Adds members heard of from others. A new member starts as the update says, or up at
   * incarnation 0 (then probes decide), so a newcomer causes no false suspicion.
   */
  learn(addresses: ReadonlyArray<KnownMember | MemberUpdate>): void {
    let changed = false;
    for (const candidate of addresses) {
      if (!nodeIdPattern.test(candidate.nodeId) || candidate.nodeId === this.selfId) continue;
      const existing = this.members.get(candidate.nodeId);
      if (existing === undefined) {
        if (this.members.size >= membersMax) continue;
        const state = 'state' in candidate ? candidate.state : 'up';
        const incarnation = 'incarnation' in candidate ? candidate.incarnation : 0;
        this.members.set(candidate.nodeId, {
          nodeId: candidate.nodeId,
          address: candidate.address,
          state,
          incarnation,
          missedProbes: 0,
          suspectedAtMs: state === 'suspect' ? this.deps.nowMs() : undefined,
          // Unknown status counts as the earliest; the member's own updates move it on.
          ring: candidate.ring ?? 'joining',
          synced: 'synced' in candidate ? candidate.synced : 0,
          horizon: 'horizon' in candidate ? candidate.horizon : 0,
          serving: 'serving' in candidate ? candidate.serving : false,
          ringHeard: candidate.ring !== undefined,
        });
        changed = true;
      } else if (existing.address !== candidate.address) {
        existing.address = candidate.address;
        changed = true;
      }
    }
    if (changed) this.deps.onMembersChanged?.(this.known(), false);
  }

  /** Applies updates by SWIM's precedence rules; refutes any suspicion of this node. */
  merge(updates: readonly MemberUpdate[]): void {
    this.learn(updates.filter((update) => update.nodeId !== this.selfId));
    let ringChanged = false;
    let moved = false;
    for (const update of updates) {
      if (update.nodeId === this.selfId) {
        this.refuteIfOutdated(update);
        // Others may move this node's ring status on (a `remove` reached it, or it left
        // before a restart and forgot): it accepts the later status.
        const self = this.members.get(this.selfId) as Member;
        if (laterRingStatus(self.ring, update.ring) !== self.ring) {
          self.ring = update.ring;
          self.incarnation = Math.max(self.incarnation, update.incarnation) + 1;
          this.spread(self);
          ringChanged = true;
          moved = true;
        }
        continue;
      }
      const member = this.members.get(update.nodeId);
      if (member === undefined) continue;
      const ring = laterRingStatus(member.ring, update.ring);
      if (ring !== member.ring) {
        member.ring = ring;
        this.spread(member);
        ringChanged = true;
        if (member.ringHeard) moved = true;
      }
      member.ringHeard = true;
      if (update.horizon > member.horizon) member.horizon = update.horizon;
      if (update.serving) member.serving = true;
      if (!overrides(update, member)) continue;
      if (update.incarnation > member.incarnation) member.synced = update.synced;
      member.incarnation = update.incarnation;
      this.setState(member, update.state);
    }
    if (ringChanged) this.deps.onMembersChanged?.(this.known(), moved);
  }

  /**
   * Raises this node's incarnation above what others hold of it when they accuse it, or
   * when their record is newer than its own or says otherwise at the same incarnation: a
   * node that restarted forgot its incarnation, and until it is raised, what it says of
   * itself (its `synced` mark) is ignored as old news, which would leave a ring change
   * waiting for it forever.
   */
  private refuteIfOutdated(update: MemberUpdate): void {
    const self = this.members.get(this.selfId) as Member;
    const accused = update.state !== 'up' && update.incarnation >= self.incarnation;
    const outdated = update.incarnation > self.incarnation || (update.incarnation === self.incarnation && update.synced !== self.synced);
    if (!accused && !outdated) return;
    self.incarnation = update.incarnation + 1;
    this.spread(self);
  }

  private async probe(target: Member): Promise<void> {
    try {
      await this.ping(target.address);
      this.reached(target);
      return;
    } catch {
      // No direct answer: ask others (SWIM §3.1).
    }
    const helpers = this.pickHelpers(target.nodeId);
    const answers = await Promise.all(
      helpers.map((helper) =>
        this.deps.transport
          .request(helper.address, { type: 'pingReq', target: { nodeId: target.nodeId, address: target.address }, updates: this.outgoingUpdates() }, this.options.probeTimeoutMs * 2)
          .then(
            (reply) => {
              this.merge(reply.updates);
              return reply.reached;
            },
            () => false,
          ),
      ),
    );
    if (answers.some(Boolean)) this.reached(target);
    else this.missed(target);
  }

  private async ping(address: string): Promise<void> {
    const reply = await this.deps.transport.request(address, { type: 'ping', from: this.deps.self, updates: this.outgoingUpdates() }, this.options.probeTimeoutMs);
    this.merge(reply.updates);
  }

  private async pingSeed(address: string): Promise<void> {
    try {
      await this.ping(address);
    } catch {
      // The seed is not up yet; the next period tries again.
    }
  }

  private reached(member: Member): void {
    // An answer does not by itself clear a suspicion: the member sees our view of it on
    // the ping and refutes with a higher incarnation, which the reply carries (§4.2).
    member.missedProbes = 0;
  }

  private missed(member: Member): void {
    member.missedProbes += 1;
    if (member.state === 'up') this.setState(member, 'suspect');
  }

  private expireSuspicions(): void {
    const nowMs = this.deps.nowMs();
    for (const member of this.members.values()) {
      if (member.state === 'suspect' && member.suspectedAtMs !== undefined && nowMs - member.suspectedAtMs >= this.options.suspicionTimeoutMs) {
        this.setState(member, 'down');
      }
    }
  }

  private setState(member: Member, state: MemberState): void {
    if (member.nodeId === this.selfId) return;
    if (member.state === state) {
      this.spread(member);
      return;
    }
    const previous = member.state;
    member.state = state;
    member.suspectedAtMs = state === 'suspect' ? this.deps.nowMs() : undefined;
    this.spread(member);
    const { suspectedAtMs: _suspectedAtMs, ringHeard: _ringHeard, ...view } = member;
    this.deps.onStateChanged?.(view, previous);
  }

  /** Queues a member's current state for piggybacking. */
  private spread(member: Member): void {
    this.gossip.set(member.nodeId, { update: updateOf(member), sent: 0 });
  }

  /** Recent updates first (least sent first), then the rest of the list, up to the bound. */
  private outgoingUpdates(): MemberUpdate[] {
    const limit = this.options.updatesPerMessageMax;
    const retransmits = this.options.retransmitMultiplier * Math.ceil(Math.log2(this.members.size + 1));
    const recent = [...this.gossip.values()].sort((a, b) => a.sent - b.sent).slice(0, limit);
    const out: MemberUpdate[] = [];
    const included = new Set<string>();
    for (const entry of recent) {
      entry.sent++;
      if (entry.sent >= retransmits) this.gossip.delete(entry.update.nodeId);
      out.push(entry.update);
      included.add(entry.update.nodeId);
    }
    const self = this.members.get(this.selfId) as Member;
    if (!included.has(self.nodeId) && out.length < limit) {
      out.push(updateOf(self));
      included.add(self.nodeId);
    }
    for (const member of this.members.values()) {
      if (out.length >= limit) break;
      if (!included.has(member.nodeId)) out.push(updateOf(member));
    }
    return out;
  }

  private nextTarget(): Member | undefined {
    if (this.probeOrder.length === 0) {
      this.probeOrder = shuffle(
        [...this.members.keys()].filter((nodeId) => nodeId !== this.selfId),
        this.deps.rng,
      );
    }
    while (this.probeOrder.length > 0) {
      const member = this.members.get(this.probeOrder.shift() as string);
      if (member !== undefined) return member;
    }
    return undefined;
  }

  private pickHelpers(excluded: string): Member[] {
    const candidates = [...this.members.values()].filter(
      (member) => member.nodeId !== this.selfId && member.nodeId !== excluded && member.state === 'up',
    );
    return shuffle(candidates, this.deps.rng).slice(0, this.options.indirectProbes);
  }

  private memberAt(address: string): Member | undefined {
    for (const member of this.members.values()) if (member.address === address) return member;
    return undefined;
  }

  /** Every member with its address and ring status, this node included (what the shell persists). */
  known(): KnownMember[] {
    return this.list().map(({ nodeId, address, ring }) => ({ nodeId, address, ring }));
  }
}

function updateOf(member: MemberView): MemberUpdate {
  return {
    nodeId: member.nodeId,
    address: member.address,
    state: member.state,
    incarnation: member.incarnation,
    ring: member.ring,
    synced: member.synced,
    horizon: member.horizon,
    serving: member.serving,
  };
}

/** SWIM §4.2: which news wins over what we hold. */
export function overrides(update: Pick<MemberUpdate, 'state' | 'incarnation'>, held: Pick<MemberUpdate, 'state' | 'incarnation'>): boolean {
  if (update.state === 'up') return update.incarnation > held.incarnation;
  if (update.state === 'suspect') {
    if (held.state === 'up') return update.incarnation >= held.incarnation;
    return update.incarnation > held.incarnation;
  }
  // down
  if (held.state === 'down') return update.incarnation > held.incarnation;
  return update.incarnation >= held.incarnation;
}

function shuffle<T>(items: T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
