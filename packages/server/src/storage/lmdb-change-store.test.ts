// Checks the change log in a real LMDB environment: entries come back in position order
// after a position, with expiries and JSON-text values as written; an entry written with
// its record (appendWithRecord) is stored only when the record is what the key holds;
// pruning by age and by size drops the oldest first and remembers how far it went, across
// a restart; and a change log over the LMDB engine logs each applied write once, a batch's
// records in the batch's own transaction; an entry whose transaction is aborted is not
// counted.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKeyHasher, ChangeLog, HybridLogicalClock, hlcPlusMs, JsonText, type StoredRecord } from '@ringkv/core';
import { systemClock } from '../clock/system-clock.js';
import { LmdbEngine } from './lmdb-engine.js';
import { abortAfterWork } from './transaction-faults.js';

const hash = await loadKeyHasher();

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function openEngine(path?: string): Promise<{ engine: LmdbEngine; path: string }> {
  let at = path;
  if (at === undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'ringkv-changes-'));
    dirs.push(dir);
    at = join(dir, 'lmdb');
  }
  return { engine: await LmdbEngine.open({ hash, path: at, durable: false }), path: at };
}

const value = (hlc: number, content: unknown, nodeId = 'n1'): StoredRecord => ({ hlc, nodeId, tombstone: false, value: content });

describe('LMDB change store', () => {
  it('reads entries after a position in order, as written', async () => {
    const { engine } = await openEngine();
    const store = engine.openChangeStore();
    await store.append([
      { pos: 10, key: 'a', record: value(5, { x: 1 }), expired: false },
      { pos: 11, key: 'b', record: { hlc: 6, nodeId: 'n2', tombstone: true, value: undefined }, expired: false },
    ]);
    await store.append([{ pos: 12, key: 'c', record: { ...value(7, new JsonText('{"__proto__":1}')), expiresAt: 9 }, expired: true }]);
    const all = store.read(0, 10);
    assert.deepEqual(
      all.map((entry) => [entry.pos, entry.key, entry.record.tombstone, entry.expired]),
      [
        [10, 'a', false, false],
        [11, 'b', true, false],
        [12, 'c', false, true],
      ],
    );
    assert.deepEqual(all[0]?.record.value, { x: 1 });
    assert.ok(all[2]?.record.value instanceof JsonText);
    assert.equal(all[2]?.record.expiresAt, 9);
    assert.deepEqual(
      store.read(10, 1).map((entry) => entry.pos),
      [11],
    );
    assert.equal(store.size().entries, 3);
    await engine.close();
  });

  it('stores an entry with its record only when the record is what the key holds', async () => {
    const { engine } = await openEngine();
    const store = engine.openChangeStore();
    let position = 100;
    const newer = value(20, 'newer');
    const logged = store.appendWithRecord('k', newer, () => ++position);
    assert.equal((await engine.apply('k', newer)).applied, true);
    assert.equal(logged(), true);
    const older = value(10, 'older');
    const notLogged = store.appendWithRecord('k', older, () => ++position);
    assert.equal((await engine.apply('k', older)).applied, false);
    assert.equal(notLogged(), false);
    assert.deepEqual(
      store.read(0, 10).map((entry) => [entry.pos, entry.record.value]),
      [[101, 'newer']],
    );
    await engine.close();
  });

  it('prunes by age and by size, oldest first, and remembers how far across a restart', async () => {
    const { engine, path } = await openEngine();
    const store = engine.openChangeStore();
    for (let pos = 1; pos <= 20; pos++) await store.append([{ pos, key: `k${String(pos).padStart(2, '0')}`, record: value(pos, 'x'.repeat(100)), expired: false }]);
    await store.prune(6, Number.MAX_SAFE_INTEGER);
    assert.equal(store.prunedThrough(), 5);
    assert.equal(store.read(0, 100)[0]?.pos, 6);
    const perEntry = store.size().bytes / store.size().entries;
    await store.prune(0, Math.floor(perEntry * 10));
    assert.equal(store.size().entries, 10);
    assert.equal(store.prunedThrough(), 10);
    await engine.close();
    const { engine: again } = await openEngine(path);
    const reopened = again.openChangeStore();
    assert.equal(reopened.prunedThrough(), 10);
    assert.equal(reopened.size().entries, 10);
    assert.deepEqual(
      reopened.read(0, 3).map((entry) => entry.pos),
      [11, 12, 13],
    );
    await again.close();
  });

  it('logs each write the engine applies once, in the order applied', async () => {
    const { engine } = await openEngine();
    const hlc = new HybridLogicalClock(() => Date.now());
    const changes = new ChangeLog({ engine, store: engine.openChangeStore(), hlc, clock: systemClock }, { closeMs: 300, retentionMs: 60_000, retentionBytes: 1 << 20 });
    const records = [value(hlc.now(), 1), value(hlc.now(), 2), value(hlc.now(), 3)];
    await Promise.all(records.map((record) => changes.apply('same', record)));
    await changes.apply('same', value(records[0]!.hlc - 1, 'stale'));
    const logged = changes.changesFor({ type: 'changes', prefix: '', after: 0, limit: 100 });
    assert.deepEqual(
      logged.entries.map((entry) => entry.record.value),
      [1, 2, 3],
    );
    assert.ok(logged.entries.every((entry, i) => i === 0 || entry.pos > (logged.entries[i - 1]?.pos ?? 0)));
    assert.equal(logged.more, false);
    assert.ok(logged.floor > 0);
    await engine.close();
  });

  it('logs the records a batch applies, in the transaction of the batch, and nothing it does not', async () => {
    const { engine } = await openEngine();
    const hlc = new HybridLogicalClock(() => Date.now());
    const changes = new ChangeLog({ engine, store: engine.openChangeStore(), hlc, clock: systemClock }, { closeMs: 300, retentionMs: 60_000, retentionBytes: 1 << 20 });
    const newer = value(hlc.now(), 'held');
    await changes.apply('held', newer);
    // A transfer's batch: records older than the floor (still within retention), one that loses to what is held.
    const old = hlcPlusMs(hlc.now(), -5000);
    const outcomes = await changes.applyBatch([
      ['moved-a', value(old, 'a')],
      ['held', value(old, 'stale')],
      ['moved-b', value(old + 1, 'b')],
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.applied),
      [true, false, true],
    );
    const logged = changes.changesFor({ type: 'changes', prefix: '', after: 0, limit: 100 });
    assert.deepEqual(
      logged.entries.map((entry) => [entry.key, entry.record.value]),
      [
        ['held', 'held'],
        ['moved-a', 'a'],
        ['moved-b', 'b'],
      ],
    );
    assert.equal(changes.stats().appendFailures, 0, 'every entry went into the transaction of its record');
    await engine.close();
  });

  it('counts an entry only once the transaction holding it and its record is committed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringkv-changes-'));
    dirs.push(dir);
    let abort = false;
    const engine = await LmdbEngine.open({
      hash,
      path: join(dir, 'lmdb'),
      durable: false,
      // The work runs (the entry is put), then the transaction is aborted, as a failed commit leaves it.
      wrapTransaction: (run) => (work, onLoop) => (abort ? abortAfterWork(run, work, true, 'aborted after its work ran') : run(work, onLoop)),
    });
    const store = engine.openChangeStore();
    const record = value(5, 'x');
    const stored = store.appendWithRecord('k', record, () => 100);
    abort = true;
    await assert.rejects(engine.apply('k', record), /injected/);
    abort = false;
    assert.equal(stored(), false, 'the entry was not stored');
    assert.deepEqual(store.read(0, 10), []);
    assert.deepEqual(store.size(), { entries: 0, bytes: 0 });
    const again = store.appendWithRecord('k', record, () => 101);
    await engine.apply('k', record);
    assert.equal(again(), true);
    assert.equal(store.size().entries, 1);
    await engine.close();
  });
});
