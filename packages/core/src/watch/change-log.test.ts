// Checks on a virtual clock that a change log started over an engine that already holds
// values with a ttl (a restarted replica) finds them in the engine's purgeable list and logs
// each expiry when time closes past it, and nothing for tombstones or permanent values; and
// that, however long too few replicas answer, an expiry one answer refutes is never logged,
// nor one whose replica heard no majority of its own replicas (it moves its floor past it).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HybridLogicalClock, hlcPlusMs } from '../clock/hlc.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { ChangeLog, MemoryChangeStore, type KeyVersionSeen } from './change-log.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

describe('change log over stored ttl values', () => {
  it('logs the expiries of values stored before it started, in expiry order', async () => {
    const clock = new VirtualClock();
    const hlc = new HybridLogicalClock(() => clock.nowMs());
    const engine = new MemoryEngine(hash);
    const writtenAt = hlc.now();
    // More than one page of the purgeable list: tombstones and ttl values interleaved.
    for (let i = 0; i < 1500; i++) await engine.apply(`gone-${i}`, { value: undefined, tombstone: true, hlc: hlcPlusMs(writtenAt, i % 500), nodeId: 'n1' });
    await engine.apply('late', { value: 'b', tombstone: false, hlc: writtenAt, nodeId: 'n1', expiresAt: hlcPlusMs(writtenAt, 2000) });
    await engine.apply('soon', { value: 'a', tombstone: false, hlc: writtenAt, nodeId: 'n1', expiresAt: hlcPlusMs(writtenAt, 1000) });
    await engine.apply('kept', { value: 'c', tombstone: false, hlc: writtenAt, nodeId: 'n1' });
    const store = new MemoryChangeStore();
    const log = new ChangeLog({ engine, store, hlc, clock }, { closeMs: 100, retentionMs: 60_000, retentionBytes: 1024 * 1024 });
    log.start();
    // Without a way to ask replicas nothing newer is known: each expiry is logged once closed time passes it.
    for (let elapsedMs = 0; elapsedMs < 3000; elapsedMs += 10) {
      clock.advance(10);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await log.stop();
    const logged = store.read(0, 100);
    assert.deepEqual(
      logged.map((entry) => [entry.key, entry.expired]),
      [
        ['soon', true],
        ['late', true],
      ],
    );
  });

  it('logs an expiry unconfirmed only when a majority of its own replicas answered, never when one answer refutes it', async () => {
    const clock = new VirtualClock();
    const hlc = new HybridLogicalClock(() => clock.nowMs());
    const engine = new MemoryEngine(hash);
    const writtenAt = hlc.now();
    for (const key of ['refuted', 'alone', 'ring-short', 'unanswered']) {
      await engine.apply(key, { value: key, tombstone: false, hlc: writtenAt, nodeId: 'n2', expiresAt: hlcPlusMs(writtenAt, 150) });
    }
    const own = { hlc: writtenAt, nodeId: 'n2' };
    const newer = { hlc: hlcPlusMs(writtenAt, 120), nodeId: 'n5' };
    // refuted: as slow-gossip seed 3601432, the one replica that answered holds a newer
    // version; alone: as seed 4000313, only this replica answered; ring-short: a majority of
    // its own ring answered, not of a joining ring; unanswered: the question failed.
    const answers: Record<string, KeyVersionSeen> = {
      refuted: { fewAnswered: newer, ownRingMajority: false },
      alone: { fewAnswered: own, ownRingMajority: false },
      'ring-short': { fewAnswered: own, ownRingMajority: true },
    };
    const newestVersions = async (keys: readonly string[]) => new Map<string, KeyVersionSeen>(keys.filter((key) => key in answers).map((key) => [key, answers[key] as KeyVersionSeen]));
    const store = new MemoryChangeStore();
    const log = new ChangeLog({ engine, store, hlc, clock, newestVersions }, { closeMs: 100, retentionMs: 60_000, retentionBytes: 1024 * 1024 });
    log.start();
    // Past the 3 s an expiry waits for a majority, and past it the floor must move on.
    const floorBefore = log.floor();
    for (let elapsedMs = 0; elapsedMs < 4000; elapsedMs += 10) {
      clock.advance(10);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    assert.ok(log.floor() > hlcPlusMs(writtenAt, 150), 'an expiry left to other replicas no longer holds the floor');
    assert.ok(log.floor() > floorBefore);
    await log.stop();
    assert.deepEqual(
      store.read(0, 100).map((entry) => [entry.key, entry.expired]),
      [['ring-short', true]],
    );
  });
});
