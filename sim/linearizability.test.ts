// Feeds the linearizability checker of conditional writes small hand-written histories on
// one key and asserts it flags exactly the broken ones: two winners over one version, a
// serial read that goes back in time, a version nobody produced, a 412 naming a version
// that was never current while it ran; and accepts concurrent orders, unknown outcomes
// that took effect late, and keys whose replicas lost a disk.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { History, type DataLoss, type Operation, type Version } from './history.js';
import { checkLinearizable } from './linearizability.js';
import { Trace } from './trace.js';
import type { ViolationKind } from './violations.js';

const key = 'cas-0';
const version = (hlc: number, nodeId = 'n1'): Version => ({ hlc, nodeId });

/** A conditional put of `value` over `over` (null: If-None-Match), answered with `outcome`; an ok one gets `made` as its version. */
function cas(history: History, value: string, over: Version | null, invokeMs: number, completeMs: number, outcome: 'ok' | 'unknown' | 'failed', made?: Version): Operation {
  const condition = over === null ? { ifNoneMatch: true as const } : { ifMatch: over };
  const operation = history.invoke({ client: 'c1', kind: 'put', key, value, level: 2, node: 'n1', incarnation: 1, phase: 'workload', condition }, invokeMs);
  history.complete(operation, outcome, completeMs, outcome === 'ok' ? { version: made as Version, previous: over } : { reason: 'test' });
  return operation;
}

/** A 412: the condition failed on `current` (null: absent). */
function refused(history: History, value: string, over: Version | null, invokeMs: number, completeMs: number, current: { value: string; version: Version } | null): Operation {
  const condition = over === null ? { ifNoneMatch: true as const } : { ifMatch: over };
  const operation = history.invoke({ client: 'c2', kind: 'put', key, value, level: 2, node: 'n2', incarnation: 1, phase: 'workload', condition }, invokeMs);
  const read = current === null ? { found: false as const } : { found: true as const, tombstone: false, value: current.value, version: current.version };
  history.complete(operation, 'failed', completeMs, { reason: 'precondition failed', preconditionFailed: true, read });
  return operation;
}

function serialRead(history: History, seen: { value: string; version: Version } | null, invokeMs: number, completeMs: number): Operation {
  const operation = history.invoke({ client: 'c3', kind: 'read', key, level: 2, node: 'n3', incarnation: 1, phase: 'workload', serial: true }, invokeMs);
  const read = seen === null ? { found: false as const } : { found: true as const, tombstone: false, value: seen.value, version: seen.version };
  history.complete(operation, 'ok', completeMs, { read });
  return operation;
}

function kinds(history: History, dataLosses: DataLoss[] = []): ViolationKind[] {
  return checkLinearizable(history, { replicasOf: () => ['n1', 'n2', 'n3'], dataLosses, trace: new Trace(0) }).map((violation) => violation.kind);
}

describe('linearizability of conditional writes', () => {
  it('accepts a chain of writes with the reads and refusals that saw each version', () => {
    const history = new History();
    cas(history, 'a', null, 0, 10, 'ok', version(1));
    refused(history, 'x', null, 5, 12, { value: 'a', version: version(1) });
    serialRead(history, { value: 'a', version: version(1) }, 11, 15);
    cas(history, 'b', version(1), 16, 20, 'ok', version(2));
    serialRead(history, { value: 'b', version: version(2) }, 21, 22);
    assert.deepEqual(kinds(history), []);
  });

  it('flags two writes that won over the same version', () => {
    const history = new History();
    cas(history, 'a', null, 0, 10, 'ok', version(1));
    cas(history, 'b', version(1), 11, 20, 'ok', version(2));
    cas(history, 'c', version(1), 12, 21, 'ok', version(3, 'n2'));
    assert.deepEqual(kinds(history), ['double-win']);
  });

  it('flags a serial read that returns an older version after a newer one was read', () => {
    const history = new History();
    cas(history, 'a', null, 0, 10, 'ok', version(1));
    cas(history, 'b', version(1), 11, 20, 'ok', version(2));
    serialRead(history, { value: 'a', version: version(1) }, 25, 30);
    assert.deepEqual(kinds(history), ['not-linearizable']);
  });

  it('lets a concurrent read see either side of a write it overlaps', () => {
    const history = new History();
    cas(history, 'a', null, 0, 10, 'ok', version(1));
    cas(history, 'b', version(1), 11, 30, 'ok', version(2));
    serialRead(history, { value: 'b', version: version(2) }, 12, 14);
    serialRead(history, { value: 'a', version: version(1) }, 12, 16);
    // The read of a at 12, the write at 13, the read of b at 14.
    assert.deepEqual(kinds(history), []);
    serialRead(history, { value: 'a', version: version(1) }, 15, 16);
    assert.deepEqual(kinds(history), ['not-linearizable'], 'a read of a that began after a read of b ended');
  });

  it('places a write of unknown outcome where others saw it, even long after its client gave up', () => {
    const history = new History();
    cas(history, 'a', null, 0, 10, 'ok', version(1));
    cas(history, 'b', version(1), 11, 15, 'unknown');
    serialRead(history, { value: 'a', version: version(1) }, 16, 18);
    serialRead(history, { value: 'b', version: version(2) }, 40, 45);
    cas(history, 'c', version(2), 50, 60, 'ok', version(3));
    assert.deepEqual(kinds(history), []);
  });

  it('flags a version nobody produced, and a refusal naming a version that was gone before it began', () => {
    const ghost = new History();
    cas(ghost, 'a', null, 0, 10, 'ok', version(1));
    serialRead(ghost, { value: 'z', version: version(9) }, 20, 25);
    assert.deepEqual(kinds(ghost), ['not-linearizable']);
    const late = new History();
    cas(late, 'a', null, 0, 10, 'ok', version(1));
    cas(late, 'b', version(1), 11, 20, 'ok', version(2));
    refused(late, 'x', version(7), 30, 35, { value: 'a', version: version(1) });
    assert.deepEqual(kinds(late), ['not-linearizable']);
  });

  it('does not judge a key one of whose replicas lost its disk', () => {
    const history = new History();
    cas(history, 'a', null, 0, 10, 'ok', version(1));
    cas(history, 'b', version(1), 11, 20, 'ok', version(2));
    cas(history, 'c', version(1), 12, 21, 'ok', version(3, 'n2'));
    assert.deepEqual(kinds(history, [{ nodeId: 'n2', atMs: 15 }]), []);
  });
});
