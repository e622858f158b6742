// TypeBox schemas: the single source of request validation, response serialization and
// the OpenAPI document at /docs/json (STYLE.md principle 8).
import { Type } from 'typebox';
import { keyBytesMax, keysPageLimitDefault, keysPageLimitMax } from '@ringkv/core';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'Stable identifier of the kind of problem' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What was wrong and what to do' }),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** One error answer in OpenAPI, served as application/problem+json. */
export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } };
}

const problemDescriptions: Record<number, string> = {
  400: 'Bad input: malformed JSON or URL, JSON nested deeper than --json-depth-max, a body without value, a bad consistency level or cursor',
  401: 'No valid API token was sent: the Authorization header is missing, or the token is unknown or expired',
  403: 'The token does not allow this: its role is too low or the key is outside its prefix',
  404: 'The key is absent or deleted, or the route does not exist',
  409: 'The ring change was refused; the detail says why and what to do instead',
  413: 'The request body (the whole {"value": ...}) is larger than --max-value-bytes',
  414: 'The key is longer than 1024 UTF-8 bytes',
  415: 'The body is not sent as application/json',
  500: 'The node failed to do it; the detail says what went wrong',
  502: 'The member the request was forwarded to did not answer',
  503: 'Not enough replicas available; nothing was written (safe to retry), or the node is still starting',
  504: 'Replicas did not answer in time; for writes the outcome is unknown',
  507: "The key's replicas have full disks (fullNodes); nothing was written: free space there, and they take writes again by themselves",
};

/** Error responses in OpenAPI, served as application/problem+json. */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(problemDescriptions[status] ?? 'Error')]));
}

export const KeyParams = Type.Object({
  key: Type.String({ description: 'The key: 1..1024 UTF-8 bytes, percent-encoded in the path' }),
});

const consistencyDescription = 'one, quorum (default), all, or a replica count from 1 to N';

export const WriteQuery = Type.Object(
  { w: Type.Optional(Type.String({ description: `Write consistency: ${consistencyDescription}` })) },
  { additionalProperties: false },
);

export const ReadQuery = Type.Object(
  { r: Type.Optional(Type.String({ description: `Read consistency: ${consistencyDescription}` })) },
  { additionalProperties: false },
);

export const PutBody = Type.Object(
  { value: Type.Unknown({ description: 'Any JSON value' }) },
  { additionalProperties: false, required: ['value'] },
);

export const StoredValueSchema = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  version: Type.String({ description: 'Opaque version, also sent as the ETag header' }),
});

export const DeleteResultSchema = Type.Object({
  key: Type.String(),
  deleted: Type.Boolean(),
  version: Type.String({ description: 'Version of the tombstone' }),
});

export const KeysQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: keysPageLimitMax, default: keysPageLimitDefault, description: `Page size, 1..${keysPageLimitMax}` }),
    ),
    prefix: Type.Optional(Type.String({ maxLength: keyBytesMax, description: 'Only keys starting with this' })),
    cursor: Type.Optional(Type.String({ maxLength: 4096, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const KeysPageSchema = Type.Object({
  keys: Type.Array(Type.String()),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last page' }),
});

export const StatusSchema = Type.Object({
  nodeId: Type.String(),
  ready: Type.Boolean(),
  uptimeSeconds: Type.Number(),
  keyCount: Type.Integer({ description: 'Live keys stored on this node' }),
});

const StorageState = Type.Union([Type.Literal('ok'), Type.Literal('full'), Type.Literal('failed')], {
  description: 'ok; full: writes refused (507) until space returns, reads served; failed: writes stopped until a restart (disk error), reads served',
});

export const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('starting')]),
  nodeId: Type.String(),
  storage: StorageState,
});

const DiskInfoSchema = Type.Object(
  {
    state: StorageState,
    reason: Type.Union([Type.String(), Type.Null()], { description: 'Why writes are refused; null while ok' }),
    sinceMs: Type.Number({ description: 'When the state last changed (Unix ms)' }),
    dataBytes: Type.Union([Type.Number(), Type.Null()], { description: "Bytes LMDB's data uses; null with memory storage" }),
    reservedBytes: Type.Union([Type.Number(), Type.Null()], { description: 'Bytes allocated ahead of the data so a full disk refuses writes cleanly' }),
    filesystemBytes: Type.Union([Type.Number(), Type.Null()], { description: "Size of the data directory's filesystem" }),
    freeBytes: Type.Union([Type.Number(), Type.Null()], { description: 'Bytes still free on it' }),
    usedPercent: Type.Union([Type.Number(), Type.Null()]),
    warnPercent: Type.Number({ description: 'Disk use at which `warning` is set (--disk-warn-percent)' }),
    warning: Type.Union([Type.String(), Type.Null()], { description: 'A sentence for the operator; null when nothing is wrong' }),
  },
  { description: "The data directory's disk and whether this node takes writes" },
);

const MemberState = Type.Union([Type.Literal('up'), Type.Literal('suspect'), Type.Literal('down')]);
const RingStatus = Type.Union([Type.Literal('joining'), Type.Literal('normal'), Type.Literal('leaving'), Type.Literal('left')], {
  description: 'joining: receiving its ranges; normal; leaving: handing its ranges on; left: gone for good',
});

export const MemberSchema = Type.Object({
  nodeId: Type.String(),
  address: Type.String(),
  state: MemberState,
  ringStatus: RingStatus,
  ringShare: Type.Number({ description: 'Share of the ring this member is primary for, 0..1' }),
});

const TrafficPointSchema = Type.Object({
  timeMs: Type.Number(),
  requestsPerSecond: Type.Number(),
  p50Ms: Type.Number(),
  p99Ms: Type.Number(),
});

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('join'), Type.Literal('leave'), Type.Literal('remove'), Type.Literal('cleanup')]),
    node: Type.String({ description: 'The node running the job' }),
    state: Type.Union([Type.Literal('waiting'), Type.Literal('running'), Type.Literal('paused'), Type.Literal('done')]),
    description: Type.String(),
    keysDone: Type.Number({ description: 'Keys examined so far' }),
    keysTotal: Type.Number({ description: 'Keys to examine in all' }),
    recordsMoved: Type.Number({ description: 'Records received (transfer) or dropped (cleanup)' }),
    keysPerSecond: Type.Number(),
    etaSeconds: Type.Union([Type.Number(), Type.Null()]),
    startedAtMs: Type.Number(),
    finishedAtMs: Type.Union([Type.Number(), Type.Null()]),
    sources: Type.Array(Type.Object({ nodeId: Type.String(), scanned: Type.Number(), total: Type.Number(), done: Type.Boolean() })),
  },
  { description: 'A data movement with its progress' },
);

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSchema),
  unreachable: Type.Array(Type.String(), { description: 'Members whose jobs could not be read' }),
});

export const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const NodeParams = Type.Object({ nodeId: Type.String({ minLength: 1, maxLength: 64 }) });

export const RingChangeSchema = Type.Object({
  nodeId: Type.String(),
  ringStatus: RingStatus,
  message: Type.String(),
});

export const NodeInfoSchema = Type.Object(
  {
    nodeId: Type.String(),
    address: Type.String(),
    version: Type.String(),
    clusterName: Type.String(),
    storage: Type.Union([Type.Literal('lmdb'), Type.Literal('memory')]),
    replicas: Type.Integer(),
    vnodes: Type.Integer(),
    startedAtMs: Type.Number(),
    uptimeSeconds: Type.Number(),
    ringShare: Type.Number(),
    keys: Type.Object({ total: Type.Integer(), primary: Type.Integer(), replica: Type.Integer() }),
    memory: Type.Object({ rssBytes: Type.Number(), heapUsedBytes: Type.Number() }),
    traffic: Type.Object({
      requestsTotal: Type.Number(),
      requestsPerSecond: Type.Number(),
      p50Ms: Type.Number(),
      p99Ms: Type.Number(),
      history: Type.Array(TrafficPointSchema),
    }),
    members: Type.Array(MemberSchema),
    replication: Type.Object({
      failedReplicaWrites: Type.Number(),
      readRepairs: Type.Number(),
      pendingHints: Type.Union([Type.Number(), Type.Null()], { description: 'Hints held for replicas that missed writes' }),
      oldestHintAgeMs: Type.Union([Type.Number(), Type.Null()], { description: 'Age of the oldest pending hint' }),
      hintsDelivered: Type.Number({ description: 'Hints delivered since start' }),
      repairHorizonMs: Type.Union([Type.Number(), Type.Null()], {
        description: 'Oldest time (Unix ms) at which one of this node\'s ranges was verified equal on all its replicas; null until every range has been',
      }),
      keysRepaired: Type.Number({ description: 'Records moved by anti-entropy' }),
      tombstones: Type.Integer({ description: 'Tombstones this node holds' }),
      tombstonesPurged: Type.Integer({ description: 'Tombstones purged since start, each after every replica verified it' }),
      purgedBeforeMs: Type.Number({ description: 'Tombstones written before this time (Unix ms) are purged everywhere; 0 before the first purge' }),
    }),
    ringStatus: RingStatus,
    jobs: Type.Array(JobSchema),
    security: Type.Object(
      {
        insecure: Type.Boolean({ description: 'Started with --insecure: protected mode was overridden' }),
        tls: Type.Boolean({ description: 'The API and peer links use TLS' }),
        peerMutualTls: Type.Boolean({ description: 'Peers prove themselves with a certificate naming their node id' }),
        authRequired: Type.Boolean({ description: 'Clients must send a bearer token' }),
        warnings: Type.Array(Type.String(), { description: 'Sentences for the operator; empty when nothing is wrong' }),
      },
      { description: 'How this node is protected (docs/security.md)' },
    ),
    disk: DiskInfoSchema,
  },
  { description: 'One node and how it is doing' },
);

export const ClusterSchema = Type.Object({
  clusterName: Type.String(),
  replicas: Type.Integer(),
  vnodes: Type.Integer(),
  members: Type.Array(MemberSchema),
  ring: Type.Object({ tokenCount: Type.Integer(), hash: Type.String() }),
  rebalancing: Type.Boolean({ description: 'True while members join or leave (data is moving), and for the settle period after' }),
});

export const RingLayoutSchema = Type.Object({
  tokenSpace: Type.Number(),
  ranges: Type.Array(Type.Object({ start: Type.Number(), end: Type.Number(), replicas: Type.Array(Type.String()) })),
});

export const OwnersSchema = Type.Object({ key: Type.String(), owners: Type.Array(Type.String()) });

export const ReplicasSchema = Type.Object({
  key: Type.String(),
  owners: Type.Array(Type.String()),
  replicas: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      status: Type.Union([Type.Literal('ok'), Type.Literal('missing'), Type.Literal('unreachable')]),
      version: Type.Union([Type.String(), Type.Null()]),
      tombstone: Type.Boolean(),
      value: Type.Optional(Type.Unknown()),
    }),
  ),
});

export const ClusterNodesSchema = Type.Object({
  gatheredBy: Type.String(),
  gatheredAtMs: Type.Number(),
  nodes: Type.Array(
    Type.Object({
      nodeId: Type.String(),
      address: Type.String(),
      state: MemberState,
      info: Type.Union([NodeInfoSchema, Type.Null()]),
      error: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

export const RepairStatusSchema = Type.Object({
  nodeId: Type.String(),
  horizonMs: Type.Union([Type.Number(), Type.Null()]),
  rangesVerified: Type.Integer(),
  rangesOwned: Type.Integer(),
  keysRepaired: Type.Number(),
  rounds: Type.Integer(),
});
