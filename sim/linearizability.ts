// The linearizability checker of conditional writes and serial reads (the cas profile),
// per key. It is exact for this register, not a general search (Wing and Gong; Porcupine):
// every conditional write names the version it replaces (its If-Match, or "absent" for
// If-None-Match, as the node reported it), and every version is unique, so the writes that
// took effect form one chain from "absent", and a linearization can only follow that
// chain. The checks:
// - no two writes won over the same version (`double-win`);
// - every version anyone observed comes from a write in the chain, linked back to
//   "absent"; a write whose outcome the client never learned joins the chain when someone
//   observed its value or built on its version;
// - one point per operation, inside its interval, in chain order: each write, then the
//   serial reads and refused (412) writes that observed its version, before the next
//   write. Placing each at the earliest moment it can take (observers of one version in
//   order of their deadlines) finds such points whenever they exist (`not-linearizable`).
// A key one of whose replicas lost its disk is not judged: Paxos keeps its promises on
// disk, and a replica that forgot them can let two proposals be chosen (docs/guarantees.md).
import type { DataLoss, History, Operation, Version } from './history.js';
import type { Trace } from './trace.js';
import type { Violation } from './violations.js';

export interface LinearizabilityContext {
  replicasOf(key: string): readonly string[];
  dataLosses: readonly DataLoss[];
  trace: Trace;
}

/** A point in the chain: the write that made it (undefined for "absent") and the operations that saw it. */
interface ChainLink {
  name: string;
  write: Operation | undefined;
  observers: Operation[];
}

const absent = 'absent';

export function checkLinearizable(history: History, context: LinearizabilityContext): Violation[] {
  const violations: Violation[] = [];
  for (const [key, operations] of history.byKey()) {
    const judged = operations.filter((operation) => operation.condition !== undefined || operation.serial === true);
    if (judged.length === 0) continue;
    const replicas = context.replicasOf(key);
    if (context.dataLosses.some((loss) => replicas.includes(loss.nodeId))) continue;
    violations.push(...checkKey(key, judged, context.trace));
  }
  return violations;
}

function nameOf(version: Version | null | undefined): string {
  return version === null || version === undefined ? absent : `${version.hlc}@${version.nodeId}`;
}

/** What a serial read or a refused write saw: a version, or "absent" (a tombstone counts as absent to If-None-Match, but is a version here). */
function observedName(operation: Operation): string | undefined {
  const read = operation.read;
  if (read === undefined) return undefined;
  return read.found ? nameOf(read.version) : absent;
}

function checkKey(key: string, operations: readonly Operation[], trace: Trace): Violation[] {
  const violations: Violation[] = [];
  const at = (operation: Operation) => operation.completeMs ?? operation.invokeMs;
  // Versions observed by value, so a write of unknown outcome can be named by its version.
  const versionOfValue = new Map<unknown, Version>();
  for (const operation of operations) {
    if (operation.read?.found === true && !operation.read.tombstone) versionOfValue.set(operation.read.value, operation.read.version);
  }
  // The writes that took effect: acknowledged ones, and unknown ones somebody observed.
  const winners = new Map<string, Operation>();
  const versionOf = new Map<Operation, string>();
  const previousOf = new Map<Operation, string>();
  for (const operation of operations) {
    if (operation.condition === undefined) continue;
    let version: Version | undefined;
    if (operation.outcome === 'ok') version = operation.version;
    else if (operation.outcome === 'unknown') version = versionOfValue.get(operation.value);
    if (version === undefined) continue;
    const previous = operation.condition.ifMatch !== undefined ? nameOf(operation.condition.ifMatch) : nameOf(operation.previous ?? null);
    const rival = winners.get(previous);
    if (rival !== undefined) {
      violations.push({
        kind: 'double-win',
        atMs: at(operation),
        key,
        message: `op ${rival.id} and op ${operation.id} both won over version ${previous} of ${key} (as versions ${versionOf.get(rival) ?? '?'} and ${nameOf(version)})`,
        operationIds: [rival.id, operation.id],
      });
      continue;
    }
    winners.set(previous, operation);
    versionOf.set(operation, nameOf(version));
    previousOf.set(operation, previous);
  }
  if (violations.length > 0) return violations;
  // Walk the chain from "absent".
  const chain: ChainLink[] = [{ name: absent, write: undefined, observers: [] }];
  const position = new Map<string, number>([[absent, 0]]);
  for (let link = winners.get(absent); link !== undefined; link = winners.get(versionOf.get(link) as string)) {
    const name = versionOf.get(link) as string;
    if (position.has(name)) break;
    position.set(name, chain.length);
    chain.push({ name, write: link, observers: [] });
  }
  for (const [previous, write] of winners) {
    if (!position.has(versionOf.get(write) as string)) {
      violations.push({
        kind: 'not-linearizable',
        atMs: at(write),
        key,
        message: `op ${write.id} won over version ${previous} of ${key}, which no write in the chain from "absent" produced`,
        operationIds: [write.id],
      });
    }
  }
  for (const operation of operations) {
    const seen = operation.serial === true && operation.outcome === 'ok' ? observedName(operation) : operation.preconditionFailed === true ? observedName(operation) : undefined;
    if (seen === undefined) continue;
    const index = position.get(seen);
    if (index === undefined) {
      violations.push({
        kind: 'not-linearizable',
        atMs: at(operation),
        key,
        message: `op ${operation.id} saw version ${seen} of ${key}, which no write in the chain produced`,
        operationIds: [operation.id],
      });
      continue;
    }
    (chain[index] as ChainLink).observers.push(operation);
  }
  if (violations.length > 0) return violations;
  // The earliest moment each operation can take, in chain order.
  let nowMs = -Infinity;
  let last: Operation | undefined;
  for (const link of chain) {
    const steps = [...(link.write !== undefined ? [link.write] : []), ...link.observers.sort((a, b) => deadline(a) - deadline(b))];
    for (const operation of steps) {
      nowMs = Math.max(nowMs, operation.invokeMs);
      if (nowMs > deadline(operation)) {
        const before = last === undefined ? '' : `; op ${last.id} must come before it`;
        violations.push({
          kind: 'not-linearizable',
          atMs: at(operation),
          key,
          message: `op ${operation.id} (${trace.describeOperation(operation)}, t=${operation.invokeMs}..${operation.completeMs}) at version ${link.name} of ${key} cannot be ordered after what the chain puts first${before} (t=${nowMs})`,
          operationIds: last === undefined ? [operation.id] : [last.id, operation.id],
        });
        return violations;
      }
      last = operation;
    }
  }
  return violations;
}

/** The latest moment an operation can have taken effect: its answer, or never for an unknown outcome. */
function deadline(operation: Operation): number {
  return operation.outcome === 'unknown' ? Infinity : (operation.completeMs as number);
}
