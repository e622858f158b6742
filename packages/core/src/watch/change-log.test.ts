// Checks on a virtual clock that a change log started over an engine that already holds
// values with a ttl (a restarted replica) finds them in the engine's purgeable list and logs
// each expiry when time closes past it, and nothing for tombstones or permanent values; and
// that an expiry one answer refutes is never logged, however long too few replicas answer.
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

  it('never logs an expiry when too few replicas answer but one holds a newer version', async () => {
    const clock = new VirtualClock();
    const hlc = new HybridLogicalClock(() => clock.nowMs());
    const engine = new MemoryEngine(hash);
    const writtenAt = hlc.now();
    await engine.apply('refuted', { value: 'a', tombstone: false, hlc: writtenAt, nodeId: 'n2', expiresAt: hlcPlusMs(writtenAt, 150) });
    await engine.apply('unanswered', { value: 'b', tombstone: false, hlc: writtenAt, nodeId: 'n2', expiresAt: hlcPlusMs(writtenAt, 150) });
    const newer = { hlc: hlcPlusMs(writtenAt, 120), nodeId: 'n5' };
    const store = new MemoryChangeStore();
    // As slow-gossip seed 3601432: one replica in three answers, holding a newer version of one key and nothing of the other.
    const newestVersions = async (keys: readonly string[]) => new Map<string, KeyVersionSeen>(keys.map((key) => [key, key === 'refuted' ? { fewAnswered: newer } : 'unreadable']));
    const log = new ChangeLog({ engine, store, hlc, clock, newestVersions }, { closeMs: 100, retentionMs: 60_000, retentionBytes: 1024 * 1024 });
    log.start();
    // Past the 3 s an expiry waits for a majority: the unanswered one is then logged unconfirmed.
    for (let elapsedMs = 0; elapsedMs < 4000; elapsedMs += 10) {
      clock.advance(10);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await log.stop();
    assert.deepEqual(
      store.read(0, 100).map((entry) => [entry.key, entry.expired]),
      [['unanswered', true]],
    );
  });
});
