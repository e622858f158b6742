// Builds the JSON views of a running node (/node-info, /cluster, /cluster/ring,
// /cluster/nodes) from its parts.
import { RingkvClient, RingkvError, type ClusterInfo, type DiskInfo, type ClusterNodes, type Job, type JobList, type KeyCounts, type Pace, type PaceUpdate, type MemberInfo, type NodeInfo, type NodeView, type RepairStatus, type RingChange, type RingLayout } from '@ringkv/client';
import { hlcWallMs, protocolVersion, tokenSpace, type ClusterNode, type Engine, type RingArc, type RingCursor, type TokenBucket } from '@ringkv/core';
import type { CpuPressureMeter } from './clock/cpu-pressure.js';
import type { NodeConfig } from './config.js';
import type { NodeSecurity } from './node-security.js';
import { counterTotal, type NodeMetrics } from './metrics/metrics.js';
import type { TrafficRecorder } from './metrics/traffic.js';
import { dataFormat } from './storage/data-format.js';
import { ringkvVersion } from './version.js';

export interface NodeViewDeps {
  config: NodeConfig;
  address: string;
  startedAtMs: number;
  node: ClusterNode;
  engine: Engine;
  metrics: NodeMetrics;
  traffic: TrafficRecorder;
  security: Pick<NodeSecurity, 'memberFetch' | 'scheme' | 'posture'>;
  /** The data directory's disk and whether writes are taken (storage/storage-report.ts). */
  disk(): DiskInfo;
  /** The cap on the bytes per second this node receives in transfers (PUT /jobs/pace). */
  transferRate: TokenBucket;
  /** The machine's CPU pressure, where it is measured (GET /jobs). */
  cpuPressure?: CpuPressureMeter;
}

const bytesPerMegabyte = 1_000_000;

/** Primary keys walked to tell live ones from tombstones; beyond it the split is taken in proportion. */
const keyRoleWalkMax = 200_000;
const keyRolePage = 5000;
const keyRoleCacheMs = 5000;
/**
 * How long a forwarded join or leave may take: the member answers once the members it
 * reaches hold the change (ClusterNode.spreadRingChange: at most two state exchanges with
 * each, a probe timeout of at most 1 s apiece), well within this. It stays below the
 * dashboard's own request timeout, so the page hears this node's 502 rather than nothing.
 */
const ringChangeForwardTimeoutMs = 5000;

export class NodeViews {
  private readonly deps: NodeViewDeps;
  private keyRoles: { counts: KeyCounts; atMs: number; ring: unknown } | undefined;

  constructor(deps: NodeViewDeps) {
    this.deps = deps;
  }

  members(): MemberInfo[] {
    const shares = this.deps.node.ring.primaryShares();
    return this.deps.node.membership.list().map((member) => ({
      nodeId: member.nodeId,
      address: member.address,
      state: member.state,
      ringStatus: member.ring,
      ringShare: shares.get(member.nodeId) ?? 0,
    }));
  }

  /** This node's jobs (transfers it receives, cleanups it runs). */
  jobs(): JobList {
    return { jobs: this.deps.node.rebalancer.jobs(), unreachable: [], paces: [this.pace()] };
  }

  /** How fast this node's background jobs may go. */
  pace(): Pace {
    const rate = this.deps.transferRate.status();
    const cpuPressure = this.deps.cpuPressure?.share();
    return {
      node: this.deps.config.id,
      transferMbPerSecond: rate.bytesPerSecond / bytesPerMegabyte,
      transferredBytes: rate.bytesTaken,
      transferWaitedMs: rate.waitedMs,
      // The request asking is in flight too; it is not the client load the share is about.
      backgroundShare: this.deps.node.budget.share(1),
      backgroundShareMin: this.deps.node.budget.shareMin(),
      ...(cpuPressure === undefined ? {} : { cpuPressure }),
    };
  }

  /**
   * Sets the transfer cap, the background floor or both of `node` (this node by default;
   * another member's is forwarded, as for job control). Undefined when no member has that id.
   */
  async setPace(update: PaceUpdate, node?: string, token?: string): Promise<Pace | undefined> {
    if (node !== undefined && node !== this.deps.config.id) {
      return this.forwardTo(node, token, (member) => member.setPace(update));
    }
    // The floor first: the budget refuses one out of range (the schema bounds it already) before the cap changes.
    if (update.backgroundShareMin !== undefined) this.deps.node.budget.setShareMin(update.backgroundShareMin);
    if (update.transferMbPerSecond !== undefined) this.deps.transferRate.setRate(update.transferMbPerSecond * bytesPerMegabyte);
    return this.pace();
  }

  /** Every member's jobs, gathered by this node (1 s per member). */
  /** Gathered with the caller's own token: a member answers this node only what it would answer the caller. */
  async clusterJobs(token?: string): Promise<JobList> {
    const jobs: Job[] = [...this.deps.node.rebalancer.jobs()];
    const paces: Pace[] = [this.pace()];
    const unreachable: string[] = [];
    await Promise.all(
      this.deps.node.membership.list().map(async (member) => {
        if (member.nodeId === this.deps.config.id || member.ring === 'left') return;
        try {
          const list = await this.memberClient(member.address, token).jobs();
          jobs.push(...list.jobs);
          // A member of an older release lists no paces.
          paces.push(...(list.paces ?? []));
        } catch {
          unreachable.push(member.nodeId);
        }
      }),
    );
    jobs.sort((a, b) => b.startedAtMs - a.startedAtMs || (a.node < b.node ? -1 : 1));
    paces.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    return { jobs, unreachable: unreachable.sort(), paces };
  }

  /**
   * Pauses or resumes transfer job `id` on `node` (this node by default; another member's
   * job is forwarded to it, so a browser needs only its own origin). Undefined when there
   * is no such job.
   */
  async controlJob(id: string, action: 'pause' | 'resume', node?: string, token?: string): Promise<{ job: Job; changed: boolean } | undefined> {
    if (node !== undefined && node !== this.deps.config.id) {
      return this.forwardTo(node, token, (owner) => (action === 'pause' ? owner.pauseJob(id) : owner.resumeJob(id)));
    }
    const rebalancer = this.deps.node.rebalancer;
    const job = rebalancer.jobs().find((item) => item.id === id);
    if (job === undefined || job.kind === 'cleanup') return undefined;
    const changed = action === 'pause' ? rebalancer.pause() : rebalancer.resume();
    return { job: rebalancer.jobs().find((item) => item.id === id) ?? job, changed };
  }

  /**
   * Asks member `node` to join or leave, with the caller's token: a node moves only itself
   * into or out of the ring (ClusterNode.join, leave), so the dashboard asks the node that
   * serves it, which asks the member here; the browser stays on its own origin. Undefined
   * when no member has that id. The member's refusal throws as its RingkvError, to be passed
   * on; any other error means it did not answer.
   */
  async forwardRingChange(action: 'join' | 'leave', node: string, token?: string): Promise<RingChange | undefined> {
    const member = this.memberCalled(node, token, ringChangeForwardTimeoutMs);
    if (member === undefined) return undefined;
    return action === 'join' ? member.join() : member.leave();
  }

  /** A client of member `node` that sends the caller's token, or undefined when no member has that id. */
  private memberCalled(node: string, token: string | undefined, timeoutMs: number): RingkvClient | undefined {
    const address = this.deps.node.membership.addressOf(node);
    return address === undefined ? undefined : this.memberClient(address, token, timeoutMs);
  }

  /**
   * Sends a control request on to member `node` with the caller's token: undefined when no
   * member has that id or it answers 404; its other refusals as it answered them (a
   * RingkvError), and the error of a member that did not answer as it came: the route's
   * problem names the member (api/ring-routes.ts, forwardedProblem).
   */
  private async forwardTo<T>(node: string, token: string | undefined, call: (member: RingkvClient) => Promise<T>): Promise<T | undefined> {
    const member = this.memberCalled(node, token, 2000);
    if (member === undefined) return undefined;
    try {
      return await call(member);
    } catch (error) {
      if (error instanceof RingkvError && error.status === 404) return undefined;
      throw error;
    }
  }

  cluster(): ClusterInfo {
    const ring = this.deps.node.ring;
    return {
      clusterName: this.deps.config.clusterName,
      replicas: this.deps.config.replicas,
      vnodes: this.deps.config.vnodes,
      members: this.members(),
      ring: { tokenCount: ring.tokenCount, hash: 'xxh32' },
      rebalancing: this.deps.node.placement.transition !== 0 || this.deps.node.placement.writes.length > 1,
    };
  }

  ringLayout(): RingLayout {
    return {
      tokenSpace,
      ranges: this.deps.node.ring.ranges().map((range) => ({ start: range.start, end: range.end, replicas: [...range.replicas] })),
    };
  }

  async nodeInfo(): Promise<NodeInfo> {
    const { config, metrics, traffic } = this.deps;
    const memory = process.memoryUsage();
    const repair = this.deps.node.antiEntropy.status();
    const oldestHint = this.deps.node.hints.oldestStoredAtMs();
    return {
      nodeId: config.id,
      address: this.deps.address,
      version: ringkvVersion,
      peerProtocol: protocolVersion,
      dataFormat,
      clusterName: config.clusterName,
      storage: config.storage,
      replicas: config.replicas,
      vnodes: config.vnodes,
      startedAtMs: this.deps.startedAtMs,
      uptimeSeconds: Math.round((Date.now() - this.deps.startedAtMs) / 100) / 10,
      ringShare: this.deps.node.ring.primaryShares().get(config.id) ?? 0,
      keys: await this.keyCounts(),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      traffic: { requestsTotal: traffic.requestsTotal, ...traffic.summary(), history: traffic.history() },
      members: this.members(),
      replication: {
        ...replicaCountNote(this.deps.node.ring.nodeIds.length, config.replicas),
        failedReplicaWrites: await counterTotal(metrics.replicaWriteFailures),
        readRepairs: await counterTotal(metrics.readRepairs),
        pendingHints: this.deps.node.hints.count(),
        oldestHintAgeMs: oldestHint === null ? null : Date.now() - oldestHint,
        hintsDelivered: this.deps.node.handoff.deliveredTotal,
        repairHorizonMs: repair.horizonMs,
        keysRepaired: repair.keysRepaired,
        tombstones: this.deps.node.tombstoneCount(),
        tombstonesPurged: this.deps.node.tombstones.purged,
        purgedBeforeMs: hlcWallMs(this.deps.node.tombstones.watermark),
      },
      ringStatus: this.deps.node.membership.ringOf(config.id) ?? 'normal',
      jobs: this.deps.node.rebalancer.jobs(),
      security: this.deps.security.posture(),
      disk: this.deps.disk(),
      watch: this.watchInfo(),
    };
  }

  /** The change feed on this node: open watches and the change log (watch/change-log.ts). */
  watchInfo(): NodeInfo['watch'] {
    const { config, node } = this.deps;
    const log = node.changes.stats();
    return {
      open: node.watchCount,
      max: config.watchMax,
      closeMs: config.watchCloseMs,
      retentionSeconds: config.watchRetentionS,
      retentionBytes: config.watchRetentionMb * 1024 * 1024,
      logEntries: log.entries,
      logBytes: log.bytes,
      prunedBefore: log.prunedThrough === 0 ? null : new Date(hlcWallMs(log.prunedThrough)).toISOString(),
      floorLagMs: Math.max(0, hlcWallMs(node.hlc.peek()) - hlcWallMs(log.floor)),
      refusedWrites: log.refusedWrites,
    };
  }

  repairStatus(): RepairStatus {
    const status = this.deps.node.antiEntropy.status();
    return { nodeId: this.deps.config.id, ...status };
  }

  /** Asks every member for its /node-info (in parallel, 1 s each). */
  async clusterNodes(token?: string): Promise<ClusterNodes> {
    const nodes = await Promise.all(
      this.deps.node.membership.list().map(async (member): Promise<NodeView> => {
        if (member.nodeId === this.deps.config.id) {
          return { nodeId: member.nodeId, address: member.address, state: 'up', info: await this.nodeInfo(), error: null };
        }
        try {
          return { nodeId: member.nodeId, address: member.address, state: member.state, info: await this.memberClient(member.address, token).nodeInfo(), error: null };
        } catch (error) {
          const state = member.state === 'up' ? 'suspect' : member.state;
          return { nodeId: member.nodeId, address: member.address, state, info: null, error: `unreachable: ${(error as Error).message}` };
        }
      }),
    );
    return { gatheredBy: this.deps.config.id, gatheredAtMs: Date.now(), nodes };
  }

  /** A client for another member's API, with the short timeout views use when gathering from every member. */
  private memberClient(address: string, token: string | undefined, timeoutMs = 1000): RingkvClient {
    const { security } = this.deps;
    return new RingkvClient({ baseUrl: `${security.scheme}://${address}`, timeoutMs, fetch: security.memberFetch(), ...(token ? { token } : {}) });
  }

  /**
   * Live keys this node holds as primary or as a later replica, cached for 5 s. The keys it
   * is primary for lie in the arcs where it heads the preference list: the engine's ring
   * index counts them (summarize), and walks them to tell live keys from tombstones while
   * they are few enough; beyond, the live ones are taken in proportion.
   */
  private async keyCounts(): Promise<KeyCounts> {
    const ring = this.deps.node.ring;
    const nowMs = Date.now();
    if (this.keyRoles && this.keyRoles.ring === ring && nowMs - this.keyRoles.atMs < keyRoleCacheMs) return this.keyRoles.counts;
    const { engine } = this.deps;
    const arcs = ring.arcsWhere((replicas) => replicas[0] === this.deps.config.id);
    let primaryStored = 0;
    for (const arc of arcs) primaryStored += (await engine.summarize(arc.start, arc.end)).keys;
    const total = engine.liveCount();
    const counted = primaryStored <= keyRoleWalkMax ? await this.liveKeysIn(arcs) : Math.round((primaryStored / Math.max(1, engine.keyCount())) * total);
    const primary = Math.min(counted, total);
    const counts = { total, primary, replica: total - primary };
    this.keyRoles = { counts, atMs: nowMs, ring };
    return counts;
  }

  /** Live keys in `arcs`, walked in the engine's ring index. */
  private async liveKeysIn(arcs: readonly RingArc[]): Promise<number> {
    let live = 0;
    for (const arc of arcs) {
      let after: RingCursor | undefined;
      for (;;) {
        const page = await this.deps.engine.ringScan({ start: arc.start, end: arc.end, limit: keyRolePage, ...(after !== undefined ? { after } : {}) });
        for (const entry of page) if (!entry.record.tombstone) live++;
        const last = page[page.length - 1];
        if (last === undefined || page.length < keyRolePage) break;
        after = { token: last.token, key: last.key };
      }
    }
    return live;
  }

}



/**
 * How many replicas keys have now, and a sentence when it is fewer than N: a node started
 * without seeds is a cluster of one and stores every key on itself alone (docs/guarantees.md).
 */
export function replicaCountNote(members: number, replicas: number): { replicasPerKey: number; note: string | null } {
  const replicasPerKey = Math.min(members, replicas);
  if (replicasPerKey >= replicas) return { replicasPerKey, note: null };
  const missing = replicas - replicasPerKey;
  const which = members === 1 ? 'A cluster of one: every key is stored on this node alone' : `The ring holds ${members} members: every key has ${members} replicas`;
  return { replicasPerKey, note: `${which} until ${missing} more member${missing === 1 ? '' : 's'} join (N=${replicas}); quorum and all count the replicas a key has.` };
}
