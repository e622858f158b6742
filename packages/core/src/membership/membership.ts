// Membership and failure detection, SWIM-style (Das, Gupta, Motivala: "SWIM", 2002), as
// docs/design.md, "Membership and ring", asks:
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
// Beside its liveness, each member carries its ring status (standby, joining, normal,
// leaving, left), which only moves forward: a merge keeps the later of two statuses, whoever
// reported it, so an operator's `remove` of a dead member spreads like any other news. A
// member first heard of without a status (a ping's sender whose gossip is starved) reads
// as standby, the earliest status, until news of it moves it on: relayed onwards, or back
// to the member itself, that placeholder can never hold a status back (a placeholder of a
// later status would, for ever, once statuses only move forward). It is outside the rings
// meanwhile, but a forming ring still waits for it (countInRing).
// The member's `synced` mark (which ring transition it has finished receiving data for)
// is its own to change, and travels under a raised incarnation like a refutation.
//
// Who may say what (issue 9). Every update arrives from an authenticated sender, and some
// news only a member may announce about itself: its address, a raised incarnation (a
// refutation, a new `synced` mark), its repair horizon, and moving its own ring status on.
// Such news is taken only from the member itself. Relayed by others it is a hint, not a
// fact: the member is pinged directly within the next period or so (a bounded number per
// period) and its answer, which carries its own update, settles it. Epidemic spread thus
// still tells everyone quickly that there is news, while the news itself comes from its
// source, and no member can push another's incarnation up to the point where it could no
// longer refute (incarnations also stay within incarnationMax). What others may say:
// - suspect / down, by SWIM's precedence rules (§4.2), taken at no more than the
//   incarnation this node holds for the member (an accusation at a newer incarnation is
//   also one at the older; the member's own answer brings the newer one);
// - `leaving` / `left`, the outcome of an operator's `remove` (and of finishing one), only
//   while this node also holds the member down, as remove requires: a live member cannot
//   be removed by gossip, and the news keeps spreading in the full member list that every
//   message carries until each node has seen the member down;
// - members it has not heard of (that is how a new node learns the cluster), taken at
//   incarnation 0 with the relayed state and ring status, until the member speaks;
// - `serving`, which only ever turns on and only makes a joining node wait for data.
//
// Lives. A node id that left may be started again (a StatefulSet scaled down and up
// reuses its pod names): it joins as a new member, its `life` one more than the one that
// left, and a later life replaces whatever is held of an earlier one. A new life is the
// member's own news, taken only from itself like a raised incarnation. A process starts a
// new life when it finds its id left: at start (from what it remembered; the shell has
// discarded its old data) or, if it started with nothing, on hearing it from others.
import { barrierPassed, holdsNoRanges, inRing, laterRingStatus, routeStampOf, type RouteStamp } from '../cluster/cluster-state.js';
import { incarnationMax, membersMax, nodeIdPattern, relayedClaimChecksPerPeriodMax, stateVerificationsMax } from '../limits.js';
import type { MemberAddress, MemberUpdate, PingRequest, PingReqRequest, PingReqReply, PongReply, RingStatus, StateReply, StateRequest } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { Rng } from '../rng.js';

export type MemberState = 'up' | 'suspect' | 'down';

/** A member as remembered across restarts. */
export interface KnownMember extends MemberAddress {
  ring?: RingStatus;
  /** The member's life (MemberUpdate.life); 0 when not remembered. */
  life?: number;
}

export { laterRingStatus };

/** A member as this node sees it: its latest update (protocol/messages.ts), and how its probes went. */
export interface MemberView extends MemberUpdate {
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
  /** This node's life when it starts (remembered from before a restart; 0 for a new node). */
  selfLife?: number;
  /**
   * This process started with no data of an earlier life (an empty data directory, or one
   * whose old data the shell discarded): while it is joining, hearing that its id has left
   * makes it a new life instead of stopping it (top of this file, "Lives").
   */
  startedEmpty?: boolean;
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
  /** Seed addresses by the node id that answered a ping there (seedKnown). */
  private readonly seedAnswers = new Map<string, string>();
  /** Members others say have news only they may announce: pinged directly to hear it from them. */
  private readonly claimsToCheck = new Set<string>();
  private probeOrder: string[] = [];
  /** The epoch and ring digest of the members' ring statuses, kept up to date by noteRingChange. */
  private stamp: RouteStamp = { epoch: 0, digest: 0 };
  /** Set by mergeAboutSelf: see `lostData`. */
  private startedWithoutLifeData = false;

  constructor(deps: MembershipDeps, options: Partial<MembershipOptions> = {}) {
    this.deps = deps;
    this.options = { ...membershipDefaults, ...options };
    this.seeds = [...new Set(deps.seeds)].filter((seed) => seed !== deps.self.address);
    this.members.set(deps.self.nodeId, {
      ...deps.self,
      state: 'up',
      life: deps.selfLife ?? 0,
      incarnation: 0,
      missedProbes: 0,
      suspectedAtMs: undefined,
      ring: deps.selfRing ?? 'normal',
      synced: 0,
      horizon: 0,
      serving: false,
      epoch: 0,
      ringHeard: true,
    });
    // What this node wrote down itself is as good as hearing it from each member.
    this.learn(deps.known ?? [], () => true);
    this.noteRingChange();
  }

  /** The epoch and digest of the ring statuses this node holds: what its requests are routed by. */
  routeStamp(): RouteStamp {
    return this.stamp;
  }

  /**
   * True once every member that may route requests (not left, not known down) has said it
   * has seen `epoch`: none routes by an older state any more (cluster/cluster-state.ts).
   */
  barrierPassed(epoch: number): boolean {
    return barrierPassed(this.members.values(), epoch);
  }

  /**
   * Recomputes the epoch after ring statuses or members changed; this node has seen it,
   * and says so (the barrier of a ring change waits for every member to).
   */
  private noteRingChange(): void {
    this.stamp = routeStampOf(this.members.values());
    const self = this.members.get(this.selfId) as Member;
    if (this.stamp.epoch <= self.epoch) return;
    self.epoch = this.stamp.epoch;
    this.spread(self);
  }

  get selfId(): string {
    return this.deps.self.nodeId;
  }

  /**
   * This process started empty, and others told it that its id was already a member of the
   * ring in this life (normal or leaving) rather than it joining by itself: it holds none of
   * the data that life was given, until repair brings it back.
   */
  get lostData(): boolean {
    return this.startedWithoutLifeData;
  }

  /** True once every seed address is known to belong to a member: the ring is complete. */
  isReady(): boolean {
    return this.seeds.every((seed) => this.seedKnown(seed));
  }

  /**
   * A seed is known once a member advertises its address, or once the node that answered
   * a ping there is a member: a seed given as a host name (one that names several nodes,
   * or another form of the name a member advertises) matches no address string.
   */
  private seedKnown(seed: string): boolean {
    if (this.memberAt(seed) !== undefined) return true;
    const answered = this.seedAnswers.get(seed);
    return answered !== undefined && this.members.has(answered);
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

  /**
   * Members in the ring or on their way into it (neither on standby nor left), this node
   * included, and those whose status no update has told yet: a ring forms only once it
   * holds N of them, so a member not yet heard of may not be left out of a forming ring.
   */
  countInRing(): number {
    let count = 0;
    for (const member of this.members.values()) if (inRing(member.ring) || !member.ringHeard) count++;
    return count;
  }

  /** Members whose ring status no update has told yet (it reads as `standby` meanwhile). */
  ringUnheard(): string[] {
    return [...this.members.values()].filter((member) => !member.ringHeard).map((member) => member.nodeId);
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
    if (nodeId === this.selfId) raiseIncarnation(member, member.incarnation);
    this.spread(member);
    this.noteRingChange();
    this.deps.onMembersChanged?.(this.known(), true);
    return true;
  }

  /** Announces that this node has received all data of ring transition `transition`. */
  markSynced(transition: number): void {
    const self = this.members.get(this.selfId) as Member;
    if (self.synced === transition) return;
    self.synced = transition;
    raiseIncarnation(self, self.incarnation);
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

  /** Node ids of the members known at an address (the transport checks who answers there). */
  nodeIdsAt(address: string): string[] {
    return [...this.members.values()].filter((member) => member.address === address).map((member) => member.nodeId);
  }

  /**
   * One SWIM protocol period: expire suspicions, probe the next member, ping unknown
   * seeds, and ask a few members directly about news of them heard from others.
   */
  async protocolPeriod(): Promise<void> {
    this.expireSuspicions();
    const work: Array<Promise<unknown>> = [];
    const target = this.nextTarget();
    if (target !== undefined) work.push(this.probe(target));
    for (const seed of this.seeds) if (!this.seedKnown(seed)) work.push(this.pingSeed(seed));
    for (const member of this.takeClaimsToCheck(target)) {
      // Only the round-robin probe judges liveness: a check that gets no answer changes nothing.
      work.push(this.ping(member.address, this.senderAt(member.address, member.nodeId)).catch(() => undefined));
    }
    await Promise.all(work);
  }

  /**
   * Answers a direct ping from `from`, the authenticated sender: it is alive, and we merge
   * what it tells us. A ping that claims another sender teaches nothing about addresses.
   */
  handlePing(request: PingRequest, from: MemberAddress): PongReply {
    if (request.from.nodeId === from.nodeId) this.learn([request.from], (nodeId) => nodeId === from.nodeId);
    this.merge(request.updates, from.nodeId);
    return { type: 'pong', updates: this.outgoingUpdates() };
  }

  /** Answers an indirect ping from `from`: probe the target for the asker. */
  async handlePingReq(request: PingReqRequest, from: MemberAddress): Promise<PingReqReply> {
    this.merge(request.updates, from.nodeId);
    const reached = await this.ping(request.target.address, this.senderAt(request.target.address, request.target.nodeId)).then(
      () => true,
      () => false,
    );
    return { type: 'pingReqReply', reached, updates: this.outgoingUpdates() };
  }

  /**
   * Adds members heard of. A new member starts as the update says, or up at incarnation 0
   * (then probes decide), so a newcomer causes no false suspicion. What only a member may
   * say of itself (its address, its incarnation, synced mark and horizon) is taken from
   * a candidate only when `isOwnClaim` says the member itself sent it.
   */
  private learn(addresses: ReadonlyArray<KnownMember | MemberUpdate>, isOwnClaim: (nodeId: string) => boolean): void {
    let changed = false;
    for (const candidate of addresses) {
      if (!nodeIdPattern.test(candidate.nodeId) || candidate.nodeId === this.selfId) continue;
      const own = isOwnClaim(candidate.nodeId);
      const existing = this.members.get(candidate.nodeId);
      if (existing === undefined) {
        if (this.members.size >= membersMax) continue;
        const state = 'state' in candidate ? candidate.state : 'up';
        this.members.set(candidate.nodeId, {
          nodeId: candidate.nodeId,
          address: candidate.address,
          state,
          life: candidate.life ?? 0,
          incarnation: own && 'incarnation' in candidate ? candidate.incarnation : 0,
          missedProbes: 0,
          suspectedAtMs: state === 'suspect' ? this.deps.nowMs() : undefined,
          // Unknown status counts as the earliest; the member's own updates move it on.
          ring: candidate.ring ?? 'standby',
          synced: own && 'synced' in candidate ? candidate.synced : 0,
          horizon: own && 'horizon' in candidate ? candidate.horizon : 0,
          serving: 'serving' in candidate ? candidate.serving : false,
          epoch: own && 'epoch' in candidate ? candidate.epoch : 0,
          ringHeard: candidate.ring !== undefined,
        });
        changed = true;
      } else if (own && existing.address !== candidate.address) {
        existing.address = candidate.address;
        changed = true;
      }
    }
    if (!changed) return;
    this.noteRingChange();
    this.deps.onMembersChanged?.(this.known(), false);
  }

  /**
   * Applies updates sent by `sender` (the authenticated peer; undefined when not known,
   * as for a seed's first answer) by SWIM's precedence rules and the rules of who may say
   * what (top of this file); refutes any suspicion of this node.
   */
  merge(updates: readonly MemberUpdate[], sender: string | undefined): void {
    // An incarnation (or life) beyond what any member can reach is no news, whoever sends it.
    const credible = updates.filter((update) => update.incarnation >= 0 && update.incarnation <= incarnationMax && update.life >= 0 && update.life <= incarnationMax);
    for (const update of credible) if (update.nodeId !== this.selfId) this.startLifeOf(update, update.nodeId === sender);
    this.learn(
      credible.filter((update) => update.nodeId !== this.selfId),
      (nodeId) => nodeId === sender,
    );
    let ringChanged = false;
    let moved = false;
    for (const update of credible) {
      // News of this node goes to mergeAboutSelf whatever its life: a process that started
      // empty knows no life of its id, and the news of a later one is how it learns it.
      const change = update.nodeId === this.selfId ? this.mergeAboutSelf(update) : this.mergeAboutOther(update, sender);
      if (change !== 'none') ringChanged = true;
      if (change === 'moved') moved = true;
    }
    if (!ringChanged) return;
    this.noteRingChange();
    this.deps.onMembersChanged?.(this.known(), moved);
  }

  /**
   * A member's update of a later life than the one held: from the member itself, the
   * earlier life is forgotten (the member is learned anew just after); relayed, it is
   * news only the member may announce, so it is asked directly.
   */
  private startLifeOf(update: MemberUpdate, own: boolean): void {
    const member = this.members.get(update.nodeId);
    if (member === undefined || update.life <= member.life) return;
    if (!own) {
      this.claimsToCheck.add(member.nodeId);
      return;
    }
    this.members.delete(member.nodeId);
    this.gossip.delete(member.nodeId);
  }

  /** A member's update, from itself or relayed; news of an earlier life than the one held is no news. */
  private mergeAboutOther(update: MemberUpdate, sender: string | undefined): RingChange {
    const member = this.members.get(update.nodeId);
    // One of a later life was checked first (startLifeOf): from the member, it replaced the record.
    if (member === undefined || member.life !== update.life) return 'none';
    return update.nodeId === sender ? this.mergeOwnClaim(member, update) : this.mergeRelayed(member, update);
  }

  /** What others say of this node: take its id's later life (started empty), refute an accusation, take a later ring status. */
  private mergeAboutSelf(update: MemberUpdate): RingChange {
    const self = this.members.get(this.selfId) as Member;
    // A process that started empty hears of its id's later life: it is that id now (its
    // disk was lost, or the id was reused); it goes on in that life, still holding no ranges,
    // which changes the epoch even if nothing below does. A process that started empty
    // at life 0 and hears the id left in life 1 comes here first, then starts life 2 below.
    const adopted = update.life > self.life && this.deps.startedEmpty === true && holdsNoRanges(self.ring);
    if (adopted) {
      self.life = update.life;
      raiseIncarnation(self, Math.max(self.incarnation, update.incarnation));
      this.spread(self);
    }
    if (update.life !== self.life) return 'none';
    this.refuteIfOutdated(update);
    if (this.deps.startedEmpty === true && holdsNoRanges(self.ring) && update.ring === 'left') {
      // This id left in this life, and this process holds none of that life's data: it is
      // a new member under the name. (Told `leaving` first, it finishes that leave instead,
      // as any member that restarts while leaving, and stops once it has left.)
      self.life += 1;
      self.synced = 0;
      self.horizon = 0;
      self.serving = false;
      raiseIncarnation(self, self.incarnation);
      this.spread(self);
      return 'moved';
    }
    // Others may move this node's ring status on (a `remove` reached it, or it left
    // before a restart and forgot): it accepts the later status. Only its own leave and an
    // operator's remove produce one, and a node removed while cut off must learn it.
    if (laterRingStatus(self.ring, update.ring) === self.ring) return adopted ? 'moved' : 'none';
    // Started empty, it learns that its id already holds ranges in this life: it lost that
    // life's data (a disk lost or wiped under the same id), which its answers then lack.
    if (this.deps.startedEmpty === true && holdsNoRanges(self.ring) && !holdsNoRanges(update.ring) && update.ring !== 'left') this.startedWithoutLifeData = true;
    self.ring = update.ring;
    raiseIncarnation(self, Math.max(self.incarnation, update.incarnation));
    this.spread(self);
    return 'moved';
  }

  /** A member's update about itself, from itself: everything it says is its own to say. */
  private mergeOwnClaim(member: Member, update: MemberUpdate): RingChange {
    this.claimsToCheck.delete(member.nodeId);
    let change: RingChange = 'none';
    const ring = laterRingStatus(member.ring, update.ring);
    if (ring !== member.ring) {
      member.ring = ring;
      this.spread(member);
      change = member.ringHeard ? 'moved' : 'discovered';
    }
    member.ringHeard = true;
    if (update.horizon > member.horizon) member.horizon = update.horizon;
    if (update.epoch > member.epoch) member.epoch = update.epoch;
    if (update.serving) member.serving = true;
    if (!overrides(update, member)) return change;
    if (update.incarnation > member.incarnation) member.synced = update.synced;
    member.incarnation = update.incarnation;
    this.setState(member, update.state);
    return change;
  }

  /** A member's update relayed by another: only what others may say is taken (top of this file). */
  private mergeRelayed(member: Member, update: MemberUpdate): RingChange {
    let change: RingChange = 'none';
    let worthChecking = update.incarnation > member.incarnation;
    const ring = laterRingStatus(member.ring, update.ring);
    const removal = (ring === 'leaving' || ring === 'left') && member.state === 'down';
    if (ring !== member.ring && (!member.ringHeard || removal)) {
      change = member.ringHeard ? 'moved' : 'discovered';
      member.ring = ring;
      this.spread(member);
    } else if (ring !== member.ring) {
      worthChecking = true;
    }
    member.ringHeard = true;
    if (update.serving) member.serving = true;
    if (update.state !== 'up') {
      const accusation = { state: update.state, incarnation: Math.min(update.incarnation, member.incarnation) };
      if (overrides(accusation, member)) this.setState(member, update.state);
    }
    if (worthChecking) this.claimsToCheck.add(member.nodeId);
    return change;
  }

  /** Up to relayedClaimChecksPerPeriodMax members to ask directly this period (not the one probed anyway). */
  private takeClaimsToCheck(probed: Member | undefined): Member[] {
    const taken: Member[] = [];
    for (const nodeId of this.claimsToCheck) {
      if (taken.length >= relayedClaimChecksPerPeriodMax) break;
      this.claimsToCheck.delete(nodeId);
      const member = this.members.get(nodeId);
      if (member !== undefined && member !== probed) taken.push(member);
    }
    return taken;
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
    raiseIncarnation(self, update.incarnation);
    this.spread(self);
  }

  /**
   * Answers a state exchange from `from` (the data path's fencing, cluster/cluster-node.ts):
   * merges what it sent, by the same rules as gossip, and sends back every member.
   */
  handleState(request: StateRequest, from: MemberAddress): StateReply {
    this.merge(request.updates, from.nodeId);
    return { type: 'stateReply', updates: this.allUpdates() };
  }

  /**
   * Exchanges states with `nodeId` directly, then asks each member whose own news it
   * relayed (a ring move only the member may announce) directly too, a bounded number.
   * Gossip brings the same news in time; this brings it within a few round trips, however
   * late gossip is. A member that does not answer is left to gossip.
   */
  async exchangeState(nodeId: string, timeoutMs: number): Promise<readonly MemberUpdate[]> {
    const held = await this.exchangeWith(nodeId, timeoutMs);
    const relayed = [...this.claimsToCheck].slice(0, stateVerificationsMax);
    await Promise.all(relayed.map((member) => this.exchangeWith(member, timeoutMs).catch(() => undefined)));
    return held;
  }

  /** Exchanges states with `nodeId`; resolves with what it holds after merging this node's (none for this node itself or an unknown one). */
  private async exchangeWith(nodeId: string, timeoutMs: number): Promise<readonly MemberUpdate[]> {
    const address = this.addressOf(nodeId);
    if (address === undefined || nodeId === this.selfId) return [];
    const reply = await this.deps.transport.request(address, { type: 'state', updates: this.allUpdates() }, timeoutMs);
    this.claimsToCheck.delete(nodeId);
    this.merge(reply.updates, this.senderAt(address, nodeId));
    return reply.updates;
  }

  /** Every member, this node first (its claims about itself reach others only from itself). */
  private allUpdates(): MemberUpdate[] {
    const self = this.members.get(this.selfId) as Member;
    return [updateOf(self), ...[...this.members.values()].filter((member) => member !== self).map(updateOf)];
  }

  private async probe(target: Member): Promise<void> {
    try {
      await this.ping(target.address, this.senderAt(target.address, target.nodeId));
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
              this.merge(reply.updates, this.senderAt(helper.address, helper.nodeId));
              return reply.reached;
            },
            () => false,
          ),
      ),
    );
    if (answers.some(Boolean)) this.reached(target);
    else this.missed(target);
  }

  /**
   * Who answers a request to `nodeId` at `address`: that member when it is the only one
   * known there (the transport refuses any other), else not known. Two members share an
   * address when one took over the port of another that left.
   */
  private senderAt(address: string, nodeId: string): string | undefined {
    const there = this.nodeIdsAt(address);
    return there.length === 1 && there[0] === nodeId ? nodeId : undefined;
  }

  /** Pings `nodeId` at `address` (the transport checks that this member answers there); undefined for an unknown seed. */
  private async ping(address: string, nodeId: string | undefined): Promise<PongReply> {
    const reply = await this.deps.transport.request(address, { type: 'ping', from: this.deps.self, updates: this.outgoingUpdates() }, this.options.probeTimeoutMs);
    this.merge(reply.updates, nodeId);
    return reply;
  }

  private async pingSeed(address: string): Promise<void> {
    try {
      const reply = await this.ping(address, undefined);
      // A pong carries its sender's own update first (outgoingUpdates).
      const answered = reply.updates[0]?.nodeId;
      if (answered !== undefined && answered !== this.selfId) this.seedAnswers.set(address, answered);
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

  /**
   * This node's own update first (its claims about itself reach others only from itself,
   * so every message carries it), then recent updates (least sent first), then the rest
   * of the list, up to the bound.
   */
  private outgoingUpdates(): MemberUpdate[] {
    const limit = this.options.updatesPerMessageMax;
    const retransmits = this.options.retransmitMultiplier * Math.ceil(Math.log2(this.members.size + 1));
    const self = this.members.get(this.selfId) as Member;
    this.gossip.delete(self.nodeId);
    const out: MemberUpdate[] = [updateOf(self)];
    const included = new Set<string>([self.nodeId]);
    const recent = [...this.gossip.values()].sort((a, b) => a.sent - b.sent).slice(0, limit - 1);
    for (const entry of recent) {
      entry.sent++;
      if (entry.sent >= retransmits) this.gossip.delete(entry.update.nodeId);
      out.push(entry.update);
      included.add(entry.update.nodeId);
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
    return this.list().map(({ nodeId, address, ring, life }) => ({ nodeId, address, ring, life }));
  }
}

/** How a merge changed a member's ring status: not at all, a default replaced by news, or a real move. */
type RingChange = 'none' | 'discovered' | 'moved';

/** Raises a member's (this node's) incarnation above `above`, never past incarnationMax. */
function raiseIncarnation(member: Member, above: number): void {
  member.incarnation = Math.max(member.incarnation, Math.min(incarnationMax, above + 1));
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
    epoch: member.epoch,
    life: member.life,
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
