// Starved gossip, the fault of the slow-gossip profile: around a ring change, SWIM messages
// to and from one or two nodes arrive without their membership updates for 3–8 virtual
// seconds, far longer than the settle period (ringSettleMs, 2 s here), while every data
// message still passes. The failure detector keeps seeing the node alive, so nobody
// suspects it; it just hears no ring news and spreads none. This is the situation the
// ring's settle period cannot cover (docs/guarantees.md, "ring changes assume gossip
// reaches every node within --ring-settle-ms").
import type { SeededRng } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';

/** Gossip of `nodeId` is starved for `durationMs` from the moment it strikes. */
export interface GossipStarvation {
  kind: 'starve-gossip';
  nodeId: string;
  durationMs: number;
  /** Why this node: the one that joins or leaves, or another member (a coordinator and replica). */
  role: 'changing' | 'member';
  /**
   * A member whose window opens before the ring change is also cut off from everyone, data
   * too, for this long (0: not): the node that makes the change tells every member it
   * reaches at once (ClusterNode.spreadRingChange), so only one out of reach then keeps
   * routing by the old ring, and only fencing teaches it the new one.
   */
  isolatedMs: number;
}

/** The end of a starvation window, planned only so the trace shows it. */
export interface GossipRestored {
  kind: 'gossip-restored';
  nodeId: string;
}

export type GossipFault = GossipStarvation | GossipRestored;

export const slowGossipLimits = {
  /** Nodes whose gossip is starved in one run. */
  nodesMax: 2,
  windowMsMin: 3000,
  windowMsMax: 8000,
  /** A window opens this far before or after the ring change it targets, at most. */
  offsetMsMax: 500,
  /** An isolated member (GossipStarvation.isolatedMs) is back in reach this long after the ring change. */
  isolatedPastChangeMsMin: 100,
  isolatedPastChangeMsMax: 800,
} as const;

/** A ring change of the plan, as the starvation planner sees it. */
export interface PlannedRingChange {
  atMs: number;
  kind: 'join' | 'leave' | 'remove';
  /** The node that joins or leaves; a removed node is dead and gossips nothing anyway. */
  nodeId: string;
}

/**
 * One or two windows, each anchored on one of the run's ring changes. The node starved is
 * drawn between the changing node (a joiner or leaver: the ring change itself is the news
 * that does not spread) and another running member (every node coordinates requests, and
 * most are replicas, so its view of the ring is what routes data). A joiner is starved
 * only from its join on, since it has no address before.
 */
export function planGossipStarvation(
  rng: SeededRng,
  changes: readonly PlannedRingChange[],
  members: readonly string[],
): Array<{ atMs: number; fault: GossipFault }> {
  if (changes.length === 0) return [];
  const planned: Array<{ atMs: number; fault: GossipFault }> = [];
  const starved = new Set<string>();
  const dead = new Set(changes.filter((change) => change.kind === 'remove').map((change) => change.nodeId));
  for (let i = 1 + rng.nextInt(slowGossipLimits.nodesMax); i > 0; i--) {
    const change = changes[rng.nextInt(changes.length)] as PlannedRingChange;
    const others = members.filter((nodeId) => !dead.has(nodeId) && nodeId !== change.nodeId && !starved.has(nodeId));
    const changing = change.kind !== 'remove' && !starved.has(change.nodeId) && rng.next() < 0.5;
    if (!changing && others.length === 0) continue;
    const nodeId = changing ? change.nodeId : (others[rng.nextInt(others.length)] as string);
    starved.add(nodeId);
    const offsetMs = rng.nextInt(2 * slowGossipLimits.offsetMsMax + 1) - slowGossipLimits.offsetMsMax;
    const earliestMs = change.kind === 'join' && changing ? change.atMs : 0;
    const atMs = Math.max(earliestMs, change.atMs + offsetMs);
    const durationMs = slowGossipLimits.windowMsMin + rng.nextInt(slowGossipLimits.windowMsMax - slowGossipLimits.windowMsMin + 1);
    const reachMs = change.atMs - atMs + slowGossipLimits.isolatedPastChangeMsMin + rng.nextInt(slowGossipLimits.isolatedPastChangeMsMax - slowGossipLimits.isolatedPastChangeMsMin + 1);
    const isolatedMs = !changing && atMs <= change.atMs ? reachMs : 0;
    planned.push(
      { atMs, fault: { kind: 'starve-gossip', nodeId, durationMs, role: changing ? 'changing' : 'member', isolatedMs } },
      { atMs: atMs + durationMs, fault: { kind: 'gossip-restored', nodeId } },
    );
  }
  return planned;
}

export function strikeGossipFault(cluster: InProcessCluster, fault: GossipFault): void {
  const member = cluster.members.find((item) => item.nodeId === fault.nodeId);
  if (member === undefined) return;
  const nowMs = cluster.clock.nowMs();
  cluster.network.starveGossip(member.address, fault.kind === 'starve-gossip' ? nowMs + fault.durationMs : nowMs);
  if (fault.kind !== 'starve-gossip' || fault.isolatedMs <= 0) return;
  const others = cluster.members.filter((item) => item !== member).map((item) => item.address);
  for (const address of others) cluster.network.cut(member.address, address);
  cluster.clock.setTimer(fault.isolatedMs, () => {
    for (const address of others) cluster.network.heal(member.address, address);
  });
}

export function describeGossipFault(fault: GossipFault): string {
  if (fault.kind === 'gossip-restored') return `gossip of ${fault.nodeId} flows again`;
  const role = fault.role === 'changing' ? 'the changing node' : 'a member';
  const isolated = fault.isolatedMs > 0 ? `, and it is cut off from everyone for the first ${fault.isolatedMs} ms` : '';
  return `gossip of ${fault.nodeId} (${role}) starved for ${fault.durationMs} ms: its SWIM messages carry no updates, data messages pass${isolated}`;
}
