// The JSON contract of ringkv's REST API as TypeBox schemas: the server validates requests
// and serializes answers with them and builds its OpenAPI document (/docs) from them; the
// client's types are derived from them (types.ts). One definition, so the three cannot drift
// (docs/style.md, "Thin HTTP").
// This module imports nothing but typebox: @ringkv/client stays publishable without the
// server or the core. Limits the server enforces (page sizes, key length) live in the core,
// so the schemas that carry them are built by functions the server calls with its limits.
import { Type } from 'typebox';

// ---------------------------------------------------------------------------------------
// Errors

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'Stable identifier of the kind of problem' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What was wrong and what to do' }),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** A refused If-Match or If-None-Match (HTTP 412): what the key holds now. Nothing was written. */
export const PreconditionFailedSchema = Type.Object(
  {
    ...ProblemSchema.properties,
    currentVersion: Type.Union([Type.String(), Type.Null()], {
      description: "The key's version now (its tombstone's when deleted), without quotes; null when the key is absent",
    }),
    deleted: Type.Optional(Type.Literal(true, { description: 'Present when the key is deleted (or expired)' })),
    expired: Type.Optional(Type.Literal(true, { description: 'Present when the key was written with a ttl that has passed' })),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details of a failed condition' },
);

// ---------------------------------------------------------------------------------------
// Requests

export const KeyParams = Type.Object({
  key: Type.String({
    description: 'The key: 1..1024 UTF-8 bytes, the rest of the path. A "/" may be sent as is or as %2F (the same key); other reserved characters percent-encoded',
  }),
});

/**
 * What the key routes validate: Fastify names the rest of the path `*` (so `/store/a/b` is
 * the key `a/b`); OpenAPI shows it as KeyParams (store-routes.ts, keyPathDocument).
 */
export const KeyPathParams = Type.Object({ '*': KeyParams.properties.key });

const consistencyDescription = 'one, quorum (default), all, or a replica count from 1 to N';

export const WriteQuery = Type.Object(
  {
    w: Type.Optional(
      Type.String({
        description: `Write consistency: ${consistencyDescription}. Not with If-Match or If-None-Match (400): a conditional write is decided by a majority of the key's replicas`,
      }),
    ),
  },
  { additionalProperties: false },
);

/** PUT /store/{key} takes ?w= and ?ttl=. */
export const PutQuery = Type.Object(
  {
    w: WriteQuery.properties.w,
    ttl: Type.Optional(
      Type.String({
        description:
          'Seconds until the key expires: a whole number from 1 to 630720000 (20 years). From then on no read at any consistency returns it and ' +
          '/keys does not list it; it turns into a delete at the same version. A later write without ttl makes the key permanent again',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ReadQuery = Type.Object(
  {
    r: Type.Optional(
      Type.String({
        description:
          `Read consistency: ${consistencyDescription}; or serial, a linearizable read: a per-key Paxos round among a majority of the key's ` +
          'replicas, which sees every conditional write answered before it and finishes one left midway',
      }),
    ),
  },
  { additionalProperties: false },
);

const ifMatchDescription =
  'Apply only if the key\'s current version is exactly this one: one version as the ETag header gives it, in double quotes ' +
  '("<hlc>-<node id>"). Strong comparison (RFC 9110): a weak W/"..." tag never matches (412). Not *, not several tags (400). ' +
  'Decided by a majority of the key\'s replicas, linearizably with other conditional writes and serial reads; 412 when the version differs or the key is absent or deleted';

const idempotencyKeyDescription =
  'A key the client makes up for this write (1..255 visible ASCII characters), scoped to the store key it is sent with. A retry with the same ' +
  'Idempotency-Key and the same request answers the first outcome (same status and version, with Idempotent-Replayed: true) and writes ' +
  'nothing new, through any node; the same Idempotency-Key with a different request is 422, and 409 while the first is still in flight. ' +
  "Decided by a majority of the key's replicas (per-key Paxos), so ?w= does not apply (400). Remembered for --idempotency-retention-s (24 h)";

/** The conditions PUT /store/{key} takes (RFC 9110 section 13.1), and Idempotency-Key; other headers pass. */
export const ConditionalPutHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ description: idempotencyKeyDescription })),
  'if-match': Type.Optional(Type.String({ description: ifMatchDescription })),
  'if-none-match': Type.Optional(
    Type.String({ description: '* only: create the key only if it is absent or deleted; 412 when it exists. Not with If-Match (400)' }),
  ),
});

/** The condition DELETE /store/{key} takes; If-None-Match is refused there (400). */
export const ConditionalDeleteHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: ifMatchDescription })),
  'idempotency-key': Type.Optional(Type.String({ description: idempotencyKeyDescription })),
});

export const PutBody = Type.Object(
  { value: Type.Unknown({ description: 'Any JSON value' }) },
  { additionalProperties: false, required: ['value'] },
);

/** The bounds GET /keys enforces; the server passes its own (the core's limits). */
export interface KeysQueryLimits {
  keysPageLimitDefault: number;
  keysPageLimitMax: number;
  keyBytesMax: number;
}

/** A cursor is an opaque token the server made; anything longer is not one of its own. */
const keysCursorLengthMax = 4096;

export function keysQuerySchema(limits: KeysQueryLimits) {
  return Type.Object(
    {
      limit: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: limits.keysPageLimitMax,
          default: limits.keysPageLimitDefault,
          description: `Page size, 1..${limits.keysPageLimitMax}`,
        }),
      ),
      prefix: Type.Optional(Type.String({ maxLength: limits.keyBytesMax, description: 'Only keys starting with this' })),
      cursor: Type.Optional(Type.String({ maxLength: keysCursorLengthMax, description: 'nextCursor of the previous page' })),
    },
    { additionalProperties: false },
  );
}

export const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const NodeParams = Type.Object({ nodeId: Type.String({ minLength: 1, maxLength: 64 }) });
export const JobControlQuery = Type.Object({
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The member running the job; this node when absent' })),
});
/** Join and leave change the node that receives them; ?node= asks another member, through this one. */
export const RingChangeQuery = Type.Object({
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The member to join or leave, asked by this node with the caller\'s token; this node when absent' })),
});

// ---------------------------------------------------------------------------------------
// Store answers

const expiresAtDescription = 'When the key expires (RFC 3339, UTC, milliseconds), for a key written with ?ttl=; absent for a permanent key';

export const StoredValueSchema = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  version: Type.String({ description: 'Opaque version (hybrid logical clock and writer node id), also sent as the ETag header' }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: expiresAtDescription })),
});

export const DeleteResultSchema = Type.Object({
  key: Type.String(),
  deleted: Type.Literal(true, { description: 'Always true: a delete writes a tombstone, even for an absent key' }),
  version: Type.String({ description: 'Version of the tombstone' }),
});

export const ReplicaCopySchema = Type.Object({
  nodeId: Type.String(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('missing'), Type.Literal('unreachable')], {
    description: 'ok: the replica answered; missing: it holds nothing; unreachable: it did not answer',
  }),
  version: Type.Union([Type.String(), Type.Null()]),
  tombstone: Type.Boolean({ description: 'The copy is a delete, or an expired key (expired: true)' }),
  expired: Type.Optional(Type.Literal(true, { description: 'The copy was written with a ttl that has passed: it counts as a delete' })),
  value: Type.Optional(Type.Unknown()),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: expiresAtDescription })),
});

export const ReplicasSchema = Type.Object({
  key: Type.String(),
  owners: Type.Array(Type.String(), { description: 'Replica node ids in preference order' }),
  replicas: Type.Array(ReplicaCopySchema),
});

export const KeysPageSchema = Type.Object({
  keys: Type.Array(Type.String()),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
});

/** GET /cluster/keys takes the query of GET /keys plus whether to read values, and at what consistency. */
export function clusterKeysQuerySchema(limits: KeysQueryLimits) {
  const keysQuery = keysQuerySchema(limits);
  return Type.Object(
    {
      ...keysQuery.properties,
      values: Type.Optional(Type.Boolean({ default: false, description: 'true adds items: each listed key read through a quorum read at r' })),
      r: Type.Optional(
        Type.String({ description: `With values=true, the read consistency: ${consistencyDescription}, or serial; a key that became absent meanwhile is left out of items` }),
      ),
    },
    { additionalProperties: false },
  );
}

export const ClusterKeyItemSchema = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  version: Type.String({ description: 'Opaque version, as GET /store/{key} answers it' }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: expiresAtDescription })),
});

export const ClusterKeysPageSchema = Type.Object({
  keys: Type.Array(Type.String(), { description: 'Live keys of the whole cluster, each once, in UTF-8 byte order' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null on the last page. A page may hold fewer keys than limit (even none) and still have a next one',
  }),
  items: Type.Optional(Type.Array(ClusterKeyItemSchema, { description: 'With values=true: the listed keys still present when read, in the same order' })),
});

/** One record of GET /admin/records: the newest copy the cluster holds, as stored (what a backup keeps). */
export const ClusterRecordSchema = Type.Object({
  key: Type.String(),
  version: Type.String({ description: 'Opaque version, as GET /store/{key} answers it' }),
  tombstone: Type.Boolean({ description: 'The key was deleted at this version (its value is absent)' }),
  value: Type.Optional(Type.Unknown({ description: 'The value, absent for a tombstone; present for an expired value too' })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: `${expiresAtDescription}; may be in the past` })),
  hlc: Type.Integer({ minimum: 0, description: "The version's hybrid logical clock timestamp" }),
  nodeId: Type.String({ description: 'The node that coordinated the write (breaks ties between equal timestamps)' }),
});

export const ClusterRecordsPageSchema = Type.Object({
  records: Type.Array(ClusterRecordSchema, { description: 'Every key of the cluster with its newest copy, tombstones and expired values included, in UTF-8 byte order' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
});

// ---------------------------------------------------------------------------------------
// One node

export const StatusSchema = Type.Object({
  nodeId: Type.String(),
  ready: Type.Boolean(),
  uptimeSeconds: Type.Number(),
  keyCount: Type.Integer({ description: 'Live keys stored on this node' }),
});

export const StorageStateSchema = Type.Union([Type.Literal('ok'), Type.Literal('full'), Type.Literal('failed')], {
  description: 'ok; full: writes refused (507) until space returns, reads served; failed: writes stopped until a restart (disk error), reads served',
});

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('starting')]),
  nodeId: Type.String(),
  storage: StorageStateSchema,
});

export const WatchInfoSchema = Type.Object(
  {
    open: Type.Integer({ description: 'Watches (GET /watch) this node serves now' }),
    max: Type.Integer({ description: 'Watches it serves at most (--watch-max)' }),
    closeMs: Type.Integer({ description: 'How far behind its clock it closes time (--watch-close-ms): events arrive about this late' }),
    retentionSeconds: Type.Integer({ description: 'How long its change log is kept (--watch-retention-s)' }),
    retentionBytes: Type.Number({ description: 'Bytes of change log kept at most (--watch-retention-mb)' }),
    logEntries: Type.Integer({ description: 'Entries its change log holds' }),
    logBytes: Type.Number({ description: 'Their approximate size' }),
    prunedBefore: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Changes before this time are gone from this replica: a cursor older than that is answered 410; null when nothing was pruned' }),
    floorLagMs: Type.Number({ description: 'How far behind its clock its floor is: a watch delivers changes up to the floor, so this is about --watch-close-ms unless writes are held up' }),
    refusedWrites: Type.Number({ description: "Coordinators' writes it refused as stamped at or below its closed time (the coordinator re-stamped them)" }),
  },
  { description: 'The change feed on this node: its watches and its change log' },
);

export const DiskInfoSchema = Type.Object(
  {
    state: StorageStateSchema,
    reason: Type.Union([Type.String(), Type.Null()], { description: 'Why writes are refused; null while ok' }),
    sinceMs: Type.Number({ description: 'When the state last changed (Unix ms)' }),
    dataBytes: Type.Union([Type.Number(), Type.Null()], { description: "Bytes LMDB's data uses; null with memory storage" }),
    reservedBytes: Type.Union([Type.Number(), Type.Null()], {
      description: 'Bytes allocated ahead of the data so a full disk refuses writes cleanly; null with memory storage',
    }),
    filesystemBytes: Type.Union([Type.Number(), Type.Null()], { description: "Size of the data directory's filesystem; null if unknown" }),
    freeBytes: Type.Union([Type.Number(), Type.Null()], { description: 'Bytes still free on it; null if unknown' }),
    usedPercent: Type.Union([Type.Number(), Type.Null()]),
    warnPercent: Type.Number({ description: 'Disk use at which `warning` is set (--disk-warn-percent)' }),
    warning: Type.Union([Type.String(), Type.Null()], { description: 'A sentence for the operator; null when nothing is wrong' }),
  },
  { description: "The data directory's disk and whether this node takes writes" },
);

export const MemberStateSchema = Type.Union([Type.Literal('up'), Type.Literal('suspect'), Type.Literal('down')], {
  description: "The member's liveness as the answering node sees it",
});

export const RingStatusSchema = Type.Union(
  [Type.Literal('standby'), Type.Literal('joining'), Type.Literal('normal'), Type.Literal('leaving'), Type.Literal('left')],
  {
    description:
      'standby: a member outside the ring (started with --standby: it coordinates client requests, holds no data, and joins on POST /cluster/join); joining: receiving its ranges; normal; leaving: handing its ranges on; left: gone for good',
  },
);

export const MemberSchema = Type.Object({
  nodeId: Type.String(),
  address: Type.String(),
  state: MemberStateSchema,
  ringStatus: RingStatusSchema,
  ringShare: Type.Number({ description: 'Share of the ring this member is primary for, 0..1' }),
});

export const TrafficPointSchema = Type.Object({
  timeMs: Type.Number({ description: 'Start of the interval (Unix ms)' }),
  requestsPerSecond: Type.Number(),
  p50Ms: Type.Number(),
  p99Ms: Type.Number(),
});

export const TrafficSummarySchema = Type.Object({
  requestsTotal: Type.Number(),
  requestsPerSecond: Type.Number({ description: 'Over the last 10 seconds' }),
  p50Ms: Type.Number(),
  p99Ms: Type.Number(),
  history: Type.Array(TrafficPointSchema, { description: 'One point per 5 seconds, oldest first, up to 5 minutes' }),
});

export const JobKindSchema = Type.Union([Type.Literal('join'), Type.Literal('leave'), Type.Literal('remove'), Type.Literal('cleanup')]);
export const JobStateSchema = Type.Union([Type.Literal('waiting'), Type.Literal('running'), Type.Literal('paused'), Type.Literal('done')]);

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    kind: JobKindSchema,
    node: Type.String({ description: 'The node running the job' }),
    state: JobStateSchema,
    description: Type.String(),
    keysDone: Type.Number({ description: 'Keys examined so far' }),
    keysTotal: Type.Number({ description: 'Keys to examine in all' }),
    recordsMoved: Type.Number({ description: 'Records received (transfer) or dropped (cleanup)' }),
    bytesMoved: Type.Number({ description: 'Bytes of keys and values received (transfer) or dropped (cleanup)' }),
    bytesPerSecond: Type.Number({ description: 'bytesMoved per second since the job started' }),
    keysPerSecond: Type.Number(),
    etaSeconds: Type.Union([Type.Number(), Type.Null()]),
    startedAtMs: Type.Number(),
    finishedAtMs: Type.Union([Type.Number(), Type.Null()]),
    sources: Type.Array(Type.Object({ nodeId: Type.String(), scanned: Type.Number(), total: Type.Number(), done: Type.Boolean() })),
  },
  { description: 'A data movement (a transfer of ranges to this node, or a cleanup of ranges it gave up) with its progress' },
);

export const PaceSchema = Type.Object(
  {
    node: Type.String(),
    transferMbPerSecond: Type.Number({ description: 'Cap on the megabytes (10^6 bytes) per second this node receives in transfers; 0 for no cap' }),
    transferredBytes: Type.Number({ description: 'Bytes this node has received in transfers since it started' }),
    transferWaitedMs: Type.Number({ description: 'Time its transfers have waited for the cap since it started' }),
    backgroundShare: Type.Number({ description: 'Share of time background jobs may take now: with no client request in flight, 1 less the share in which threads of the machine waited for a CPU (cpuPressure); less under client load; never below backgroundShareMin' }),
    backgroundShareMin: Type.Number({
      description:
        'The smallest share of time background jobs (transfers, cleanups, repair) keep under any client load, set with PUT /jobs/pace or --background-share-min: higher finishes a ring change sooner at the cost of client latency meanwhile',
    }),
    cpuPressure: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          "Share of the last quarter second in which some thread of this machine (or of the node's cgroup) was ready to run and waited for a CPU (Linux pressure stall information); under client load background jobs take it out of their share. Absent where it is not measured",
      }),
    ),
  },
  { description: "How fast a node's background jobs may go: the transfer cap (set with PUT /jobs/pace or --transfer-mb-per-s) and the share they yield to clients" },
);

export const PaceQuery = Type.Object({
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The member whose cap to set; this node when absent' })),
});

export const PaceUpdateSchema = Type.Object(
  {
    transferMbPerSecond: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000, description: 'The new cap in MB/s; 0 for no cap; unchanged when absent' })),
    backgroundShareMin: Type.Optional(
      Type.Number({ minimum: 0.01, maximum: 1, description: 'The new floor of the share of time background jobs keep under client load, 0.01 to 1 (1: they never give way); unchanged when absent' }),
    ),
  },
  { additionalProperties: false, minProperties: 1, description: 'Either or both; at least one' },
);

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSchema),
  unreachable: Type.Array(Type.String(), { description: 'Members whose jobs could not be read' }),
  paces: Type.Array(PaceSchema, { description: "The pace of this node (GET /jobs) or of every member that answered (GET /cluster/jobs)" }),
});

export const JobControlSchema = Type.Object({
  job: JobSchema,
  changed: Type.Boolean({ description: 'False when the job already was in that state' }),
});

export const RingChangeSchema = Type.Object({
  nodeId: Type.String(),
  ringStatus: RingStatusSchema,
  message: Type.String(),
});

export const KeyCountsSchema = Type.Object({
  total: Type.Integer(),
  primary: Type.Integer({ description: 'Live keys for which this node is the first replica in the preference list' }),
  replica: Type.Integer({ description: 'Live keys this node holds as a second or later replica' }),
});

export const ReplicationStatusSchema = Type.Object({
  replicasPerKey: Type.Integer({ description: 'Replicas each key has now: N, or as many members as the ring holds while it holds fewer' }),
  note: Type.Union([Type.String(), Type.Null()], { description: 'Says so when keys have fewer than N replicas (a cluster of one, or a ring still smaller than N); null otherwise' }),
  failedReplicaWrites: Type.Number(),
  readRepairs: Type.Number(),
  pendingHints: Type.Union([Type.Number(), Type.Null()], { description: 'Hints held for replicas that missed writes' }),
  oldestHintAgeMs: Type.Union([Type.Number(), Type.Null()], { description: 'Age of the oldest pending hint; null when none' }),
  hintsDelivered: Type.Number({ description: 'Hints delivered since start' }),
  repairHorizonMs: Type.Union([Type.Number(), Type.Null()], {
    description: "Oldest time (Unix ms) at which one of this node's ranges was verified equal on all its replicas; null until every range has been",
  }),
  keysRepaired: Type.Number({ description: 'Records moved by anti-entropy' }),
  tombstones: Type.Integer({ description: 'Tombstones this node holds' }),
  tombstonesPurged: Type.Integer({ description: 'Tombstones purged since start, each after every replica verified it' }),
  purgedBeforeMs: Type.Number({ description: 'Tombstones written before this time (Unix ms) are purged everywhere; 0 before the first purge' }),
});

export const SecurityPostureSchema = Type.Object(
  {
    insecure: Type.Boolean({ description: 'Started with --insecure: protected mode was overridden' }),
    tls: Type.Boolean({ description: 'The API and peer links use TLS' }),
    peerMutualTls: Type.Boolean({ description: 'Peers prove themselves with a certificate naming their node id' }),
    authRequired: Type.Boolean({ description: 'Clients must send a bearer token' }),
    warnings: Type.Array(Type.String(), { description: 'Sentences for the operator; empty when nothing is wrong' }),
  },
  { description: 'How this node is protected (docs/security.md)' },
);

export const NodeInfoSchema = Type.Object(
  {
    nodeId: Type.String(),
    address: Type.String(),
    version: Type.String({ description: 'The ringkv release this node runs' }),
    peerProtocol: Type.Integer({ description: 'The peer protocol version it speaks; members of one cluster speak the same (docs/upgrading.md)' }),
    dataFormat: Type.Integer({ description: 'The layout version of its data directory (docs/upgrading.md)' }),
    clusterName: Type.String(),
    storage: Type.Union([Type.Literal('lmdb'), Type.Literal('memory')]),
    replicas: Type.Integer(),
    vnodes: Type.Integer(),
    startedAtMs: Type.Number(),
    uptimeSeconds: Type.Number(),
    ringShare: Type.Number(),
    keys: KeyCountsSchema,
    memory: Type.Object({ rssBytes: Type.Number(), heapUsedBytes: Type.Number() }),
    traffic: TrafficSummarySchema,
    members: Type.Array(MemberSchema),
    replication: ReplicationStatusSchema,
    ringStatus: RingStatusSchema,
    jobs: Type.Array(JobSchema),
    security: SecurityPostureSchema,
    disk: DiskInfoSchema,
    watch: WatchInfoSchema,
  },
  { description: 'One node and how it is doing' },
);

export const RepairStatusSchema = Type.Object({
  nodeId: Type.String(),
  horizonMs: Type.Union([Type.Number(), Type.Null()]),
  rangesVerified: Type.Integer(),
  rangesOwned: Type.Integer(),
  keysRepaired: Type.Number(),
  rounds: Type.Integer(),
});

// ---------------------------------------------------------------------------------------
// The cluster

export const ClusterSchema = Type.Object({
  clusterName: Type.String(),
  replicas: Type.Integer(),
  vnodes: Type.Integer(),
  members: Type.Array(MemberSchema),
  ring: Type.Object({ tokenCount: Type.Integer(), hash: Type.String() }),
  rebalancing: Type.Boolean({ description: 'True while members join or leave (data is moving), and for the settle period after' }),
});

export const RingRangeSchema = Type.Object({
  start: Type.Number({ description: 'Exclusive start token of the range (the previous token on the ring)' }),
  end: Type.Number({ description: 'Inclusive end token: keys hashing into (start, end] belong here' }),
  replicas: Type.Array(Type.String(), { description: 'Replica node ids in preference order' }),
});

export const RingLayoutSchema = Type.Object({
  tokenSpace: Type.Number({ description: 'Tokens are unsigned 32-bit hash positions' }),
  ranges: Type.Array(RingRangeSchema),
});

export const OwnersSchema = Type.Object({ key: Type.String(), owners: Type.Array(Type.String()) });

// No description on `info`: @fastify/swagger writes a described union of an object and
// null as an anyOf that OpenAPI 3.0 cannot express, instead of one nullable object.
export const NodeViewSchema = Type.Object(
  {
    nodeId: Type.String(),
    address: Type.String(),
    state: MemberStateSchema,
    info: Type.Union([NodeInfoSchema, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()], { description: 'Why info is null (the member did not answer /node-info); null when info is there' }),
  },
  { description: "A member and its own /node-info; info is null when it could not be reached" },
);

export const ClusterNodesSchema = Type.Object({
  gatheredBy: Type.String({ description: 'The node that gathered this view' }),
  gatheredAtMs: Type.Number(),
  nodes: Type.Array(NodeViewSchema),
});

// ---------------------------------------------------------------------------------------
// Access

export const AuthIdentitySchema = Type.Object({
  authRequired: Type.Boolean({ description: 'False when the node runs without an auth file: every caller then acts as admin' }),
  role: Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('admin')]),
  name: Type.Union([Type.String(), Type.Null()], { description: "The token's name; null without auth" }),
  prefix: Type.Union([Type.String(), Type.Null()], { description: 'Keys the token may reach start with this; null for every key' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the token expires (ISO time); null if never' }),
});
