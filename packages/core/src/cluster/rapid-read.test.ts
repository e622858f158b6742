// Drives the coordinator's quorum reads on a virtual clock over a scripted transport in
// which one replica is frozen (never answers; its requests time out) or slow, and checks
// rapid read protection: a read asks one more replica after the speculative wait instead
// of waiting out the read timeout, later reads ask the frozen replica last, and writes
// (sent to all N, answered on W) never wait for it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HybridLogicalClock } from '../clock/hlc.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { PeerError, type Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { Ring } from '../ring/ring.js';
import { SeededRng } from '../rng.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { compareVersions } from '../storage/record.js';
import { Coordinator, type CoordinatorOptions, type LocalReplica } from './coordinator.js';
import { OutcomeUnknownError, ReadFailedError } from './outcomes.js';
import { localReplicaOf } from './peer-handler.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const readTimeoutMs = 2000;

interface Harness {
  clock: VirtualClock;
  coordinator: Coordinator;
  /** Remote requests sent, by node id. */
  sent: Map<string, number>;
  speculations: () => number;
  /** Remote replicas in the key's preference order (the first is asked first). */
  remotes: string[];
  stores: Map<string, MemoryEngine>;
}

/** n1 coordinates; `latencyMsOf` gives each remote's answer time, undefined for a frozen one. */
function harness(
  key: string,
  latencyMsOf: (nodeId: string, remotes: string[]) => number | undefined,
  options: Partial<CoordinatorOptions> = {},
  local?: LocalReplica,
): Harness {
  const clock = new VirtualClock();
  const ring = new Ring({ nodeIds: ['n1', 'n2', 'n3'], vnodes: 8, replicas: 3, hash });
  const remotes = ring.preferenceList(key).filter((nodeId) => nodeId !== 'n1');
  const stores = new Map(['n2', 'n3'].map((nodeId) => [nodeId, new MemoryEngine(hash)]));
  const sent = new Map<string, number>();
  let speculations = 0;
  const transport: Transport = {
    request: (address, body, timeoutMs) => {
      const nodeId = address.split(':')[0] as string;
      sent.set(nodeId, (sent.get(nodeId) ?? 0) + 1);
      const latencyMs = latencyMsOf(nodeId, remotes);
      return new Promise((resolve, reject) => {
        if (latencyMs === undefined || latencyMs >= timeoutMs) {
          clock.setTimer(timeoutMs, () => reject(new PeerError('timeout', `no reply from ${nodeId} within ${timeoutMs} ms`, true)));
          return;
        }
        clock.setTimer(latencyMs, () => {
          const store = stores.get(nodeId) as MemoryEngine;
          if (body.type === 'get') void store.get(body.key).then((record) => resolve({ type: 'getReply', record: record ?? null } as never));
          else if (body.type === 'put') {
            // As the replica handler answers: a version it refuses as older comes back with the newer one's HLC.
            void store.apply(body.key, body.record).then((outcome) => {
              const newer = !outcome.applied && compareVersions(outcome.current, body.record) > 0;
              resolve({ type: 'putAck', applied: outcome.applied, ...(newer ? { newerHlc: outcome.current.hlc } : {}) } as never);
            });
          }
          else reject(new PeerError('remote-failure', `unexpected ${body.type}`, false));
        });
      });
    },
  };
  const hlc = new HybridLogicalClock(() => clock.nowMs());
  const coordinator = new Coordinator(
    {
      selfId: 'n1',
      placement: () => ({ read: ring, target: ring, writes: [ring], transition: 0, settling: [] }),
      addressOf: (nodeId) => `${nodeId}:1`,
      isAvailable: () => true,
      local: local ?? localReplicaOf({ engine: new MemoryEngine(hash), hlc }),
      transport,
      hlc,
      rng: new SeededRng(1),
      clock,
      events: { speculativeRead: () => speculations++ },
    },
    { readTimeoutMs, writeTimeoutMs: readTimeoutMs, readRepairChance: 0, ...options },
  );
  return { clock, coordinator, sent, speculations: () => speculations, remotes, stores };
}

/** Runs virtual time until the operation settles; returns how long it took and its outcome. */
async function timed<T>(clock: VirtualClock, operation: Promise<T>): Promise<{ tookMs: number; outcome: T | Error }> {
  const startMs = clock.nowMs();
  let outcome: T | Error | undefined;
  let done = false;
  operation.then(
    (value) => {
      outcome = value;
      done = true;
    },
    (error: Error) => {
      outcome = error;
      done = true;
    },
  );
  for (let i = 0; i < 10_000 && !done; i++) {
    await new Promise(setImmediate);
    if (!done) clock.advance(1);
  }
  assert.ok(done, 'the operation settled within 10 virtual seconds');
  return { tookMs: clock.nowMs() - startMs, outcome: outcome as T | Error };
}

const frozenFirst = (nodeId: string, remotes: string[]) => (nodeId === remotes[0] ? undefined : 1);

describe('rapid read protection', () => {
  it('a read that asked a frozen replica asks the next one after the speculative wait, not the read timeout', async () => {
    const h = harness('k', frozenFirst, { speculativeRetryMaxMs: 100 });
    const { tookMs, outcome } = await timed(h.clock, h.coordinator.read('k', 2));
    assert.ok(!(outcome instanceof Error), `the read succeeded: ${String(outcome)}`);
    assert.equal(outcome.replies, 2);
    // No answers yet to take a percentile of: the wait is the maximum, 100 ms.
    assert.ok(tookMs >= 100 && tookMs <= 110, `took ${tookMs} ms`);
    assert.equal(h.speculations(), 1);
  });

  it('later reads ask the frozen replica last and do not wait at all', async () => {
    const h = harness('k', frozenFirst, { speculativeRetryMaxMs: 100 });
    await timed(h.clock, h.coordinator.read('k', 2));
    for (let i = 0; i < 20; i++) {
      const { tookMs, outcome } = await timed(h.clock, h.coordinator.read('k', 2));
      assert.ok(!(outcome instanceof Error));
      assert.ok(tookMs <= 2, `read ${i} took ${tookMs} ms`);
    }
    assert.equal(h.speculations(), 1);
    assert.equal(h.sent.get(h.remotes[0] as string), 1, 'the frozen replica was asked once');
  });

  it('once the percentile is known, the wait follows it (down to the floor)', async () => {
    // The frozen replica freezes only after 100 healthy reads.
    let reads = 0;
    const h = harness('k', (nodeId, remotes) => (nodeId === remotes[0] && reads >= 100 ? undefined : 3), { speculativeRetryFloorMs: 5, speculativeRetryMaxMs: 100 });
    for (; reads < 100; reads++) await timed(h.clock, h.coordinator.read('k', 2));
    assert.equal(h.speculations(), 0, 'healthy replicas never triggered a speculative read');
    const { tookMs } = await timed(h.clock, h.coordinator.read('k', 2));
    // p99 of 3 ms answers rounds up to its bucket bound (4 ms), below the 5 ms floor: 5 ms, then 3 ms for the answer.
    assert.ok(tookMs >= 8 && tookMs <= 10, `took ${tookMs} ms`);
    assert.equal(h.speculations(), 1);
  });

  it('a slow (not frozen) replica under the read timeout is also overtaken, and asked last afterwards', async () => {
    const h = harness('k', (nodeId, remotes) => (nodeId === remotes[0] ? 1500 : 2), { speculativeRetryMaxMs: 50 });
    const first = await timed(h.clock, h.coordinator.read('k', 2));
    assert.ok(first.tookMs <= 55, `took ${first.tookMs} ms`);
    const second = await timed(h.clock, h.coordinator.read('k', 2));
    assert.ok(second.tookMs <= 3, `took ${second.tookMs} ms`);
  });

  it('with speculation off, a read waits out the read timeout (the stall this protection removes)', async () => {
    const h = harness('k', frozenFirst, { speculativeRetryPercentile: 0 });
    const { tookMs, outcome } = await timed(h.clock, h.coordinator.read('k', 2));
    assert.ok(!(outcome instanceof Error));
    assert.ok(tookMs >= readTimeoutMs, `took ${tookMs} ms`);
    assert.equal(h.speculations(), 0);
  });

  it('R=all cannot be helped: the read fails on the timeout and says so', async () => {
    const h = harness('k', frozenFirst);
    const { tookMs, outcome } = await timed(h.clock, h.coordinator.read('k', 3));
    assert.ok(outcome instanceof ReadFailedError, String(outcome));
    assert.equal(outcome.timedOut, true);
    assert.ok(tookMs >= readTimeoutMs && tookMs <= readTimeoutMs + 5, `took ${tookMs} ms`);
  });

  it('a write that meets a newer version while a replica is frozen is re-stamped after the speculative wait, not the write timeout', async () => {
    const h = harness('k', frozenFirst, { speculativeRetryMaxMs: 100 });
    // Another coordinator, 50 ms ahead, wrote the key on the healthy remote a moment ago.
    const healthy = h.stores.get(h.remotes[1] as string) as MemoryEngine;
    await healthy.apply('k', { value: 'other', tombstone: false, hlc: (h.clock.nowMs() + 50) * 1024, nodeId: 'n9' });
    const { tookMs, outcome } = await timed(h.clock, h.coordinator.put('k', 'mine', 2));
    assert.ok(!(outcome instanceof Error), String(outcome));
    assert.ok(tookMs >= 100 && tookMs <= 110, `took ${tookMs} ms`);
    assert.equal((await healthy.get('k'))?.value, 'mine', 'the re-stamped write replaced the newer version');
  });

  it("a write at W=all whose own disk never answers gives up at the write timeout, outcome unknown", async () => {
    const frozenDisk: LocalReplica = { put: () => new Promise(() => undefined), get: async () => undefined };
    const h = harness('k', () => 1, {}, frozenDisk);
    const { tookMs, outcome } = await timed(h.clock, h.coordinator.put('k', 1, 3));
    assert.ok(outcome instanceof OutcomeUnknownError, `expected 504, got ${String(outcome)}`);
    assert.ok(tookMs >= readTimeoutMs && tookMs < readTimeoutMs + 50, `gave up after ${tookMs} ms`);
  });

  it('a quorum write never waits for a frozen replica', async () => {
    const h = harness('k', frozenFirst);
    const { tookMs, outcome } = await timed(h.clock, h.coordinator.put('k', 'v', 2));
    assert.ok(!(outcome instanceof Error), String(outcome));
    assert.ok(tookMs <= 2, `took ${tookMs} ms`);
  });
});
