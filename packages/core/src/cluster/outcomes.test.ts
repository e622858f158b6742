// Checks the precedence of a failed write's answer (504 > 507 > 503) with a table of mixed
// replica failures, and that the coordinator gives it for replicas whose disks are full.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HybridLogicalClock } from '../clock/hlc.js';
import type { PeerReply, PutReply } from '../protocol/messages.js';
import { expectReply, type Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { Ring } from '../ring/ring.js';
import { SeededRng } from '../rng.js';
import { StorageFullError } from '../storage/storage-errors.js';
import { afterSupersededAttempts, Coordinator } from './coordinator.js';
import { InsufficientStorageError, OutcomeUnknownError, UnavailableError, writeFailureAnswer, type ReplicaFailure, type WriteFailureAnswer } from './outcomes.js';

const down = (nodeId: string): ReplicaFailure => ({ nodeId, reason: 'down' });
const full = (nodeId: string): ReplicaFailure => ({ nodeId, reason: 'storage-full: no space', storageFull: true });
const timeout = (nodeId: string): ReplicaFailure => ({ nodeId, reason: 'timeout' });
const refused = (nodeId: string): ReplicaFailure => ({ nodeId, reason: 'clock-skew: too far ahead' });

describe('writeFailureAnswer', () => {
  const table: Array<{ name: string; acks: number; maybeApplied: boolean; failures: ReplicaFailure[]; answer: WriteFailureAnswer }> = [
    { name: 'every replica down', acks: 0, maybeApplied: false, failures: [down('a'), down('b'), down('c')], answer: 'unavailable' },
    { name: 'refusals without a full disk', acks: 0, maybeApplied: false, failures: [refused('a'), down('b')], answer: 'unavailable' },
    { name: 'every replica full', acks: 0, maybeApplied: false, failures: [full('a'), full('b'), full('c')], answer: 'insufficient-storage' },
    { name: 'one full, the others down', acks: 0, maybeApplied: false, failures: [full('a'), down('b'), down('c')], answer: 'insufficient-storage' },
    { name: 'one full, one refused', acks: 0, maybeApplied: false, failures: [refused('a'), full('b')], answer: 'insufficient-storage' },
    { name: 'one acked, the others full', acks: 1, maybeApplied: false, failures: [full('b'), full('c')], answer: 'outcome-unknown' },
    { name: 'a timeout beside full disks', acks: 0, maybeApplied: true, failures: [timeout('a'), full('b'), full('c')], answer: 'outcome-unknown' },
    { name: 'a timeout beside down replicas', acks: 0, maybeApplied: true, failures: [timeout('a'), down('b')], answer: 'outcome-unknown' },
    { name: 'acks short of W, no failure listed', acks: 2, maybeApplied: false, failures: [], answer: 'outcome-unknown' },
  ];
  for (const row of table) {
    it(`${row.name} → ${row.answer}`, () => {
      assert.equal(writeFailureAnswer(row.acks, row.maybeApplied, row.failures), row.answer);
    });
  }
});

describe('Coordinator with full replicas', () => {
  let hash: KeyHasher;
  before(async () => {
    hash = await loadKeyHasher();
  });

  /** n1 coordinates; its own disk is full. Remote replicas in `fullPeers` answer storage-full, the others ack. */
  function coordinator(fullPeers: ReadonlySet<string>): { coordinator: Coordinator; hinted: string[] } {
    const ring = new Ring({ nodeIds: ['n1', 'n2', 'n3'], vnodes: 8, replicas: 3, hash });
    const transport: Transport = {
      request: async (address) => {
        const nodeId = address.split(':')[0] as string;
        const reply: PeerReply = fullPeers.has(nodeId) ? { type: 'failure', code: 'storage-full', message: `${nodeId}: no space left` } : { type: 'putAck', applied: true };
        return expectReply<PutReply>(reply, 'putAck') as never;
      },
    };
    const hinted: string[] = [];
    return {
      hinted,
      coordinator: new Coordinator({
        selfId: 'n1',
        placement: () => ({ read: ring, target: ring, writes: [ring], transition: 0, settling: [] }),
        addressOf: (nodeId) => `${nodeId}:1`,
        isAvailable: () => true,
        local: { put: () => Promise.reject(new StorageFullError('n1: no space left')), get: async () => undefined },
        transport,
        hlc: new HybridLogicalClock(() => 1_000_000),
        rng: new SeededRng(1),
        hints: {
          hold: async (target) => {
            hinted.push(target);
            return true;
          },
        },
      }),
    };
  }

  it('meets W on the replicas with room, and hints the full one', async () => {
    const { coordinator: subject, hinted } = coordinator(new Set());
    const written = await subject.put('k', 'v', 2);
    assert.equal(written.acks, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(hinted, ['n1']);
  });

  it('answers 507 naming every full replica when none applied the write, and leaves no hint', async () => {
    const { coordinator: subject, hinted } = coordinator(new Set(['n2', 'n3']));
    const error = await subject.put('k', 'v', 2).then(
      () => assert.fail('the write must fail'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof InsufficientStorageError, String(error));
    assert.deepEqual([...error.fullNodes].sort(), ['n1', 'n2', 'n3']);
    assert.match(error.message, /nothing was written/);
    assert.deepEqual(hinted, [], 'a write applied nowhere leaves no hint');
  });

  it('answers 504 when a replica applied it but W was missed because of full ones', async () => {
    const { coordinator: subject } = coordinator(new Set(['n3']));
    const error = await subject.put('k', 'v', 3).then(
      () => assert.fail('the write must fail'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof OutcomeUnknownError, String(error));
    assert.match(error.message, /out of disk space/);
  });
});

describe('a write re-stamped after a newer version', () => {
  it('never says "nothing written" after an earlier attempt: 503 and 507 of a later attempt become 504 (simulator seed 703110)', () => {
    const failures: ReplicaFailure[] = [{ nodeId: 'n1', reason: 'storage-full', storageFull: true }];
    assert.ok(afterSupersededAttempts(new InsufficientStorageError('full', 2, failures), 2) instanceof OutcomeUnknownError);
    assert.ok(afterSupersededAttempts(new UnavailableError('down', 2, failures), 3) instanceof OutcomeUnknownError);
    const unknown = new OutcomeUnknownError('timeout', 2, 1, failures);
    assert.equal(afterSupersededAttempts(unknown, 2), unknown);
  });
});
