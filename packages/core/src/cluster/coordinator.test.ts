// Drives the coordinator with a scripted transport and local replica to pin down its
// honest outcomes: a write refused as "nothing was written" (503) must really be applied
// nowhere, even when the other replicas fail fast while its own replica is still writing.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HybridLogicalClock } from '../clock/hlc.js';
import { PeerError, type Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { Ring } from '../ring/ring.js';
import { SeededRng } from '../rng.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { StoredRecord } from '../storage/record.js';
import { Coordinator } from './coordinator.js';
import { OutcomeUnknownError, UnavailableError } from './outcomes.js';
import { localReplicaOf } from './peer-handler.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

function coordinatorWith(transport: Transport, engine: MemoryEngine, localDelayMs: number) {
  const ring = new Ring({ nodeIds: ['n1', 'n2', 'n3'], vnodes: 8, replicas: 3, hash });
  const delay = () => new Promise((resolve) => setTimeout(resolve, localDelayMs));
  const hlc = new HybridLogicalClock(() => 1_000_000);
  const replica = localReplicaOf({ engine, hlc });
  return new Coordinator({
    selfId: 'n1',
    placement: () => ({ read: ring, target: ring, writes: [ring], transition: 0, settling: [] }),
    addressOf: (nodeId) => `${nodeId}:1`,
    isAvailable: () => true,
    local: {
      put: async (key, record) => {
        await delay();
        return replica.put(key, record);
      },
      get: (key) => engine.get(key),
    },
    transport,
    hlc,
    rng: new SeededRng(1),
  });
}

const failFast: Transport = {
  request: () => Promise.reject(new PeerError('not-connected', 'no connection', false)),
};

/** Two remote replicas that hold a version stamped by a clock `aheadMs` ahead of the coordinator's. */
function replicasAhead(aheadMs: number): { transport: Transport; held: Map<string, number> } {
  const held = new Map([
    ['n2:1', (1_000_000 + aheadMs) * 1024],
    ['n3:1', (1_000_000 + aheadMs) * 1024],
  ]);
  const transport: Transport = {
    request: async (address, body) => {
      if (body.type !== 'put') throw new PeerError('remote-failure', 'unexpected', false);
      const current = held.get(address) as number;
      if (body.record.hlc > current) {
        held.set(address, body.record.hlc);
        return { type: 'putAck', applied: true } as never;
      }
      return { type: 'putAck', applied: false, newerHlc: current } as never;
    },
  };
  return { transport, held };
}

describe('Coordinator outcomes', () => {
  it('re-stamps a write that replicas refuse as older, instead of acknowledging it', async () => {
    const { transport, held } = replicasAhead(50);
    const engine = new MemoryEngine(hash);
    const coordinator = coordinatorWith(transport, engine, 0);
    const written = await coordinator.put('k', 'newest', 2);
    assert.ok(written.record.hlc > (1_000_000 + 50) * 1024, 'the acknowledged version is above what the replicas held');
    assert.equal(held.get('n2:1'), written.record.hlc);
    assert.equal(held.get('n3:1'), written.record.hlc);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the local replica answers last here
    assert.equal((await engine.get('k'))?.hlc, written.record.hlc);
  });

  it('does not answer "nothing was written" while its own replica may still apply the write', async () => {
    const engine = new MemoryEngine(hash);
    const coordinator = coordinatorWith(failFast, engine, 5);
    await assert.rejects(coordinator.put('k', 'v', 2), (error: unknown) => {
      assert.ok(error instanceof OutcomeUnknownError, `got ${String(error)}`);
      return true;
    });
    // The local replica did apply it: "unknown" was the honest answer.
    assert.equal((await engine.get('k'))?.value, 'v');
  });

  it('answers 503 only when no replica can have applied the write', async () => {
    const engine = new MemoryEngine(hash);
    const failingLocal = coordinatorWith(failFast, engine, 0);
    // Make the local replica fail too: nothing is applied anywhere.
    const broken = new Coordinator({
      ...(failingLocal as unknown as { deps: ConstructorParameters<typeof Coordinator>[0] }).deps,
      local: { put: () => Promise.reject(new Error('disk full')), get: (key) => engine.get(key) },
    });
    await assert.rejects(broken.put('k', 'v', 2), UnavailableError);
    assert.equal(await engine.get('k'), undefined);
  });

  it('refuses a read that too few replicas are up to serve with a rejection, not a throw', async () => {
    const engine = new MemoryEngine(hash);
    const up = coordinatorWith(failFast, engine, 0);
    const allDown = new Coordinator({
      ...(up as unknown as { deps: ConstructorParameters<typeof Coordinator>[0] }).deps,
      isAvailable: () => false,
    });
    // Callers chain on the promise alone (the fast read path does): a synchronous throw would escape them.
    let reading: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      reading = allDown.read('k', 'quorum');
    });
    await assert.rejects(reading as Promise<unknown>, UnavailableError);
  });
});

describe('Coordinator reads of one answer', () => {
  /** A coordinator on n1 with a clock that counts the timers it is asked for, and peers that answer `peerRecord`. */
  function oneAnswerReader(local: { get(key: string): Promise<StoredRecord | undefined> }, peerRecord: StoredRecord | undefined, readRepairChance = 0) {
    const ring = new Ring({ nodeIds: ['n1', 'n2', 'n3'], vnodes: 8, replicas: 3, hash });
    const asked: string[] = [];
    let timers = 0;
    const clock = new VirtualClock(1_000_000);
    const setTimer = clock.setTimer.bind(clock);
    clock.setTimer = (delayMs, callback) => {
      timers++;
      return setTimer(delayMs, callback);
    };
    const transport: Transport = {
      request: async (address, body) => {
        asked.push(address);
        if (body.type === 'put') return { type: 'putAck', applied: true } as never;
        if (body.type !== 'get') throw new PeerError('remote-failure', 'unexpected', false);
        return { type: 'getReply', record: peerRecord ?? null } as never;
      },
    };
    const coordinator = new Coordinator({
      selfId: 'n1',
      placement: () => ({ read: ring, target: ring, writes: [ring], transition: 0, settling: [] }),
      addressOf: (nodeId) => `${nodeId}:1`,
      isAvailable: () => true,
      local: { put: () => Promise.reject(new Error('no writes here')), get: (key) => local.get(key) },
      transport,
      hlc: new HybridLogicalClock(() => 1_000_000),
      rng: new SeededRng(1),
      clock,
    }, { readRepairChance });
    return { coordinator, asked, timers: () => timers };
  }
  const held: StoredRecord = { value: 'mine', hlc: 1_000_000 * 1024, nodeId: 'n1', tombstone: false };

  it('answers r=one on a replica from its own copy, planning nothing: no peer asked, no timer armed', async () => {
    const { coordinator, asked, timers } = oneAnswerReader({ get: async () => held }, undefined);
    const result = await coordinator.read('k', 1);
    assert.equal(result.record?.value, 'mine');
    assert.equal(result.replies, 1);
    assert.deepEqual(asked, []);
    assert.equal(timers(), 0, 'a planned read arms a timer to ask the next replica if this one is slow');
  });

  it('goes on to the other replicas when its own copy cannot be read', async () => {
    const peers: StoredRecord = { ...held, value: 'theirs', nodeId: 'n2' };
    const { coordinator, asked } = oneAnswerReader({ get: () => Promise.reject(new Error('EIO')) }, peers);
    const result = await coordinator.read('k', 1);
    assert.equal(result.record?.value, 'theirs');
    assert.equal(asked.length, 1);
  });

  it('with --read-repair-chance, also checks the replicas it did not need, and repairs an older copy', async () => {
    const older: StoredRecord = { ...held, value: 'old', hlc: held.hlc - 1024 };
    const { coordinator, asked } = oneAnswerReader({ get: async () => held }, older, 1);
    assert.equal((await coordinator.read('k', 1)).record?.value, 'mine');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(asked.sort(), ['n2:1', 'n2:1', 'n3:1', 'n3:1'], 'each asked for its copy, then sent the newer one');
  });
});

describe('Coordinator write order', () => {
  it('sends a write to its peers before it stores its own copy, whatever the ring order', async () => {
    const ring = new Ring({ nodeIds: ['n1', 'n2', 'n3'], vnodes: 8, replicas: 3, hash });
    const hlc = new HybridLogicalClock(() => 1_000_000);
    const engine = new MemoryEngine(hash);
    const replica = localReplicaOf({ engine, hlc });
    const calls: string[] = [];
    const coordinator = new Coordinator({
      selfId: 'n1',
      placement: () => ({ read: ring, target: ring, writes: [ring], transition: 0, settling: [] }),
      addressOf: (nodeId) => nodeId,
      isAvailable: () => true,
      local: {
        put: (key, record) => {
          calls.push('n1');
          return replica.put(key, record);
        },
        get: (key) => engine.get(key),
      },
      transport: {
        request: async (address) => {
          calls.push(address);
          return { type: 'putAck', applied: true } as never;
        },
      },
      hlc,
      rng: new SeededRng(1),
    });
    // A key of each position n1 can hold in its preference list.
    const keys = new Map<number, string>();
    for (let i = 0; keys.size < 3 && i < 1000; i++) keys.set(ring.preferenceList(`k${i}`).indexOf('n1'), `k${i}`);
    assert.deepEqual([...keys.keys()].sort(), [0, 1, 2]);
    for (const [position, key] of keys) {
      calls.length = 0;
      await coordinator.put(key, 'v', 3);
      assert.equal(calls.at(-1), 'n1', `n1 at ${position} in the preference list: its own write comes after the peers'`);
      assert.equal(calls.length, 3);
    }
  });
});
