// Feeds the history checker small hand-written histories on one key (N=3) and asserts it
// flags exactly the broken ones: stale and lost reads, resurrected deletes, phantom and
// refused values, version regressions; and accepts what the guarantees allow (R + W <= N,
// concurrent writes, replicas that lost their disk).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory } from './checkers.js';
import { History, type DataLoss, type Operation, type OperationPhase } from './history.js';
import { Trace } from './trace.js';
import type { ViolationKind } from './violations.js';

const key = 'k';

function historyOf(): History {
  return new History();
}

function write(history: History, kind: 'put' | 'delete', value: string | undefined, level: number, invokeMs: number, completeMs: number, outcome: 'ok' | 'unknown' | 'failed' = 'ok', node = 'n1'): Operation {
  const operation = history.invoke({ client: 'c1', kind, key, ...(value !== undefined ? { value } : {}), level, node, incarnation: 1, phase: 'workload' }, invokeMs);
  history.complete(operation, outcome, completeMs, outcome === 'ok' ? { version: { hlc: invokeMs * 1024, nodeId: node } } : { reason: 'test' });
  return operation;
}

/** A read that saw `seen`; a tombstone carries the version of the write that made it (by default one of an ack at t=10). */
function read(history: History, seen: string | 'absent' | 'tombstone', level: number, invokeMs: number, completeMs: number, phase: OperationPhase = 'workload', version = { hlc: 10 * 1024, nodeId: 'n1' }): Operation {
  const operation = history.invoke({ client: 'c2', kind: 'read', key, level, node: 'n2', incarnation: 1, phase }, invokeMs);
  const found = seen === 'absent' ? { found: false as const } : { found: true as const, tombstone: seen === 'tombstone', value: seen === 'tombstone' ? undefined : seen, version };
  history.complete(operation, 'ok', completeMs, { read: found });
  return operation;
}

function kinds(history: History, dataLosses: DataLoss[] = []): ViolationKind[] {
  return checkHistory(history, { replicas: 3, replicasOf: () => ['n1', 'n2', 'n3'], dataLosses, trace: new Trace(0) }).map((violation) => violation.kind);
}

/** A quorum put of `value` at t=0..5 with a ttl, its expiry at `expiresAtMs`; and a read that judged expiry between `afterMs` and `beforeMs`. */
function expiringHistory(seen: 'value' | 'expired' | 'absent', afterMs: number, beforeMs: number, expiresAtMs = 100): History {
  const history = historyOf();
  const put = history.invoke({ client: 'c1', kind: 'put', key, value: 'v', level: 2, node: 'n1', incarnation: 1, phase: 'workload', ttlSeconds: 0.1 }, 0);
  const version = { hlc: 0, nodeId: 'n1' };
  history.complete(put, 'ok', 5, { version, expiresAt: expiresAtMs * 1024 });
  const operation = history.invoke({ client: 'c2', kind: 'read', key, level: 2, node: 'n2', incarnation: 1, phase: 'workload' }, afterMs);
  operation.expiryJudgedAfter = afterMs * 1024;
  const found =
    seen === 'absent' ? { found: false as const } : { found: true as const, tombstone: seen === 'expired', value: seen === 'expired' ? undefined : 'v', version, expiresAt: expiresAtMs * 1024 };
  history.complete(operation, 'ok', beforeMs, { read: found, expiryJudgedBefore: beforeMs * 1024 });
  return history;
}

describe('history checker', () => {
  it('flags a value read after its coordinator\'s clock passed its expiry, and an expiry reported before the clock reached it', () => {
    assert.deepEqual(kinds(expiringHistory('value', 100, 110)), ['expired-value-read']);
    assert.deepEqual(kinds(expiringHistory('expired', 50, 60)), ['premature-expiry']);
    assert.deepEqual(kinds(expiringHistory('absent', 50, 60)), ['stale-read'], 'absent before the expiry: the put was missed');
  });

  it('accepts a value read before its expiry, and an expired or purged value after it', () => {
    assert.deepEqual(kinds(expiringHistory('value', 50, 120)), [], 'the clock may not have reached the expiry yet');
    assert.deepEqual(kinds(expiringHistory('expired', 90, 120)), []);
    assert.deepEqual(kinds(expiringHistory('absent', 150, 160)), []);
  });

  it('flags a quorum read that misses a quorum write acknowledged before it began', () => {
    const history = historyOf();
    write(history, 'put', 'a', 2, 0, 5);
    write(history, 'put', 'b', 2, 10, 15);
    read(history, 'a', 2, 20, 25);
    assert.deepEqual(kinds(history), ['stale-read']);
  });

  it('accepts that read at R + W <= N, or when the newer write was still in flight', () => {
    const weak = historyOf();
    write(weak, 'put', 'a', 1, 0, 5);
    write(weak, 'put', 'b', 1, 10, 15);
    read(weak, 'a', 2, 20, 25);
    assert.deepEqual(kinds(weak), []);
    const overlapping = historyOf();
    write(overlapping, 'put', 'a', 2, 0, 5);
    write(overlapping, 'put', 'b', 2, 10, 30);
    read(overlapping, 'a', 2, 20, 25);
    assert.deepEqual(kinds(overlapping), []);
  });

  it('accepts either value of two concurrent writes, but not the initial state after both', () => {
    const history = historyOf();
    write(history, 'put', 'a', 2, 0, 10, 'ok', 'n1');
    write(history, 'put', 'b', 2, 5, 12, 'ok', 'n2');
    read(history, 'a', 2, 20, 25);
    read(history, 'b', 2, 20, 25);
    assert.deepEqual(kinds(history), []);
    read(history, 'absent', 2, 30, 35);
    assert.deepEqual(kinds(history), ['stale-read']);
  });

  it('flags an acknowledged write missing after healing, unless the replicas that held it lost their disks', () => {
    const history = historyOf();
    write(history, 'put', 'a', 1, 0, 5);
    write(history, 'put', 'b', 1, 10, 15);
    read(history, 'a', 2, 100, 105, 'final');
    assert.deepEqual(kinds(history), ['lost-write']);
    assert.deepEqual(kinds(history, [{ nodeId: 'n3', atMs: 50 }]), [], 'with W=1, one lost disk may take the write with it');
    assert.deepEqual(kinds(history, [{ nodeId: 'n3', atMs: 5 }]), ['lost-write'], 'a disk lost before the write began cannot excuse it');
  });

  it('excuses a quorum read that missed a quorum write when a replica lost its disk before the read ended', () => {
    const history = historyOf();
    write(history, 'put', 'a', 2, 0, 5);
    write(history, 'put', 'b', 2, 10, 15);
    read(history, 'a', 2, 20, 60);
    assert.deepEqual(kinds(history, [{ nodeId: 'n2', atMs: 40 }]), []);
    assert.deepEqual(kinds(history, [{ nodeId: 'n2', atMs: 61 }]), ['stale-read']);
  });

  it('flags a deleted key that comes back, but not one rewritten after its delete', () => {
    const history = historyOf();
    write(history, 'put', 'a', 2, 0, 5);
    write(history, 'delete', undefined, 2, 10, 15);
    read(history, 'a', 2, 100, 105, 'final');
    assert.deepEqual(kinds(history), ['resurrected-delete']);
    const rewritten = historyOf();
    write(rewritten, 'put', 'a', 2, 0, 5);
    write(rewritten, 'delete', undefined, 2, 10, 15);
    write(rewritten, 'put', 'c', 2, 20, 25, 'unknown');
    read(rewritten, 'c', 2, 100, 105, 'final');
    read(rewritten, 'tombstone', 2, 100, 105, 'final');
    assert.deepEqual(kinds(rewritten), []);
  });

  it('lets a write of unknown outcome land after a later acknowledged write only if its version is above it', () => {
    // The coordinator of 'a' crashed with copies in flight; its clock ran ahead of the next coordinator's.
    const ahead = historyOf();
    write(ahead, 'put', 'a', 2, 0, 5, 'unknown');
    write(ahead, 'put', 'b', 2, 10, 15, 'ok', 'n2');
    read(ahead, 'a', 2, 100, 105, 'final', { hlc: 20 * 1024, nodeId: 'n1' });
    assert.deepEqual(kinds(ahead), []);
    const behind = historyOf();
    write(behind, 'put', 'a', 2, 0, 5, 'unknown');
    write(behind, 'put', 'b', 2, 10, 15, 'ok', 'n2');
    read(behind, 'a', 2, 100, 105, 'final', { hlc: 1024, nodeId: 'n1' });
    assert.deepEqual(kinds(behind), ['lost-write'], 'stamped below the acknowledged write, it cannot have won');
  });

  it('names a tombstone by its version: one from a refused delete is not excused by an older acknowledged one', () => {
    const history = historyOf();
    write(history, 'delete', undefined, 2, 0, 5);
    write(history, 'put', 'a', 2, 10, 15);
    write(history, 'delete', undefined, 3, 20, 21, 'failed');
    read(history, 'tombstone', 2, 30, 35, 'workload', { hlc: 20 * 1024, nodeId: 'n1' });
    assert.deepEqual(kinds(history), ['refused-write-visible']);
  });

  it('flags values nobody wrote, values written only by refused requests, and values from the future', () => {
    const history = historyOf();
    write(history, 'put', 'refused', 2, 0, 5, 'failed');
    read(history, 'never-written', 2, 10, 15);
    read(history, 'refused', 2, 10, 15);
    write(history, 'put', 'later', 2, 30, 35);
    read(history, 'later', 2, 20, 25);
    assert.deepEqual(kinds(history), ['phantom-value', 'refused-write-visible', 'phantom-value']);
  });

  it('flags a coordinator process that stamps a later write with a version not above an earlier one', () => {
    const history = historyOf();
    const first = write(history, 'put', 'a', 2, 10, 15);
    const second = write(history, 'put', 'b', 2, 20, 25);
    second.version = { hlc: (first.version?.hlc ?? 0) - 1, nodeId: 'n1' };
    assert.ok(kinds(history).includes('version-regression'));
  });
});
