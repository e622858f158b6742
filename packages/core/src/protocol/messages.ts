// The one vocabulary of peer messages (docs/design.md, "One message vocabulary"). The TCP transport and the
// in-process transport carry exactly these values, encoded by protocol/codec.ts.
import type { StoredRecord } from '../storage/record.js';
import type { RingCursor } from '../storage/ring-order.js';

/** Bumped whenever a message changes shape; the handshake refuses a mismatch. */
export const protocolVersion = 12;

export interface MemberAddress {
  nodeId: string;
  /** `host:port` of the member's API port, which also carries the peer stream. */
  address: string;
}

/** Opens every connection: who is calling, and proof that it knows the cluster secret. */
export interface HelloRequest {
  type: 'hello';
  clusterName: string;
  protocolVersion: number;
  nodeId: string;
  address: string;
  /**
   * HMACs of the server's nonce (hex), one per cluster secret the sender holds, its
   * current one first: while a secret rotates, a node that has the new one and a node
   * still on the old one each find a proof they can check (at most peerProofsMax).
   */
  proofs: string[];
}

/**
 * Which cluster state a data request was routed by (cluster/cluster-state.ts): a replica
 * that holds a newer one refuses with `stale-epoch`. Absent on requests that are not
 * routed by the ring (tools, tests): those are served as they come.
 */
export interface Routed {
  epoch?: number;
  digest?: number;
}

/** Store a record if it is newer than the replica's copy. */
export interface PutRequest extends Routed {
  type: 'put';
  key: string;
  record: StoredRecord;
  /**
   * A read repair: a copy of a version another replica holds, not a write being
   * coordinated. Never refused for being older than the replica's closed time
   * (watch/change-log.ts).
   */
  repair?: boolean;
}

/** Read a replica's copy of a key. */
export interface GetRequest extends Routed {
  type: 'get';
  key: string;
}

/** A Paxos ballot (cluster/paxos.ts): the proposer's HLC and node id when it began the round. */
export interface Ballot {
  hlc: number;
  nodeId: string;
}

/** What an idempotent write is known by (cluster/paxos.ts, "Idempotent writes"): the client's Idempotency-Key and a digest of its request. */
export interface IdempotencyTag {
  key: string;
  fingerprint: string;
}

/** An idempotent write a replica remembers: its tag and the version it was given. */
export interface RememberedWrite extends IdempotencyTag {
  hlc: number;
  nodeId: string;
}

/** Conditional writes and serial reads (cluster/paxos.ts): promise to take no ballot below this one. */
export interface PaxosPrepareRequest extends Routed {
  type: 'paxosPrepare';
  key: string;
  ballot: Ballot;
  /** An idempotent write's Idempotency-Key: the promise says whether the replica remembers it. */
  idempotencyKey?: string;
}

/** Take this proposal unless a higher ballot was promised. */
export interface PaxosAcceptRequest extends Routed {
  type: 'paxosAccept';
  key: string;
  ballot: Ballot;
  record: StoredRecord;
  /** The idempotent writes the proposal makes remembered (cluster/paxos.ts, "Idempotent writes"). */
  tags?: RememberedWrite[];
}

/** The proposal was chosen: apply its record like any write, note the commit, and remember its idempotent writes. */
export interface PaxosCommitRequest extends Routed {
  type: 'paxosCommit';
  key: string;
  ballot: Ballot;
  record: StoredRecord;
  tags?: RememberedWrite[];
}

/**
 * Cleanup: which version of each key the receiver holds (no values), so that a node that
 * no longer owns keys hands on only those the new replicas lack before it drops them.
 */
export interface VersionsRequest {
  type: 'versions';
  keys: string[];
}

/**
 * Fencing: two nodes exchange their cluster states directly, on the data path, so a node
 * that routed by an older state (or saw a request routed by a newer one) catches up within
 * a round trip, however late gossip is. The sender's own update comes first.
 */
export interface StateRequest {
  type: 'state';
  updates: MemberUpdate[];
}

/**
 * A member's place in the ring, which only moves forward: a node started `--standby` is a
 * member outside the ring (it coordinates client requests but holds no data) until it is
 * told to join; a new node is `joining` while the ranges it takes over stream to it,
 * `normal` once they have, `leaving` while its ranges stream away (decommission, or
 * removal of a dead node), and `left` for good.
 */
export type RingStatus = 'standby' | 'joining' | 'normal' | 'leaving' | 'left';

/** What one node believes about a member (SWIM: state plus the member's incarnation). */
export interface MemberUpdate extends MemberAddress {
  state: 'up' | 'suspect' | 'down';
  /**
   * Which life of the node id this is: 0 for its first, one more each time the id joins
   * again after it left (a new member under an old name, its old data discarded). A later
   * life replaces everything held of an earlier one.
   */
  life: number;
  incarnation: number;
  ring: RingStatus;
  /** The ring transition whose incoming data this member has finished receiving (0: none). */
  synced: number;
  /** The member's repair horizon (ms; only grows): every range it holds was verified on all replicas since. */
  horizon: number;
  /** The member has served clients (its ring was formed and it was ready): the cluster may hold data. Never unset. */
  serving: boolean;
  /** The highest epoch of the cluster state the member has seen (only grows; ring changes wait for every member to see theirs). */
  epoch: number;
}

/** SWIM direct probe; membership updates ride along (piggybacked dissemination). */
export interface PingRequest {
  type: 'ping';
  from: MemberAddress;
  updates: MemberUpdate[];
}

/** SWIM indirect probe: ask the receiver to probe `target` on the sender's behalf. */
export interface PingReqRequest {
  type: 'pingReq';
  target: MemberAddress;
  updates: MemberUpdate[];
}

/** Anti-entropy: the digest of each named range on the receiver, if its ring matches. */
export interface DigestsRequest {
  type: 'digests';
  /** Ring fingerprint of the sender; a receiver with another ring answers nothing. */
  ring: number;
  ranges: number[];
  /** The sender's tombstone watermark (HLC); the receiver adopts a higher one. */
  watermark: number;
}

/** Anti-entropy: every key of one range with its version hash. */
export interface RangeEntriesRequest {
  type: 'rangeEntries';
  ring: number;
  range: number;
}

/** Anti-entropy and hinted handoff: the receiver's records for these keys. */
export interface PullRecordsRequest {
  type: 'pullRecords';
  keys: string[];
}

/** Anti-entropy and hinted handoff: apply these records (each only if newer). */
export interface PushRecordsRequest {
  type: 'pushRecords';
  entries: Array<[string, StoredRecord]>;
  /** The sender's HLC when it composed the message; one older than the receiver's tombstone watermark is dropped whole. */
  sentHlc: number;
  /**
   * Hints: each record is only as recent as its write, however late it is delivered, so
   * the receiver drops any below its purge cutoff (see repair/tombstone-purge.ts, settledBy).
   */
  hinted: boolean;
  /**
   * An operator's restore (cluster/restore-writes.ts): records from a backup are as old as
   * their writes, so the receiver takes them below its purge cutoff too, for keys it replicates.
   */
  restore?: boolean;
}

/**
 * Rebalancing: the next batch of records the receiver holds that `forNode` takes over in
 * the ring transition from `readRing` to `targetRing`, walking the arcs it sends
 * (ring/placement.ts, sendingArcs) in ring order after `after`.
 */
export interface TransferScanRequest {
  type: 'transferScan';
  readRing: number;
  targetRing: number;
  forNode: string;
  /** Members the receiving node treats as unavailable: their keys come from the other replicas. */
  unavailable: string[];
  /** Walk strictly after this place in ring order; null starts at token 0. */
  after: RingCursor | null;
  /** Records returned at most (transferRecordsPerBatchMax and transferBatchBytesMax bound a batch too). */
  limit: number;
}

/**
 * Cluster-wide listing (cluster/key-scan.ts): the receiver's own records whose keys start
 * with `prefix`, strictly after `after`, in key order, tombstones and expired values as
 * stored; at most `limit` of them (scanRecordsLimitMax bounds it).
 */
export interface ScanRecordsRequest {
  type: 'scanRecords';
  prefix: string;
  /** Scan keys strictly after this one; null starts at the beginning of the prefix. */
  after: string | null;
  limit: number;
}

/**
 * A watch reading a member's change log (watch/change-log.ts): entries with a position above
 * `after` whose key starts with `prefix`, at most `limit` scanned; `after: null` asks only
 * for the member's floor (a new watch starts from the lowest floor).
 */
export interface ChangesRequest {
  type: 'changes';
  prefix: string;
  after: number | null;
  limit: number;
}

export type PeerRequest =
  | ChangesRequest
  | HelloRequest
  | PutRequest
  | GetRequest
  | PingRequest
  | PingReqRequest
  | DigestsRequest
  | RangeEntriesRequest
  | PullRecordsRequest
  | PushRecordsRequest
  | TransferScanRequest
  | StateRequest
  | VersionsRequest
  | PaxosPrepareRequest
  | PaxosAcceptRequest
  | PaxosCommitRequest
  | ScanRecordsRequest;

export interface WelcomeReply {
  type: 'welcome';
  nodeId: string;
  address: string;
  /** HMACs of the client's nonce, as in HelloRequest.proofs. */
  proofs: string[];
}

export interface PutReply {
  type: 'putAck';
  applied: boolean;
  /** Set when the replica refused the record because it holds a newer version: that version's HLC. */
  newerHlc?: number;
}

export interface VersionsReply {
  type: 'versionsReply';
  /** Per requested key, in order: the HLC and writer of the version held, or null for none. */
  versions: Array<[number, string] | null>;
  /**
   * Set when the replica lost its data and repair has not yet brought it back (it restarted
   * on an empty disk as a member the ring already held): a version it holds is real, but
   * "none" or an older one says nothing of what it held before.
   */
  incomplete?: true;
}

export interface PaxosPromiseReply {
  type: 'paxosPromise';
  promised: boolean;
  /** When refused: the ballot promised instead. */
  highest: Ballot | null;
  /** The proposal accepted last, the ballot committed last, and the replica's copy of the key. */
  accepted: { ballot: Ballot; record: StoredRecord; tags?: RememberedWrite[] } | null;
  committed: Ballot | null;
  current: StoredRecord | null;
  /** The idempotent write of the prepare's Idempotency-Key, when the replica remembers one. */
  remembered: RememberedWrite | null;
  /** The idempotent writes committed with the ballot committed last. */
  committedTags: RememberedWrite[];
}

export interface PaxosAcceptedReply {
  type: 'paxosAccepted';
  accepted: boolean;
  /** When refused: the ballot promised instead. */
  highest: Ballot | null;
}

export interface PaxosCommittedReply {
  type: 'paxosCommitted';
}

export interface StateReply {
  type: 'stateReply';
  updates: MemberUpdate[];
}

export interface GetReply {
  type: 'getReply';
  record: StoredRecord | null;
}

export interface PongReply {
  type: 'pong';
  updates: MemberUpdate[];
}

export interface PingReqReply {
  type: 'pingReqReply';
  /** True when the target answered the receiver's probe. */
  reached: boolean;
  updates: MemberUpdate[];
}

/**
 * Stable codes of a replica's refusal. 'overloaded': the request waited in no queue and
 * was never executed (its peer connection's queue was full), so nothing was applied.
 * `storage-full`: the replica's disk has no room; nothing was applied there
 * (storage/storage-errors.ts). `stale-epoch`: the request was routed by an older cluster
 * state than the replica holds; nothing was done, and the sender should learn the
 * replica's state (a `state` exchange) and route again.
 */
export type FailureCode = 'refused' | 'bad-request' | 'storage-error' | 'storage-full' | 'clock-skew' | 'not-ready' | 'overloaded' | 'stale-epoch';

export interface FailureReply {
  type: 'failure';
  code: FailureCode;
  message: string;
}

export interface DigestsReply {
  type: 'digestsReply';
  ring: number;
  /** The replier's tombstone watermark after adopting the sender's. */
  watermark: number;
  /** [digest, key count] per requested range, in order; empty when the rings differ. */
  summaries: Array<[number, number]>;
}

export interface RangeEntriesReply {
  type: 'rangeEntriesReply';
  ring: number;
  entries: Array<[string, number]>;
}

export interface RecordsReply {
  type: 'records';
  entries: Array<[string, StoredRecord | null]>;
}

export interface TransferBatchReply {
  type: 'transferBatch';
  /** False when the replier's rings differ from the request's: ask again later. */
  ringsMatch: boolean;
  entries: Array<[string, StoredRecord]>;
  /** Where the next walk starts; null when the replier has sent every key of its arcs. */
  next: RingCursor | null;
  /** Keys (live and tombstones) this walk covered, and all the replier holds in the arcs it sends. */
  scanned: number;
  total: number;
}

export interface PushReply {
  type: 'pushAck';
  applied: number;
}

export interface ScannedRecordsReply {
  type: 'scannedRecords';
  entries: Array<[string, StoredRecord]>;
  /** True when the replier holds more keys under the prefix after the last entry. */
  more: boolean;
}

export interface ChangesReply {
  type: 'changesReply';
  /** The log no longer holds entries after `after` (pruned): the watch's cursor is too old. */
  gone: boolean;
  entries: Array<{ pos: number; key: string; record: StoredRecord; expired: boolean }>;
  /** The position read through: the next request asks after it. */
  last: number;
  /** More entries follow `last` at once (then `floor` is 0: not known yet). */
  more: boolean;
  /** No entry appended after this answer has a change time at or below this. */
  floor: number;
  prunedThrough: number;
}

export type PeerReply =
  | ChangesReply
  | WelcomeReply
  | PutReply
  | GetReply
  | PongReply
  | PingReqReply
  | FailureReply
  | DigestsReply
  | RangeEntriesReply
  | RecordsReply
  | PushReply
  | TransferBatchReply
  | StateReply
  | VersionsReply
  | PaxosPromiseReply
  | PaxosAcceptedReply
  | PaxosCommittedReply
  | ScannedRecordsReply;

export type Frame =
  | { kind: 'request'; id: number; body: PeerRequest }
  | { kind: 'reply'; id: number; body: PeerReply };

/** The reply type each request expects (a failure may stand in for any of them). */
export interface ReplyFor {
  hello: WelcomeReply;
  put: PutReply;
  get: GetReply;
  ping: PongReply;
  pingReq: PingReqReply;
  digests: DigestsReply;
  rangeEntries: RangeEntriesReply;
  pullRecords: RecordsReply;
  pushRecords: PushReply;
  transferScan: TransferBatchReply;
  state: StateReply;
  versions: VersionsReply;
  paxosPrepare: PaxosPromiseReply;
  paxosAccept: PaxosAcceptedReply;
  paxosCommit: PaxosCommittedReply;
  scanRecords: ScannedRecordsReply;
  changes: ChangesReply;
}
