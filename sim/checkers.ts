// The checkers that judge a run. The history checks need only what clients saw:
//
// - Reads (linearizability-lite, per key). A read names the write it saw (put values are
//   unique; a tombstone names the key's deletes; "absent" names the initial state, or a
//   delete whose tombstone was purged). If
//   that write had completed before another write W was invoked, and W was acknowledged
//   before the read was invoked, the read is stale, provided the read was entitled to
//   see W: R + W > N, counting W's acks minus the replicas of the key whose disk was lost
//   between W's start and the read's end. This one rule is "no stale read at R + W > N" during the workload and,
//   applied to the final reads after healing and repair (where every replica agrees, so
//   R counts as N), "no acknowledged write lost" and "no deleted key comes back". It
//   holds for keys with concurrent writers too: only pairs ordered in real time count.
//   A put with a ttl counts as its own delete once it expires: an expired read names it,
//   and so may an absent one (the expired value purged).
// - Expiry: no read returns a value whose expiry its coordinator's clock had passed when
//   the read began, and none reports a value expired before its coordinator's clock could
//   have reached the expiry.
// - Versions: one coordinator process stamps each acknowledged write above the last.
// - Replicas: after healing and repair, every replica of a key holds the same version,
//   and no other node holds the key.
import { compareVersions, isLiveAt, visibleAt, type ClusterScanPage, type StoredRecord } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';
import type { DataLoss, History, Operation, Version } from './history.js';
import type { Trace } from './trace.js';
import type { Violation } from './violations.js';

export interface HistoryCheckContext {
  /** N: replicas per key. */
  replicas: number;
  replicasOf(key: string): readonly string[];
  dataLosses: readonly DataLoss[];
  trace: Trace;
}

/** The state before any write: what an "absent" read is explained by. */
const initial = 'initial' as const;
type Explanation = Operation | typeof initial;

export function checkHistory(history: History, context: HistoryCheckContext): Violation[] {
  const violations: Violation[] = [];
  for (const [, operations] of history.byKey()) {
    const writes = operations.filter((operation) => operation.kind !== 'read');
    const acknowledged = writes.filter((operation) => operation.outcome === 'ok').sort((a, b) => (a.completeMs as number) - (b.completeMs as number) || a.id - b.id);
    for (const read of operations) {
      if (read.kind !== 'read' || read.outcome !== 'ok') continue;
      const violation = judgeRead(read, writes, acknowledged, context);
      if (violation !== undefined) violations.push(violation);
    }
  }
  violations.push(...checkVersionOrder(history, context.trace));
  return violations;
}

function judgeRead(read: Operation, writes: readonly Operation[], acknowledged: readonly Operation[], context: HistoryCheckContext): Violation | undefined {
  const seen = context.trace.describeRead(read.read ?? { found: false });
  const base = { atMs: read.completeMs as number, key: read.key };
  const expiry = judgeExpiry(read, writes, seen, context);
  if (expiry !== undefined) return { ...base, ...expiry, operationIds: [read.id] };
  const candidates = explanationsOf(read, writes);
  if (candidates.length === 0) {
    return { ...base, kind: 'phantom-value', message: `op ${read.id} read ${seen}, which no write of ${read.key} produced`, operationIds: [read.id] };
  }
  const visible = candidates.filter((candidate) => candidate === initial || candidate.outcome !== 'failed');
  if (visible.length === 0) {
    const refused = candidates.filter((candidate): candidate is Operation => candidate !== initial).map((candidate) => candidate.id);
    return { ...base, kind: 'refused-write-visible', message: `op ${read.id} read ${seen}, written only by refused op ${refused.join(', ')} ("nothing was written")`, operationIds: [read.id, ...refused] };
  }
  const possible = visible.filter((candidate) => candidate === initial || candidate.invokeMs <= (read.completeMs as number));
  if (possible.length === 0) {
    return { ...base, kind: 'phantom-value', message: `op ${read.id} read ${seen}, whose write began only after the read ended`, operationIds: [read.id] };
  }
  let stale: { candidate: Explanation; newer: Operation } | undefined;
  for (const candidate of possible) {
    const newer = supersedingWrite(candidate, read, acknowledged, context);
    if (newer === undefined) return undefined;
    stale = { candidate, newer };
  }
  return describeStale(read, stale as { candidate: Explanation; newer: Operation }, context);
}

/**
 * The writes that could have produced what the read returned: the put of that value, or
 * for a tombstone the acknowledged delete of that version (deletes whose outcome the
 * client did not learn have no known version, so any of them may be it).
 */
function explanationsOf(read: Operation, writes: readonly Operation[]): Explanation[] {
  const seen = read.read;
  const deletes = writes.filter((write) => write.kind === 'delete');
  // A put with a ttl is a delete once expired: when its known expiry was reachable by the
  // read's clock (or its expiry is not known: its outcome was not learned).
  const expirable = (write: Operation) =>
    write.kind === 'put' && write.ttlSeconds !== undefined && (write.expiresAt === undefined || read.expiryJudgedBefore === undefined || write.expiresAt <= read.expiryJudgedBefore);
  // Once every replica has verified a tombstone it is purged (repair/tombstone-purge.ts),
  // and the key reads as absent: an absent read may stand for any delete, or any expired put.
  if (seen === undefined || !seen.found) return [initial, ...deletes, ...writes.filter(expirable)];
  if (!seen.tombstone) return writes.filter((write) => write.kind === 'put' && write.value === seen.value);
  // An expired value is a tombstone at the put's own version (maybe an earlier stamp of a
  // re-stamped put, which expires earlier than its final one: premature-expiry judges the
  // expiry the read reported).
  if (seen.expiresAt !== undefined) return versionMatches(writes.filter((write) => write.kind === 'put' && write.ttlSeconds !== undefined), seen.version, read);
  return versionMatches(deletes, seen.version, read);
}

/**
 * The writes among `writes` that may have the version `version`: the acknowledged ones of
 * that version, or failing those the re-stamped ones and those whose outcome is unknown.
 */
function versionMatches(writes: readonly Operation[], version: Version, read: Operation): Operation[] {
  const exact = writes.filter((write) => write.outcome === 'ok' && write.version !== undefined && compareVersions(write.version, version) === 0);
  if (exact.length > 0) return exact;
  // A write refused as older by a replica is re-stamped and sent again (coordinator.ts):
  // an earlier stamp of the same coordinator may be read too. It belongs to an acknowledged
  // write of that coordinator, begun before the read ended, whose final version is above it.
  const restamped = writes.filter(
    (write) =>
      write.outcome === 'ok' &&
      write.version !== undefined &&
      write.version.nodeId === version.nodeId &&
      compareVersions(write.version, version) > 0 &&
      write.invokeMs <= (read.completeMs as number),
  );
  return [...restamped, ...writes.filter((write) => write.outcome !== 'ok')];
}

/**
 * A read that saw a value past its expiry, or an expiry its coordinator's clock had not
 * reached. A value's expiry is the earlier of the one its acknowledged put was given and
 * the one the read reported (a re-stamped put's earlier copy expires earlier).
 */
function judgeExpiry(read: Operation, writes: readonly Operation[], seen: string, context: HistoryCheckContext): Pick<Violation, 'kind' | 'message'> | undefined {
  const value = read.read;
  if (value === undefined || !value.found) return undefined;
  const put = value.tombstone ? undefined : writes.find((write) => write.kind === 'put' && write.value === value.value);
  // A read of an earlier stamp of a re-stamped put carries that stamp's (earlier) expiry.
  const expiresAt = put?.expiresAt === undefined ? value.expiresAt : value.expiresAt === undefined ? put.expiresAt : Math.min(put.expiresAt, value.expiresAt);
  if (expiresAt === undefined) return undefined;
  const at = (hlc: number) => context.trace.describeVersion({ hlc, nodeId: read.node }).replace(/@.*$/, '');
  if (!value.tombstone && read.expiryJudgedAfter !== undefined && expiresAt <= read.expiryJudgedAfter) {
    return { kind: 'expired-value-read', message: `op ${read.id} (read via ${read.node}) returned ${seen}, though ${read.node}'s clock was at ${at(read.expiryJudgedAfter)} when the read began` };
  }
  if (value.tombstone && read.expiryJudgedBefore !== undefined && expiresAt > read.expiryJudgedBefore) {
    return { kind: 'premature-expiry', message: `op ${read.id} (read via ${read.node}) returned ${seen}, though ${read.node}'s clock was only at ${at(read.expiryJudgedBefore)} when it answered` };
  }
  return undefined;
}

/**
 * An acknowledged write the read had to see, invoked after `candidate` completed; undefined if none.
 * A write whose outcome the client never learned (its coordinator crashed or timed out) may
 * still land later: its copies were in flight or on the crashed coordinator's disk. Under
 * last-writer-wins it then beats every write stamped below it, so such a candidate is not
 * superseded by an acknowledged write whose version is below the one the read returned.
 */
function supersedingWrite(candidate: Explanation, read: Operation, acknowledged: readonly Operation[], context: HistoryCheckContext): Operation | undefined {
  const candidateEndMs = candidate === initial ? -Infinity : (candidate.completeMs as number);
  const lateVersion = candidate !== initial && candidate.outcome === 'unknown' && read.read?.found === true ? read.read.version : undefined;
  for (const write of acknowledged) {
    if (write === candidate) continue;
    if ((write.completeMs as number) >= read.invokeMs) break;
    if (write.invokeMs <= candidateEndMs) continue;
    if (lateVersion !== undefined && write.version !== undefined && compareVersions(lateVersion, write.version) > 0) continue;
    if (entitled(read, write, context)) return write;
  }
  return undefined;
}

/**
 * Whether the read must see the write: R + (W - replicas that lost their disk) > N. A disk
 * lost while the read was still asking replicas counts too (the read may ask that replica last).
 */
function entitled(read: Operation, write: Operation, context: HistoryCheckContext): boolean {
  const replicas = context.replicasOf(read.key);
  const endMs = read.completeMs as number;
  const lost = context.dataLosses.filter((loss) => loss.atMs >= write.invokeMs && loss.atMs <= endMs && replicas.includes(loss.nodeId)).length;
  const readLevel = read.phase === 'final' ? context.replicas : read.level;
  return readLevel + write.level - lost > context.replicas;
}

function describeStale(read: Operation, stale: { candidate: Explanation; newer: Operation }, context: HistoryCheckContext): Violation {
  const { candidate, newer } = stale;
  const trace = context.trace;
  const seen = trace.describeRead(read.read ?? { found: false });
  const source = candidate === initial ? 'nothing was written yet' : `written by op ${candidate.id}, which ended at t=${candidate.completeMs}`;
  const what = newer.kind === 'put' ? `put ${JSON.stringify(newer.value)}` : 'delete';
  const level = read.phase === 'final' ? 'after healing and repair' : `r=${read.level}, w=${newer.level}`;
  const message =
    `op ${read.id} (${read.phase} read via ${read.node}, began t=${read.invokeMs}) returned ${seen} (${source}); ` +
    `but op ${newer.id} ${what} began at t=${newer.invokeMs}, after that, and was acknowledged at t=${newer.completeMs} ` +
    `with version ${newer.version ? trace.describeVersion(newer.version) : '?'} (${level})`;
  const liveValue = read.read?.found === true && !read.read.tombstone;
  const kind = read.phase !== 'final' ? 'stale-read' : newer.kind === 'delete' && liveValue ? 'resurrected-delete' : 'lost-write';
  const involved = candidate === initial ? [read.id, newer.id] : [read.id, candidate.id, newer.id];
  return { kind, atMs: read.completeMs as number, key: read.key, message, operationIds: involved };
}

/**
 * Each coordinator process stamps its writes with increasing versions: a write invoked
 * after another write of the same process completed carries a larger version. (Writes that
 * overlap in time are not compared: a write refused as older is re-stamped while others run.)
 */
function checkVersionOrder(history: History, trace: Trace): Violation[] {
  const violations: Violation[] = [];
  const done = new Map<string, Operation[]>();
  const writes = history.operations
    .filter((operation) => operation.kind !== 'read' && operation.outcome === 'ok' && operation.version !== undefined)
    .sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  for (const operation of writes) {
    const process = `${operation.node}#${operation.incarnation}`;
    const earlier = (done.get(process) ?? []).filter((previous) => (previous.completeMs as number) < operation.invokeMs);
    let previous: Operation | undefined;
    for (const candidate of earlier) {
      if (previous === undefined || compareVersions(candidate.version as NonNullable<Operation['version']>, previous.version as NonNullable<Operation['version']>) > 0) {
        previous = candidate;
      }
    }
    if (previous?.version !== undefined && compareVersions(operation.version as NonNullable<Operation['version']>, previous.version) <= 0) {
      violations.push({
        kind: 'version-regression',
        atMs: operation.invokeMs,
        key: operation.key,
        message:
          `${operation.node} stamped op ${operation.id} (${operation.key}, invoked t=${operation.invokeMs}) with ${trace.describeVersion(operation.version as NonNullable<Operation['version']>)}, ` +
          `not above ${trace.describeVersion(previous.version)} of its op ${previous.id} (${previous.key}), which completed at t=${previous.completeMs} before it began`,
        operationIds: [previous.id, operation.id],
      });
    }
    done.set(process, [...(done.get(process) ?? []), operation]);
  }
  return violations;
}

/** After repair: every replica of each key holds the same version, and no other node holds it. */
export async function checkReplicas(cluster: InProcessCluster, keys: readonly string[], trace: Trace, nowMs: number): Promise<Violation[]> {
  const violations: Violation[] = [];
  const ring = (cluster.members.find((member) => member.up) ?? cluster.members[0])?.node.ring;
  if (ring === undefined) return violations;
  for (const key of keys) {
    const replicas = ring.preferenceList(key);
    // An expired value purged on one replica and not yet on another means the same: the key is gone.
    const atHlc = Math.max(...cluster.members.filter((member) => member.up).map((member) => member.node.hlc.peek()));
    const held: Array<[string, StoredRecord | undefined]> = [];
    // A node that left or was removed is gone with whatever its disk still holds, and so is
    // one that knows it has left and stops at the end of its settle period.
    for (const member of cluster.members) {
      const gone = member.retired || (member.up && member.node.membership.ringOf(member.nodeId) === 'left');
      if (!gone) held.push([member.nodeId, visibleAt(await member.engine.get(key), atHlc)]);
    }
    const onReplicas = held.filter(([nodeId]) => replicas.includes(nodeId));
    const first = onReplicas[0]?.[1];
    if (onReplicas.some(([, record]) => !sameRecord(record, first))) {
      const copies = onReplicas.map(([nodeId, record]) => `${nodeId}: ${trace.describeRecord(record)}`).join(', ');
      violations.push({ kind: 'divergent-replicas', atMs: nowMs, key, message: `replicas of ${key} disagree after repair: ${copies}`, operationIds: [] });
    }
    for (const [nodeId, record] of held) {
      if (record === undefined || replicas.includes(nodeId)) continue;
      violations.push({ kind: 'stray-copy', atMs: nowMs, key, message: `${nodeId} holds ${key} (${trace.describeRecord(record)}) but its replicas are ${replicas.join(', ')}`, operationIds: [] });
    }
  }
  return violations;
}

function sameRecord(a: StoredRecord | undefined, b: StoredRecord | undefined): boolean {
  // A purged tombstone and a tombstone not yet purged mean the same: the key is deleted.
  if (a === undefined || b === undefined) return (a ?? b) === undefined || (a ?? b)?.tombstone === true;
  return compareVersions(a, b) === 0 && a.tombstone === b.tombstone && JSON.stringify(a.value) === JSON.stringify(b.value);
}

/** Entries per page of the final scan: small, so that keys cross many page cuts. */
const scanPageEntries = 7;

/**
 * After repair, a cluster-wide scan (GET /cluster/keys, cluster/key-scan.ts) through one
 * running node, a small page at a time, against the members' engines read directly before
 * and after it: every key appears at most once, and a key whose newest copy held still
 * meanwhile is listed, as live or not, as that copy is (judged at the same HLC time).
 */
export async function checkScan(cluster: InProcessCluster, keys: readonly string[], nowMs: number): Promise<Violation[]> {
  // Through a member that serves: running, and normal in its own view (not one that has left and is stopping).
  const member = cluster.members.find((candidate) => candidate.up && !candidate.retired && candidate.node.membership.ringOf(candidate.nodeId) === 'normal');
  if (member === undefined) return [];
  const atHlc = member.node.hlc.now();
  const before = await newestCopies(cluster, keys);
  const violations: Violation[] = [];
  const scanned = new Map<string, StoredRecord>();
  let after: string | null = null;
  for (let pages = 0; pages < 10_000; pages++) {
    const page: ClusterScanPage = await cluster.settle(member.node.scanPage({ prefix: '', after, limit: scanPageEntries }));
    for (const [key, record] of page.entries) {
      if (scanned.has(key)) violations.push({ kind: 'scan-mismatch', atMs: nowMs, key, message: `the scan through ${member.nodeId} returned ${key} twice`, operationIds: [] });
      scanned.set(key, record);
    }
    if (page.next === null) break;
    after = page.next;
  }
  const afterScan = await newestCopies(cluster, keys);
  for (const key of keys) {
    const held = before.get(key);
    const later = afterScan.get(key);
    const steady = held === undefined ? later === undefined : later !== undefined && compareVersions(held, later) === 0;
    if (!steady) continue;
    const expected = isLiveAt(held, atHlc);
    const listed = scanned.get(key);
    if (expected === isLiveAt(listed, atHlc)) continue;
    violations.push({
      kind: 'scan-mismatch',
      atMs: nowMs,
      key,
      message: `the members hold ${key} ${expected ? 'live' : 'deleted or expired'} at ${held === undefined ? 'no version' : `${held.hlc}-${held.nodeId}`}, but the scan through ${member.nodeId} ${listed === undefined ? 'does not list it' : `returned ${listed.hlc}-${listed.nodeId}${isLiveAt(listed, atHlc) ? ' live' : ' deleted or expired'}`}`,
      operationIds: [],
    });
  }
  return violations;
}

/** The newest copy of each key among the running members' engines. */
async function newestCopies(cluster: InProcessCluster, keys: readonly string[]): Promise<Map<string, StoredRecord>> {
  const newest = new Map<string, StoredRecord>();
  for (const member of cluster.members) {
    // As checkReplicas: a node that left (or knows it has) is gone with what its disk holds.
    if (!member.up || member.retired || member.node.membership.ringOf(member.nodeId) === 'left') continue;
    for (const key of keys) {
      const record = await member.engine.get(key);
      const held = newest.get(key);
      if (record !== undefined && (held === undefined || compareVersions(record, held) > 0)) newest.set(key, record);
    }
  }
  return newest;
}
