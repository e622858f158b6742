// Who is in the cluster and who answers (DESIGN.md, "Membership and ring"). This is the
// foundation's fixed membership: a node learns members by pinging its seeds and
// exchanging member lists, keeps every member it has learned (a down member keeps its
// ring ranges), and marks members suspect and then down after missed probes. The
// self-healing work replaces the probing with SWIM (indirect probes, incarnations).
import { membersMax, nodeIdPattern } from '../limits.js';
import type { MemberAddress, PingRequest, PongReply } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';

export type MemberState = 'up' | 'suspect' | 'down';

export interface MemberView extends MemberAddress {
  state: MemberState;
  /** Consecutive probes that got no answer. */
  missedProbes: number;
}

export interface MembershipOptions {
  probeTimeoutMs: number;
  /** Missed probes after which a member is suspect, and then down. */
  suspectAfterMissed: number;
  downAfterMissed: number;
}

export interface MembershipDeps {
  self: MemberAddress;
  /** `host:port` of seed members; the node's own address may appear and is skipped. */
  seeds: readonly string[];
  transport: Transport;
  /** Members remembered from an earlier run (the shell persists them). */
  known?: readonly MemberAddress[];
  /** Called when the set of member ids or their addresses changes. */
  onMembersChanged?: (members: readonly MemberAddress[]) => void;
  /** Called when a member's state changes. */
  onStateChanged?: (member: MemberView, previous: MemberState) => void;
}

export const membershipDefaults: MembershipOptions = {
  probeTimeoutMs: 500,
  suspectAfterMissed: 1,
  downAfterMissed: 3,
};

export class Membership {
  private readonly deps: MembershipDeps;
  private readonly options: MembershipOptions;
  private readonly members = new Map<string, MemberView>();
  private readonly seeds: readonly string[];

  constructor(deps: MembershipDeps, options: Partial<MembershipOptions> = {}) {
    this.deps = deps;
    this.options = { ...membershipDefaults, ...options };
    this.seeds = [...new Set(deps.seeds)].filter((seed) => seed !== deps.self.address);
    this.members.set(deps.self.nodeId, { ...deps.self, state: 'up', missedProbes: 0 });
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
    return [...this.members.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
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

  /** Worth sending a request to: not known to be down. */
  isAvailable(nodeId: string): boolean {
    const state = this.members.get(nodeId)?.state;
    return state === 'up' || state === 'suspect';
  }

  /** One probe round: ping every other member and every seed not yet known. */
  async probeAll(): Promise<void> {
    const targets = this.list()
      .filter((member) => member.nodeId !== this.selfId)
      .map((member) => member.address);
    for (const seed of this.seeds) if (!targets.includes(seed)) targets.push(seed);
    await Promise.all(targets.map((address) => this.probe(address)));
  }

  /** Answers a peer's ping: it is alive, and we learn the members it knows. */
  handlePing(request: PingRequest): PongReply {
    this.learn([request.from, ...request.members]);
    this.recordAnswer(request.from.address);
    return { type: 'pong', members: this.addresses() };
  }

  /** Adds members heard of from others; a known id with a new address moves there. */
  learn(addresses: readonly MemberAddress[]): void {
    let changed = false;
    for (const candidate of addresses) {
      if (!nodeIdPattern.test(candidate.nodeId) || candidate.nodeId === this.selfId) continue;
      const existing = this.members.get(candidate.nodeId);
      if (existing === undefined) {
        if (this.members.size >= membersMax) continue;
        this.members.set(candidate.nodeId, { ...candidate, state: 'suspect', missedProbes: 0 });
        changed = true;
      } else if (existing.address !== candidate.address) {
        existing.address = candidate.address;
        changed = true;
      }
    }
    if (changed) this.deps.onMembersChanged?.(this.addresses());
  }

  private async probe(address: string): Promise<void> {
    const ping: PingRequest = { type: 'ping', from: this.deps.self, members: this.addresses() };
    try {
      const pong = await this.deps.transport.request(address, ping, this.options.probeTimeoutMs);
      this.learn(pong.members);
      this.recordAnswer(address);
    } catch {
      this.recordMiss(address);
    }
  }

  private recordAnswer(address: string): void {
    const member = this.memberAt(address);
    if (member === undefined) return;
    member.missedProbes = 0;
    this.setState(member, 'up');
  }

  private recordMiss(address: string): void {
    const member = this.memberAt(address);
    if (member === undefined) return;
    member.missedProbes += 1;
    if (member.missedProbes >= this.options.downAfterMissed) this.setState(member, 'down');
    else if (member.missedProbes >= this.options.suspectAfterMissed && member.state === 'up') this.setState(member, 'suspect');
  }

  private setState(member: MemberView, state: MemberState): void {
    if (member.state === state) return;
    const previous = member.state;
    member.state = state;
    this.deps.onStateChanged?.(member, previous);
  }

  private memberAt(address: string): MemberView | undefined {
    for (const member of this.members.values()) if (member.address === address) return member;
    return undefined;
  }

  private addresses(): MemberAddress[] {
    return this.list().map(({ nodeId, address }) => ({ nodeId, address }));
  }
}
