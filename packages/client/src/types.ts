// The JSON shapes of ringkv's REST API as TypeScript types, each derived from its schema in
// schemas.ts so that a change to the wire contract changes the types with it. The schemas are
// imported as types only: code that needs just the types (the dashboard) does not load typebox.
import type { Static } from 'typebox';
import type {
  AuthIdentitySchema,
  ClusterKeyItemSchema,
  ClusterKeysPageSchema,
  ClusterNodesSchema,
  ClusterSchema,
  DeleteResultSchema,
  DiskInfoSchema,
  HealthSchema,
  JobControlSchema,
  JobKindSchema,
  JobListSchema,
  PaceSchema,
  PaceUpdateSchema,
  JobSchema,
  JobStateSchema,
  KeyCountsSchema,
  KeysPageSchema,
  MemberSchema,
  MemberStateSchema,
  NodeInfoSchema,
  NodeViewSchema,
  OwnersSchema,
  PreconditionFailedSchema,
  ProblemSchema,
  RepairStatusSchema,
  ReplicaCopySchema,
  ReplicasSchema,
  ReplicationStatusSchema,
  RingChangeSchema,
  RingLayoutSchema,
  RingRangeSchema,
  RingStatusSchema,
  SecurityPostureSchema,
  StatusSchema,
  StorageStateSchema,
  StoredValueSchema,
  TrafficPointSchema,
  TrafficSummarySchema,
} from './schemas.js';

/**
 * A consistency level for reads (`r`) and writes (`w`): a name or a replica count. Not a JSON
 * shape: the client sends it in the query string, where the server parses and checks it.
 */
export type ConsistencyLevel = 'one' | 'quorum' | 'all' | number;

/** A read's level: a consistency level, or `serial` (linearizable with conditional writes: a per-key Paxos round). */
export type ReadLevel = ConsistencyLevel | 'serial';

export type StoredValue = Static<typeof StoredValueSchema>;
export type DeleteResult = Static<typeof DeleteResultSchema>;
export type ReplicaCopy = Static<typeof ReplicaCopySchema>;
export type KeyReplicas = Static<typeof ReplicasSchema>;
export type KeysPage = Static<typeof KeysPageSchema>;
export type ClusterKeysPage = Static<typeof ClusterKeysPageSchema>;
export type ClusterKeyItem = Static<typeof ClusterKeyItemSchema>;

export type NodeStatus = Static<typeof StatusSchema>;
export type StorageState = Static<typeof StorageStateSchema>;
export type Health = Static<typeof HealthSchema>;
export type DiskInfo = Static<typeof DiskInfoSchema>;
export type MemberState = Static<typeof MemberStateSchema>;
export type RingStatus = Static<typeof RingStatusSchema>;
export type MemberInfo = Static<typeof MemberSchema>;
export type TrafficPoint = Static<typeof TrafficPointSchema>;
export type TrafficSummary = Static<typeof TrafficSummarySchema>;
export type JobKind = Static<typeof JobKindSchema>;
export type JobState = Static<typeof JobStateSchema>;
export type Job = Static<typeof JobSchema>;
export type JobList = Static<typeof JobListSchema>;
export type Pace = Static<typeof PaceSchema>;
export type PaceUpdate = Static<typeof PaceUpdateSchema>;
export type JobControl = Static<typeof JobControlSchema>;
export type RingChange = Static<typeof RingChangeSchema>;
export type KeyCounts = Static<typeof KeyCountsSchema>;
export type ReplicationStatus = Static<typeof ReplicationStatusSchema>;
export type SecurityPosture = Static<typeof SecurityPostureSchema>;
export type NodeInfo = Static<typeof NodeInfoSchema>;
export type RepairStatus = Static<typeof RepairStatusSchema>;

export type ClusterInfo = Static<typeof ClusterSchema>;
export type RingRange = Static<typeof RingRangeSchema>;
export type RingLayout = Static<typeof RingLayoutSchema>;
export type KeyOwners = Static<typeof OwnersSchema>;
export type NodeView = Static<typeof NodeViewSchema>;
export type ClusterNodes = Static<typeof ClusterNodesSchema>;

export type AuthIdentity = Static<typeof AuthIdentitySchema>;

/**
 * RFC 9457 problem details, the body of every error answer. The schema admits extra members
 * (`reason`, `fullNodes`, ...), which a static type of the schema alone would not show.
 */
export type Problem = Static<typeof ProblemSchema> & { [extra: string]: unknown };

/** The problem of a refused If-Match or If-None-Match (412): the key's version now, null when absent. */
export type PreconditionFailedProblem = Static<typeof PreconditionFailedSchema> & { [extra: string]: unknown };
