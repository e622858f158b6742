// An operator's restore (issue 12, "Backup, restore, export, import"): records read back
// from a backup go to each key's replicas the way replica writes keep them, so the larger
// version wins on every replica: restoring twice changes nothing and newer data is never
// overwritten. They travel in pushRecords messages with the `restore` flag, the one path on
// which replicas take records below their tombstone purge cutoff (peer-handler.ts). A key
// counts as restored, as a coordinator's write counts acks, when W replicas in every ring a
// write must reach hold the record's version or a newer one; the replicas are asked with a
// `versions` request after the push, which also tells "applied" from "kept newer".
import { recordsPerMessageMax, restorePushBytesMax } from '../limits.js';
import type { MemberAddress } from '../protocol/messages.js';
import { expectReply, PeerError, type DataRequest, type RequestHandler, type Transport } from '../protocol/transport.js';
import { compareVersions, type StoredRecord } from '../storage/record.js';
import { JsonText } from '../storage/json-text.js';
import { resolveReplicaCount } from './consistency.js';
import type { ReplicaFailure } from './outcomes.js';
import { strictQuorum, type QuorumPolicy } from './quorum-policy.js';

export interface RestoreWritesDeps {
  self: MemberAddress;
  /** The key's replica set in each ring a write must reach (Coordinator.writeGroups). */
  writeGroups(key: string): ReadonlyArray<readonly string[]>;
  isAvailable(nodeId: string): boolean;
  addressOf(nodeId: string): string | undefined;
  transport: Transport;
  /** This node's own replica side (the peer handler), reached without the network. */
  local: RequestHandler;
  /** The node's HLC now: the pushes' sentHlc. */
  nowHlc(): number;
  /** How long one replica may take to answer a push or a versions request. */
  timeoutMs: number;
  /** When the confirmations make a key restored; strictQuorum by default. */
  quorum?: QuorumPolicy;
}

/** applied: a quorum holds this version; kept-newer: a replica holds a newer one, which wins; failed: too few replicas confirmed. */
export type RestoreOutcome = 'applied' | 'kept-newer' | 'failed';

export interface RestoredKey {
  key: string;
  outcome: RestoreOutcome;
  /** Replicas holding this version or a newer one, over every ring a write must reach. */
  confirmed: number;
  /** W of each ring, summed: what `confirmed` had to reach. */
  required: number;
  /** Replicas that did not confirm, and why; empty unless the key failed or a replica lags. */
  failures: ReplicaFailure[];
}

export interface RestoreAnswer {
  keys: RestoredKey[];
  /** Copies the replicas stored anew: 0 when every replica already held these versions or newer ones. */
  stored: number;
}

/** What one replica answered for the keys sent to it: the version it holds for each, or why it could not say. */
export type ReplicaAnswer = { ok: true; held: ReadonlyMap<string, readonly [number, string] | null>; stored: number } | { ok: false; reason: string };

/**
 * Writes `entries` (distinct keys) to their replicas with the restore flag and judges each
 * key by what its replicas hold afterwards. Never rejects: a replica that fails makes the
 * keys that needed it `failed`, with the reason.
 */
export async function restoreRecords(deps: RestoreWritesDeps, entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<RestoreAnswer> {
  const groupsByKey = new Map<string, ReadonlyArray<readonly string[]>>();
  const entriesByNode = new Map<string, Array<[string, StoredRecord]>>();
  for (const [key, record] of entries) {
    const groups = deps.writeGroups(key);
    groupsByKey.set(key, groups);
    for (const nodeId of new Set(groups.flat())) {
      const list = entriesByNode.get(nodeId) ?? [];
      list.push([key, record]);
      entriesByNode.set(nodeId, list);
    }
  }
  const answers = new Map<string, ReplicaAnswer>();
  await Promise.all(
    [...entriesByNode].map(async ([nodeId, list]) => {
      answers.set(nodeId, await restoreOn(deps, nodeId, list));
    }),
  );
  const quorum = deps.quorum ?? strictQuorum;
  const keys = entries.map(([key, record]) => judgeRestoredKey(key, record, groupsByKey.get(key) ?? [], answers, quorum));
  let stored = 0;
  for (const answer of answers.values()) if (answer.ok) stored += answer.stored;
  return { keys, stored };
}

/**
 * One key's outcome from its replicas' answers (pure): a replica confirms when it holds the
 * record's version or a newer one; the key is restored when the confirmations make a write
 * written under `quorum` (W = a majority of each ring's replicas).
 */
export function judgeRestoredKey(
  key: string,
  record: Pick<StoredRecord, 'hlc' | 'nodeId'>,
  groups: ReadonlyArray<readonly string[]>,
  answers: ReadonlyMap<string, ReplicaAnswer>,
  quorum: QuorumPolicy = strictQuorum,
): RestoredKey {
  const failures: ReplicaFailure[] = [];
  const confirmedBy = new Set<string>();
  let newer = false;
  for (const nodeId of new Set(groups.flat())) {
    const answer = answers.get(nodeId);
    if (answer === undefined || !answer.ok) {
      failures.push({ nodeId, reason: answer === undefined ? 'not asked' : answer.reason });
      continue;
    }
    const held = answer.held.get(key) ?? null;
    const order = held === null ? -1 : compareVersions({ hlc: held[0], nodeId: held[1] }, record);
    if (order < 0) {
      failures.push({ nodeId, reason: held === null ? 'holds nothing for the key after the push (not its replica in the ring it holds?)' : 'holds an older version after the push' });
      continue;
    }
    confirmedBy.add(nodeId);
    if (order > 0) newer = true;
  }
  const requiredPerGroup = groups.map((group) => resolveReplicaCount('quorum', group.length));
  const acksPerGroup = groups.map((group) => group.filter((nodeId) => confirmedBy.has(nodeId)).length);
  const written = groups.length > 0 && quorum.isWritten(acksPerGroup, requiredPerGroup);
  return {
    key,
    outcome: written ? (newer ? 'kept-newer' : 'applied') : 'failed',
    confirmed: acksPerGroup.reduce((sum, acks) => sum + acks, 0),
    required: requiredPerGroup.reduce((sum, required) => sum + required, 0),
    failures,
  };
}

/** Pushes `list` to one replica (in messages bounded in records and bytes), then asks which versions it holds. */
async function restoreOn(deps: RestoreWritesDeps, nodeId: string, list: ReadonlyArray<[string, StoredRecord]>): Promise<ReplicaAnswer> {
  const local = nodeId === deps.self.nodeId;
  if (!local && !deps.isAvailable(nodeId)) return { ok: false, reason: 'down' };
  const address = local ? deps.self.address : deps.addressOf(nodeId);
  if (address === undefined) return { ok: false, reason: `no address known for ${nodeId}` };
  const ask = async <T extends DataRequest>(body: T) => {
    if (!local) return deps.transport.request(address, body, deps.timeoutMs);
    return expectReply(await deps.local(body, deps.self), body.type === 'pushRecords' ? 'pushAck' : 'versionsReply');
  };
  try {
    let stored = 0;
    for (const chunk of pushChunks(list)) {
      const ack = (await ask({ type: 'pushRecords', entries: chunk, sentHlc: deps.nowHlc(), hinted: false, restore: true })) as { applied: number };
      stored += ack.applied;
    }
    const held = new Map<string, readonly [number, string] | null>();
    for (let start = 0; start < list.length; start += recordsPerMessageMax) {
      const keys = list.slice(start, start + recordsPerMessageMax).map(([key]) => key);
      const reply = (await ask({ type: 'versions', keys })) as { versions: Array<[number, string] | null> };
      keys.forEach((key, i) => held.set(key, reply.versions[i] ?? null));
    }
    return { ok: true, held, stored };
  } catch (error) {
    return { ok: false, reason: error instanceof PeerError && error.code !== 'remote-failure' ? error.code : (error as Error).message };
  }
}

/** Splits a replica's records into pushes of at most recordsPerMessageMax records and about restorePushBytesMax bytes. */
export function pushChunks(list: ReadonlyArray<[string, StoredRecord]>): Array<Array<[string, StoredRecord]>> {
  const chunks: Array<Array<[string, StoredRecord]>> = [];
  let current: Array<[string, StoredRecord]> = [];
  let bytes = 0;
  for (const entry of list) {
    const size = estimatedBytes(entry);
    if (current.length > 0 && (current.length >= recordsPerMessageMax || bytes + size > restorePushBytesMax)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A record's size on the wire, near enough to bound a message: its key and value as JSON, and the version fields. */
function estimatedBytes([key, record]: readonly [string, StoredRecord]): number {
  const value = record.value === undefined ? '' : record.value instanceof JsonText ? record.value.text : JSON.stringify(record.value);
  return key.length * 3 + value.length * 3 + record.nodeId.length + 32;
}
