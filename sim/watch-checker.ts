// The watch checker (docs/guarantees.md, "Watch"), judging what the watching client
// (watcher.ts) was told against the history:
// - once: no (key, version, kind) arrives twice, across every resume;
// - order: each key's changes arrive in version order (an expiry after its own put; an
//   expiry may follow the change of a newer write not acknowledged by a quorum);
// - real: every change names a write some client made (a put's value and version, a
//   delete, an expiry of a put with a ttl), never one refused as "nothing applied";
// - complete: every put or delete acknowledged at quorum or more, invoked after the watch
//   began, arrives, unless a write of the same key that may have superseded it at the
//   replicas (a version above it, or one unknown) was invoked before it completed, or a
//   replica of the key lost its disk (the write itself may be lost);
// - live: after healing, the watch's cursor passes every acknowledged write.
import { compareVersions } from '@ringkv/core';
import type { DataLoss, History, Operation, Version } from './history.js';
import type { Violation } from './violations.js';
import type { SimWatcher, WatchedChange } from './watcher.js';

export interface WatchCheckContext {
  replicas: number;
  replicasOf(key: string): readonly string[];
  dataLosses: readonly DataLoss[];
  atMs: number;
}

const sameVersion = (a: Version | undefined, b: Version) => a !== undefined && a.hlc === b.hlc && a.nodeId === b.nodeId;

export function checkWatch(watcher: SimWatcher, history: History, context: WatchCheckContext): Violation[] {
  const violations: Violation[] = [];
  const readyAtMs = watcher.readyAtMs;
  if (readyAtMs === undefined) return [{ kind: 'watch-stalled', atMs: context.atMs, message: 'the watch never began on any node', operationIds: [] }];
  const byKey = new Map<string, WatchedChange[]>();
  const seen = new Set<string>();
  for (const change of watcher.changes) {
    const id = `${change.key}\u0000${change.version.hlc}-${change.version.nodeId}\u0000${change.kind}`;
    if (seen.has(id)) violations.push({ kind: 'watch-duplicate', atMs: change.atMs, key: change.key, message: `${change.kind} of ${change.key} at ${change.version.hlc}-${change.version.nodeId} arrived twice`, operationIds: [] });
    seen.add(id);
    const list = byKey.get(change.key) ?? [];
    list.push(change);
    byKey.set(change.key, list);
  }
  const operations = history.byKey();
  for (const [key, changes] of byKey) {
    const writes = (operations.get(key) ?? []).filter((operation) => operation.kind !== 'read');
    for (let i = 1; i < changes.length; i++) {
      const previous = changes[i - 1] as WatchedChange;
      const change = changes[i] as WatchedChange;
      const order = compareVersions(change.version, previous.version);
      // A replica logs an expiry once a quorum read shows no newer version; a newer write
      // not acknowledged by a quorum (answered 504, or written at w=1) may sit on a minority
      // then, and its change arrive first.
      if (order < 0 && change.kind === 'expire' && !quorumAcknowledged(writeOf(previous, writes), context.replicas)) continue;
      if (order < 0 || (order === 0 && !(change.kind === 'expire' && previous.kind === 'put'))) {
        violations.push({ kind: 'watch-out-of-order', atMs: change.atMs, key, message: `${change.kind} of ${key} at ${change.version.hlc}-${change.version.nodeId} arrived after ${previous.kind} at ${previous.version.hlc}-${previous.version.nodeId}`, operationIds: [] });
      }
    }
    for (const change of changes) {
      const write = writeOf(change, writes);
      if (write === undefined) violations.push({ kind: 'watch-phantom', atMs: change.atMs, key, message: `${change.kind} of ${key} at ${change.version.hlc}-${change.version.nodeId} matches no write of a client`, operationIds: [] });
      else if (write.outcome === 'failed') violations.push({ kind: 'watch-phantom', atMs: change.atMs, key, message: `${change.kind} of ${key} arrived for a write refused with nothing applied`, operationIds: [write.id] });
    }
  }
  for (const [key, list] of operations) {
    const writes = list.filter((operation) => operation.kind !== 'read' && operation.phase === 'workload');
    const delivered = byKey.get(key) ?? [];
    for (const write of writes) {
      if (write.outcome !== 'ok' || write.version === undefined || write.invokeMs < readyAtMs) continue;
      // Conditional writes are Paxos rounds at a majority: judged like quorum writes.
      if (write.condition === undefined && write.level < Math.floor(context.replicas / 2) + 1) continue;
      if (write.preconditionFailed) continue;
      const version = write.version;
      if (delivered.some((change) => change.kind !== 'expire' && sameVersion(change.version, version))) continue;
      if (lostWithDisk(write, key, context)) continue;
      const superseder = writes.find(
        (other) =>
          other !== write &&
          other.outcome !== 'failed' &&
          !other.preconditionFailed &&
          other.invokeMs < (write.completeMs as number) &&
          (other.version === undefined || compareVersions(other.version, version) > 0),
      );
      if (superseder !== undefined) continue;
      violations.push({
        kind: 'watch-missed-change',
        atMs: write.completeMs as number,
        key,
        message: `the ${write.kind} of ${key} at ${version.hlc}-${version.nodeId} (w=${write.level}, acknowledged at ${write.completeMs} ms, after the watch began at ${readyAtMs} ms) never arrived`,
        operationIds: [write.id],
      });
    }
  }
  const newest = Math.max(0, ...history.operations.filter((operation) => operation.outcome === 'ok' && operation.version !== undefined).map((operation) => (operation.version as Version).hlc));
  if (watcher.resolvedAt() < newest) {
    violations.push({ kind: 'watch-stalled', atMs: context.atMs, message: `after healing, the watch's cursor (${watcher.resolvedAt()}) never passed the newest acknowledged write (${newest})`, operationIds: [] });
  }
  return violations;
}

/**
 * The write a change names: a put by its unique value, a delete by a delete of the key; one
 * not refused if there is such a write. A coordinator's earlier attempt at a write, which it
 * re-stamped because a replica held a newer version, may have landed first at an older
 * version than the one acknowledged.
 */
function writeOf(change: WatchedChange, writes: readonly Operation[]): Operation | undefined {
  const candidates = writes.filter((write) => {
    if (write.version !== undefined && compareVersions(change.version, write.version) > 0) return false;
    if (change.kind === 'delete') return write.kind === 'delete';
    return write.kind === 'put' && write.value === change.value && (change.kind === 'put' || write.ttlSeconds !== undefined);
  });
  return candidates.find((write) => write.outcome !== 'failed') ?? candidates[0];
}

/** A write acknowledged by a majority of its key's replicas: at quorum or more, or a conditional write. */
function quorumAcknowledged(write: Operation | undefined, replicas: number): boolean {
  return write !== undefined && write.outcome === 'ok' && (write.condition !== undefined || write.level >= Math.floor(replicas / 2) + 1);
}

/** A replica of the key lost its disk after the write began: the write itself may be gone. */
function lostWithDisk(write: Operation, key: string, context: WatchCheckContext): boolean {
  const replicas = context.replicasOf(key);
  return context.dataLosses.some((loss) => loss.atMs >= write.invokeMs && replicas.includes(loss.nodeId));
}
