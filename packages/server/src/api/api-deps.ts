// What the HTTP layer needs from a node, stated narrowly (docs/style.md, "No god objects"): the
// routes see these functions, never the node object itself.
import type { ClusterInfo, ClusterNodes, Job, JobList, NodeInfo, RepairStatus, RingChange, RingLayout, Pace, PaceUpdate } from '@ringkv/client';
import type { ClusterScanPage, Coordinator, Engine, PaxosProposer, RestoreAnswer, RingChangeResult, ScanPageRequest, StoredRecord, WatchCursor, WatchListener, WatchSession } from '@ringkv/core';
import type { NodeMetrics } from '../metrics/metrics.js';
import type { ApiSecurity } from './auth.js';
import type { TrafficRecorder } from '../metrics/traffic.js';

export interface ApiDeps {
  nodeId: string;
  replicas: number;
  maxValueBytes: number;
  startedAtMs: number;
  /** False until the node knows every seed's member id (its ring is complete). */
  isReady(): boolean;
  /** isReady, and the node's first admission tells the cluster it serves clients (ClusterNode.admitClients). */
  admitClients(): boolean;
  /** Whether this node's storage takes writes (storage/disk-state.ts); reads are served in every state. */
  storageState(): 'ok' | 'full' | 'failed';
  coordinator: Pick<Coordinator, 'put' | 'delete' | 'read' | 'inspect' | 'replicasOf'>;
  /** Conditional writes (If-Match, If-None-Match) and serial reads, decided per key by Paxos (ClusterNode.paxos). */
  paxos: Pick<PaxosProposer, 'write' | 'read'>;
  engine: Pick<Engine, 'scan' | 'liveCount'>;
  /** A fresh timestamp of the node's version clock: what a listing judges expiry by (record.ts, isLiveAt). */
  hlcNow(): number;
  /** One merged page of every member's records, tombstones included (ClusterNode.scanPage): GET /cluster/keys and /admin/records. */
  scanPage(page: ScanPageRequest): Promise<ClusterScanPage>;
  nodeInfo(): Promise<NodeInfo>;
  clusterInfo(): ClusterInfo;
  ringLayout(): RingLayout;
  /** Gathers every member's view, forwarding the caller's token. */
  clusterNodes(token?: string): Promise<ClusterNodes>;
  /** Watches (GET /watch, ClusterNode.openWatch): open one, how many are open, and how many may be. */
  watch?: {
    open(prefix: string, cursor: WatchCursor | undefined, listener: WatchListener): Promise<WatchSession>;
    count(): number;
    max: number;
    /** Heartbeats at least this often; watchHeartbeatMsDefault when not given. */
    heartbeatMs?: number;
    /** Bytes a watcher may leave unread before it is cut off (--watch-unsent-mb). */
    unsentBytesMax: number;
  };
  /** An operator's restore of backed-up records to their replicas (ClusterNode.restore, POST /admin/restore). */
  restore?(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<RestoreAnswer>;
  /** Runs anti-entropy with every peer now and reports where repair stands. */
  repairNow(): Promise<RepairStatus>;
  /** Ring changes (join, leave, remove) and the data-movement jobs they start. */
  ring: {
    /** Resolve once the members that answer hold the change (ClusterNode.spreadRingChange), so an accepted change outlives this node. */
    join(): Promise<RingChangeResult>;
    leave(): Promise<RingChangeResult>;
    remove(nodeId: string): Promise<RingChangeResult>;
    /**
     * Asks member `node` to join or leave with the caller's token (only a node moves itself in
     * or out of the ring): its answer, undefined when no member has that id; its refusal throws
     * as the RingkvError it answered, and any other error means it did not answer.
     */
    forward(action: 'join' | 'leave', node: string, token?: string): Promise<RingChange | undefined>;
    jobs(): JobList;
    clusterJobs(token?: string): Promise<JobList>;
    pause(id: string, node?: string, token?: string): Promise<{ job: Job; changed: boolean } | undefined>;
    resume(id: string, node?: string, token?: string): Promise<{ job: Job; changed: boolean } | undefined>;
    /** Sets the transfer cap or the background floor (or both) of this node or, forwarded, of `node`; undefined when no member has that id. */
    setPace(update: PaceUpdate, node?: string, token?: string): Promise<Pace | undefined>;
  };
  metrics: NodeMetrics;
  traffic: TrafficRecorder;
  /** Tokens, origins and reloads (docs/security.md). */
  security: ApiSecurity;
  /** Folder of the built dashboard, when it exists. */
  dashboardRoot: string | undefined;
}
