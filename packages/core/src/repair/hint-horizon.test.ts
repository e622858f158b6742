// Checks that a node's repair horizon stops at its oldest waiting hint, on a virtual clock
// with real anti-entropy status and hinted handoff over a memory hint store: a write that
// reached no replica lives only in hints, so the purge watermark must not pass it until
// they are delivered (simulator seed 2700828 of ring-changes: one replica took such a late
// hint, the others dropped it as settled, and the replicas diverged).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { VirtualClock } from '../clock/virtual-clock.js';
import { MemoryHintStore } from '../handoff/hint-store.js';
import { HintedHandoff } from '../handoff/hinted-handoff.js';
import type { Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { buildRing } from '../ring/placement.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { AntiEntropy } from './anti-entropy.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

function setUp() {
  const clock = new VirtualClock();
  let reachable = false;
  const transport: Transport = {
    request: (_address, body) =>
      reachable ? Promise.resolve({ type: 'pushAck', applied: body.type === 'pushRecords' ? body.entries.length : 0 } as never) : Promise.reject(new Error('timed out')),
  };
  const handoff = new HintedHandoff({ store: new MemoryHintStore(), transport, addressOf: (nodeId) => `${nodeId}:1`, isUp: () => true });
  // n1 alone in its ring: no range has another replica, so every range counts as verified
  // now and only the hints can hold the horizon back.
  const ring = buildRing(['n1'], { vnodes: 8, replicas: 1, hash });
  const antiEntropy = new AntiEntropy({
    selfId: 'n1',
    ring: () => ring,
    engine: new MemoryEngine(hash),
    transport,
    addressOf: () => undefined,
    isAvailable: () => false,
    clock,
    hintsHeldSinceMs: () => handoff.heldSinceMs(),
  });
  const hold = (key: string) => handoff.hold({ target: 'n2', key, record: { value: key, tombstone: false, hlc: clock.nowMs() * 1024, nodeId: 'n1' }, storedAtMs: clock.nowMs() });
  return { clock, handoff, antiEntropy, hold, reach: () => (reachable = true) };
}

describe('repair horizon and hints', () => {
  it('is the verification time while no hint waits', () => {
    const { clock, antiEntropy } = setUp();
    assert.equal(antiEntropy.status().horizonMs, clock.nowMs());
  });

  it('stops at the oldest waiting hint, also after a delivery that failed, and moves on once all are delivered', async () => {
    const { clock, handoff, antiEntropy, hold, reach } = setUp();
    const heldAtMs = clock.nowMs();
    await hold('first');
    clock.advance(1000);
    await hold('second');
    clock.advance(4000);
    assert.equal(antiEntropy.status().horizonMs, heldAtMs);
    await handoff.round();
    assert.equal(handoff.deliveredTotal, 0);
    assert.equal(antiEntropy.status().horizonMs, heldAtMs, 'the target did not answer: the hints still wait');
    reach();
    await handoff.round();
    assert.equal(handoff.deliveredTotal, 2);
    assert.equal(antiEntropy.status().horizonMs, clock.nowMs());
  });

  it('stops where it stood for hints found in the store at start, whose age is not known', async () => {
    const store = new MemoryHintStore();
    await store.add({ target: 'n2', key: 'kept', record: { value: 1, tombstone: false, hlc: 1024, nodeId: 'n1' }, storedAtMs: 1 });
    const handoff = new HintedHandoff({ store, transport: { request: () => Promise.reject(new Error('down')) }, addressOf: () => undefined, isUp: () => false });
    assert.equal(handoff.heldSinceMs(), 0);
  });
});
