// Checks a chaos run's history of single-writer keys: every successful read (the workers'
// own and the final ones after healing) must return a state the writes allow. A key's ops
// come from one worker, one at a time, so they are totally ordered in time and the rules
// are exact:
// - a write that failed definitely (503, 4xx, refused connection) is never visible;
// - a write Y that was certainly applied (acknowledged, or seen by a read) before a read
//   began, and that began after write X's version was fixed, hides X from that read:
//   returning X is a lost acknowledged write (or a deleted key coming back);
// - X's version is fixed by the time X's answer arrived (ok, 504), but a request that got
//   no answer (timeout, lost connection) may still be coordinated later, so it may beat
//   any later write until a read has seen its value (then its version exists);
// - a read that returns X's value returns the version X's acknowledgement named.
// Pure: no I/O, so it is unit-tested with hand-made histories.
import type { OperationRecord } from './chaos-workload.js';

export type ViolationKind = 'refused-write-visible' | 'stale-read' | 'foreign-value' | 'version-mismatch' | 'replicas-diverge';

export interface Violation {
  key: string;
  kind: ViolationKind;
  message: string;
  /** The operations involved, oldest first. */
  operationIds: number[];
}

/** A write as far as its answer and the reads of its key have pinned it down. */
interface WriteState {
  op: OperationRecord;
  /** Its version was chosen no later than this (Infinity: maybe not chosen yet). */
  versionFixedByMs: number;
  /** It is acknowledged, so on a quorum, from this time on (Infinity: not certain). */
  appliedByMs: number;
}

export function checkHistory(operations: readonly OperationRecord[]): Violation[] {
  const byKey = new Map<string, OperationRecord[]>();
  for (const op of operations) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  const violations: Violation[] = [];
  for (const [key, ops] of byKey) violations.push(...checkKey(key, [...ops].sort((a, b) => a.startMs - b.startMs || a.id - b.id)));
  return violations;
}

function checkKey(key: string, ops: readonly OperationRecord[]): Violation[] {
  assertSequential(key, ops);
  const writes = new Map<number, WriteState>();
  const violations: Violation[] = [];
  for (const op of ops) {
    if (op.kind !== 'get') {
      writes.set(op.id, writeStateOf(op));
      continue;
    }
    if (op.outcome !== 'ok') continue;
    const violation = checkRead(key, op, writes);
    if (violation) violations.push(violation);
  }
  return violations;
}

function writeStateOf(op: OperationRecord): WriteState {
  const answered = op.status !== undefined;
  return {
    op,
    versionFixedByMs: op.outcome === 'failed' || answered ? op.endMs : Infinity,
    appliedByMs: op.outcome === 'ok' ? op.endMs : Infinity,
  };
}

function checkRead(key: string, read: OperationRecord, writes: Map<number, WriteState>): Violation | undefined {
  if (read.observedForeign !== undefined) {
    return { key, kind: 'foreign-value', message: `read #${read.id} on ${read.node} returned a value no write made: ${read.observedForeign}`, operationIds: [read.id] };
  }
  if (read.observed === null || read.observed === undefined) return checkAbsentRead(key, read, writes);
  const seen = writes.get(read.observed);
  if (seen === undefined || seen.op.kind !== 'put' || seen.op.startMs > read.startMs) {
    return { key, kind: 'foreign-value', message: `read #${read.id} returned the value of op #${read.observed}, which is no earlier put of this key`, operationIds: [read.id] };
  }
  if (seen.op.outcome === 'failed') {
    return {
      key,
      kind: 'refused-write-visible',
      message: `read #${read.id} on ${read.node} returned the value of put #${seen.op.id}, which was refused (${describeOutcome(seen.op)}): a refused write was applied`,
      operationIds: [seen.op.id, read.id],
    };
  }
  if (seen.op.outcome === 'ok' && seen.op.version !== undefined && read.version !== seen.op.version) {
    return {
      key,
      kind: 'version-mismatch',
      message: `read #${read.id} returned put #${seen.op.id}'s value with version ${read.version}, but the put was acknowledged as ${seen.op.version}`,
      operationIds: [seen.op.id, read.id],
    };
  }
  const hider = hidingWrite(seen.versionFixedByMs, seen.op.id, read, writes);
  if (hider) {
    return {
      key,
      kind: 'stale-read',
      message:
        `read #${read.id} on ${read.node} at ${read.startMs} ms returned put #${seen.op.id} (${describeOutcome(seen.op)}), ` +
        `but ${hider.op.kind} #${hider.op.id} (${describeOutcome(hider.op)}) began after it and was applied by ${hider.appliedByMs} ms: an acknowledged write was lost`,
      operationIds: [seen.op.id, hider.op.id, read.id],
    };
  }
  // The read proves the put's version was chosen by now. It does not prove the put is on a
  // quorum (an unacknowledged put may sit on one replica), so a later read may still miss
  // it: ringkv promises the last acknowledged write, not monotonic reads of the others.
  seen.versionFixedByMs = Math.min(seen.versionFixedByMs, read.endMs);
  return undefined;
}

/** Absent is fine if the initial state or some delete that may have been applied is not hidden. */
function checkAbsentRead(key: string, read: OperationRecord, writes: Map<number, WriteState>): Violation | undefined {
  const sources: Array<{ fixedByMs: number; id: number }> = [{ fixedByMs: -Infinity, id: 0 }];
  for (const state of writes.values()) {
    if (state.op.kind === 'delete' && state.op.outcome !== 'failed') sources.push({ fixedByMs: state.versionFixedByMs, id: state.op.id });
  }
  let hider: WriteState | undefined;
  for (const source of sources) {
    hider = hidingWrite(source.fixedByMs, source.id, read, writes);
    if (!hider) return undefined;
  }
  // Nothing allowed explains the absence; a refused delete that took effect might.
  for (const state of writes.values()) {
    if (state.op.kind !== 'delete' || state.op.outcome !== 'failed' || hidingWrite(state.versionFixedByMs, state.op.id, read, writes)) continue;
    return {
      key,
      kind: 'refused-write-visible',
      message: `read #${read.id} on ${read.node} found the key absent, which only delete #${state.op.id} explains, and that delete was refused (${describeOutcome(state.op)}): a refused write was applied`,
      operationIds: [state.op.id, read.id],
    };
  }
  const latest = [...writes.values()].filter((state) => state.appliedByMs <= read.startMs).at(-1) ?? hider;
  return {
    key,
    kind: 'stale-read',
    message: `read #${read.id} on ${read.node} at ${read.startMs} ms found the key absent, but ${latest?.op.kind} #${latest?.op.id} (${latest ? describeOutcome(latest.op) : ''}) was applied by ${latest?.appliedByMs} ms: an acknowledged write was lost`,
    operationIds: [latest?.op.id ?? 0, read.id],
  };
}

/** A write, other than `sourceId`, certainly applied before the read began and begun after `fixedByMs`. */
function hidingWrite(fixedByMs: number, sourceId: number, read: OperationRecord, writes: Map<number, WriteState>): WriteState | undefined {
  let found: WriteState | undefined;
  for (const state of writes.values()) {
    if (state.op.id === sourceId || state.op.startMs > read.startMs) continue;
    if (state.appliedByMs <= read.startMs && state.op.startMs > fixedByMs) found = state;
  }
  return found;
}

/** Single-writer keys: each operation starts after the previous one ended. */
function assertSequential(key: string, ops: readonly OperationRecord[]): void {
  for (let i = 1; i < ops.length; i++) {
    const previous = ops[i - 1] as OperationRecord;
    const current = ops[i] as OperationRecord;
    if (current.startMs < previous.endMs) {
      throw new Error(`history of ${key} is not sequential: op #${current.id} began at ${current.startMs} ms before op #${previous.id} ended at ${previous.endMs} ms`);
    }
  }
}

export function describeOutcome(op: OperationRecord): string {
  const status = op.status === undefined ? '' : ` ${op.status}`;
  const detail = op.detail ? `, ${op.detail.slice(0, 120)}` : '';
  return `${op.outcome}${status} via ${op.node} ${op.startMs}..${op.endMs} ms${detail}`;
}

/**
 * One line per operation on `key`, for failure reports: with `around`, only the operations
 * within `context` places of those ids (the rest elided), else all of them.
 */
export function describeKeyHistory(operations: readonly OperationRecord[], key: string, around: readonly number[] = [], context = 4): string {
  const ops = operations.filter((op) => op.key === key);
  const positions = around.map((id) => ops.findIndex((op) => op.id === id)).filter((position) => position >= 0);
  const shown = (position: number) => positions.length === 0 || positions.some((near) => Math.abs(near - position) <= context);
  const lines: string[] = [];
  ops.forEach((op, position) => {
    if (!shown(position)) {
      if (lines.at(-1) !== '  ...') lines.push('  ...');
      return;
    }
    const seen = op.kind === 'get' && op.outcome === 'ok' ? ` -> ${op.observed === null ? 'absent' : op.observed === undefined ? `foreign ${op.observedForeign}` : `put #${op.observed}`}` : '';
    const version = op.version ? ` version ${op.version}` : '';
    const reader = op.worker < 0 ? ' (final check)' : '';
    lines.push(`  #${op.id} ${op.kind}${reader} ${describeOutcome(op)}${version}${seen}`);
  });
  return lines.join('\n');
}
