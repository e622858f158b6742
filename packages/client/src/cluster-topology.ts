// The cluster as the client last saw it: each node's URL and liveness, the ring, and
// which nodes recently failed this client. It orders the nodes to try for a request:
// the key's replicas that look up first (a replica coordinates without the extra hop to
// another node), then any other node that looks up (every node can coordinate any key),
// then nodes that recently failed, the least recently failed first. A pure value apart
// from the time it is given: the cluster client does the fetching.
import type { RingMap } from './ring-map.js';
import { nodeAvoidMsMax, nodeAvoidMsMin } from './client-limits.js';
import type { MemberInfo } from './types.js';

export interface TopologyMember {
  nodeId: string;
  url: string;
  state: MemberInfo['state'];
  ringStatus: MemberInfo['ringStatus'];
}

interface NodeHealth {
  /** Failures in a row; 0 after a success. */
  failures: number;
  /** Tried last until then. */
  avoidUntilMs: number;
}

export class ClusterTopology {
  private readonly seedUrls: readonly string[];
  private members: readonly TopologyMember[] = [];
  private ringMap: RingMap | undefined;
  private readonly health = new Map<string, NodeHealth>();
  /** Turns the choice among equally good nodes, so load spreads over a key's replicas. */
  private turn = 0;

  constructor(seedUrls: readonly string[]) {
    this.seedUrls = seedUrls;
  }

  get ring(): RingMap | undefined {
    return this.ringMap;
  }

  /** Replaces the members and ring with a fresher view (the ring is undefined when routing is off or unusable). */
  update(members: readonly TopologyMember[], ring: RingMap | undefined): void {
    this.members = members.filter((member) => member.ringStatus !== 'left');
    this.ringMap = ring;
  }

  memberList(): readonly TopologyMember[] {
    return this.members;
  }

  /** The URL of member `nodeId`, if it is known. */
  urlOf(nodeId: string): string | undefined {
    return this.members.find((member) => member.nodeId === nodeId)?.url;
  }

  /** Every URL this client may talk to: the members, then seeds that are not among them (a load balancer, say). */
  allUrls(): string[] {
    return dedupe([...this.members.map((member) => member.url), ...this.seedUrls]);
  }

  /** URLs to try for a request about `key` (undefined: no key, any node), best first. */
  candidates(key: string | undefined, nowMs: number): string[] {
    const replicaUrls = key === undefined || this.ringMap === undefined ? [] : this.replicaUrls(key);
    const seenDown = (url: string) => this.members.find((member) => member.url === url)?.state === 'down';
    const looksUp = (url: string) => !this.isAvoided(url, nowMs) && !seenDown(url);
    const turn = this.turn++;
    const replicasUp = rotate(replicaUrls.filter(looksUp), turn);
    const othersUp = rotate(this.allUrls().filter((url) => !replicaUrls.includes(url) && looksUp(url)), turn);
    const rest = [...replicaUrls, ...this.allUrls()].filter((url) => !looksUp(url));
    // Members the cluster sees down come after nodes that only failed this client, which may be back sooner.
    rest.sort((a, b) => Number(seenDown(a)) - Number(seenDown(b)) || this.avoidUntil(a) - this.avoidUntil(b));
    return dedupe([...replicasUp, ...othersUp, ...rest]);
  }

  /** The node at `url` failed: it is tried last for a while, longer after each failure in a row. */
  markFailed(url: string, nowMs: number): void {
    const failures = (this.health.get(url)?.failures ?? 0) + 1;
    const avoidMs = Math.min(nodeAvoidMsMax, nodeAvoidMsMin * 2 ** Math.min(failures - 1, 16));
    this.health.set(url, { failures, avoidUntilMs: nowMs + avoidMs });
  }

  markSucceeded(url: string): void {
    if (this.health.has(url)) this.health.delete(url);
  }

  isAvoided(url: string, nowMs: number): boolean {
    return this.avoidUntil(url) > nowMs;
  }

  private avoidUntil(url: string): number {
    return this.health.get(url)?.avoidUntilMs ?? 0;
  }

  private replicaUrls(key: string): string[] {
    const urls: string[] = [];
    for (const nodeId of this.ringMap?.replicasOf(key) ?? []) {
      const url = this.urlOf(nodeId);
      if (url !== undefined) urls.push(url);
    }
    return urls;
  }
}

function rotate<T>(items: readonly T[], turn: number): T[] {
  if (items.length < 2) return [...items];
  const start = turn % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

function dedupe(urls: readonly string[]): string[] {
  return [...new Set(urls)];
}
