// The JSON shapes of ringkv's REST API, shared by the server (which produces them), the
// client and the dashboard (which read them). The server's TypeBox schemas are the
// validating source; these types mirror them for code that must not import the server.

/** A consistency level for reads (`r`) and writes (`w`): a name or a replica count. */
export type ConsistencyLevel = 'one' | 'quorum' | 'all' | number;

/** A member's state as this node sees it. */
export type MemberState = 'up' | 'suspect' | 'down';

export interface StoredValue {
  key: string;
  value: unknown;
  /** Opaque version (hybrid logical clock + writer node id); also sent as the ETag. */
  version: string;
}

export interface DeleteResult {
  key: string;
  deleted: true;
  version: string;
}

export interface NodeStatus {
  nodeId: string;
  ready: boolean;
  uptimeSeconds: number;
  keyCount: number;
}

export interface KeysPage {
  keys: string[];
  nextCursor: string | null;
}

/** A member's place in the ring: joining (receiving its ranges), normal, leaving (handing them on), left. */
export type RingStatus = 'joining' | 'normal' | 'leaving' | 'left';

export interface MemberInfo {
  nodeId: string;
  address: string;
  state: MemberState;
  ringStatus: RingStatus;
  /** Share of the ring for which this member is the primary replica, 0..1. */
  ringShare: number;
}

export interface TrafficPoint {
  /** Start of the interval, Unix ms. */
  timeMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface TrafficSummary {
  requestsTotal: number;
  /** Over the last 10 seconds. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** One point per 5 seconds, oldest first, up to 5 minutes. */
  history: TrafficPoint[];
}

export interface ReplicationStatus {
  failedReplicaWrites: number;
  readRepairs: number;
  /** Hints this node holds for replicas that missed writes. */
  pendingHints: number | null;
  /** Age of the oldest pending hint, or null when none. */
  oldestHintAgeMs: number | null;
  hintsDelivered: number;
  /** Oldest time (Unix ms) at which one of this node's ranges was verified equal on all its replicas; null until every range has been. */
  repairHorizonMs: number | null;
  /** Records moved by anti-entropy. */
  keysRepaired: number;
  /** Tombstones held, tombstones purged since start, and the purge watermark (Unix ms; 0 before the first). */
  tombstones: number;
  tombstonesPurged: number;
  purgedBeforeMs: number;
}

export type JobKind = 'join' | 'leave' | 'remove' | 'cleanup';
export type JobState = 'waiting' | 'running' | 'paused' | 'done';

/** One data movement (a transfer of ranges to this node, or a cleanup of ranges it gave up). */
export interface Job {
  id: string;
  kind: JobKind;
  node: string;
  state: JobState;
  description: string;
  keysDone: number;
  keysTotal: number;
  recordsMoved: number;
  keysPerSecond: number;
  etaSeconds: number | null;
  startedAtMs: number;
  finishedAtMs: number | null;
  sources: Array<{ nodeId: string; scanned: number; total: number; done: boolean }>;
}

export interface JobList {
  jobs: Job[];
  /** Members whose jobs could not be read (for GET /cluster/jobs). */
  unreachable: string[];
}

export interface RingChange {
  nodeId: string;
  ringStatus: RingStatus;
  message: string;
}

export interface RepairStatus {
  nodeId: string;
  horizonMs: number | null;
  rangesVerified: number;
  rangesOwned: number;
  keysRepaired: number;
  rounds: number;
}

export interface KeyCounts {
  total: number;
  /** Live keys for which this node is the first replica in the preference list. */
  primary: number;
  /** Live keys this node holds as a second or later replica. */
  replica: number;
}

export interface NodeInfo {
  nodeId: string;
  address: string;
  version: string;
  clusterName: string;
  storage: 'lmdb' | 'memory';
  replicas: number;
  vnodes: number;
  startedAtMs: number;
  uptimeSeconds: number;
  ringShare: number;
  keys: KeyCounts;
  memory: { rssBytes: number; heapUsedBytes: number };
  traffic: TrafficSummary;
  members: MemberInfo[];
  replication: ReplicationStatus;
  ringStatus: RingStatus;
  jobs: Job[];
  security: SecurityPosture;
  /** The data directory's disk and whether the node takes writes (docs/architecture.md, "Disk full"). */
  disk: DiskInfo;
}

/** A node's disk: `full` refuses writes (507) until space returns; `failed` stops them until a restart. */
export interface DiskInfo {
  state: 'ok' | 'full' | 'failed';
  /** Why writes are refused; null while ok. */
  reason: string | null;
  /** When the state last changed (Unix ms). */
  sinceMs: number;
  /** Bytes LMDB's data uses (null with memory storage). */
  dataBytes: number | null;
  /** Bytes allocated ahead of the data so a full disk refuses writes cleanly (null with memory storage). */
  reservedBytes: number | null;
  /** Size and free bytes of the data directory's filesystem (null if unknown). */
  filesystemBytes: number | null;
  freeBytes: number | null;
  usedPercent: number | null;
  /** Disk use at which `warning` is set. */
  warnPercent: number;
  /** A sentence for the operator, or null when nothing is wrong. */
  warning: string | null;
}

/** How a node is protected (docs/security.md); the dashboard shows `warnings` as a banner. */
export interface SecurityPosture {
  /** Started with --insecure: protected mode was overridden. */
  insecure: boolean;
  /** The API and peer links use TLS. */
  tls: boolean;
  /** Peers prove themselves with mutual TLS as well as the cluster secret. */
  peerMutualTls: boolean;
  /** Clients must send a bearer token (an auth file is loaded). */
  authRequired: boolean;
  /** Sentences for the operator, empty when nothing is wrong. */
  warnings: string[];
}

export interface ClusterInfo {
  clusterName: string;
  replicas: number;
  vnodes: number;
  members: MemberInfo[];
  ring: { tokenCount: number; hash: string };
  /** True while members join or leave (data is moving), and for the settle period after. */
  rebalancing: boolean;
}

export interface RingRange {
  /** Exclusive start token of the range (the previous token on the ring). */
  start: number;
  /** Inclusive end token: keys hashing into (start, end] belong here. */
  end: number;
  /** Replica node ids in preference order. */
  replicas: string[];
}

export interface RingLayout {
  /** Tokens are unsigned 32-bit hash positions. */
  tokenSpace: number;
  ranges: RingRange[];
}

export interface KeyOwners {
  key: string;
  owners: string[];
}

export interface ReplicaCopy {
  nodeId: string;
  /** ok: the replica answered; missing: it holds nothing; unreachable: it did not answer. */
  status: 'ok' | 'missing' | 'unreachable';
  version: string | null;
  tombstone: boolean;
  value?: unknown;
}

export interface KeyReplicas {
  key: string;
  owners: string[];
  replicas: ReplicaCopy[];
}

export interface NodeView {
  nodeId: string;
  address: string;
  state: MemberState;
  /** The node's own /node-info, or null when it could not be reached. */
  info: NodeInfo | null;
  error: string | null;
}

export interface ClusterNodes {
  /** The node that gathered this view. */
  gatheredBy: string;
  gatheredAtMs: number;
  nodes: NodeView[];
}

export interface Health {
  status: 'ok' | 'starting';
  nodeId: string;
  /** Whether the node takes writes; reads are served in every state. */
  storage: 'ok' | 'full' | 'failed';
}

/** RFC 9457 problem details, the body of every error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extra: string]: unknown;
}

/** GET /auth/me: the caller's identity (docs/security.md, "Roles"). */
export interface AuthIdentity {
  /** False when the node runs without an auth file: every caller then acts as admin. */
  authRequired: boolean;
  role: 'read' | 'write' | 'admin';
  /** The token's name; null without auth. */
  name: string | null;
  /** Keys the token may reach start with this; null for every key. */
  prefix: string | null;
  /** ISO time the token expires, or null. */
  expiresAt: string | null;
}
