// Checks that the LMDB engine commits large batches off the event loop and small ones on it
// (unless durable): reads and merges go on while a commit is held back (through the transaction seam), a commit takes a bounded slice of the
// queue, the queue's bytes are counted for load shedding, the event loop keeps turning
// while 128 MiB of large values are written, and a batch (a transfer's) commits in slices
// after the client writes waiting, without holding them back for ever.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StoredRecord } from '@ringkv/core';
import { compareVersions, loadKeyHasher, lmdbBatchRecordsPerCommit, lmdbOnLoopCommitBytesMax, SeededRng, tokenSpace } from '@ringkv/core';
import { LmdbEngine, type TransactionRunner } from './lmdb-engine.js';
import { abortAfterWork } from './transaction-faults.js';

const hash = await loadKeyHasher();

const directories: string[] = [];
after(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

function freshPath(): string {
  const path = mkdtempSync(join(tmpdir(), 'ringkv-commit-queue-'));
  directories.push(path);
  return path;
}

const live = (hlc: number, value: unknown): StoredRecord => ({ hlc, nodeId: 'n1', tombstone: false, value });
const tombstone = (hlc: number): StoredRecord => ({ hlc, nodeId: 'n1', tombstone: true, value: undefined });

/**
 * A transaction seam that, counting commits from when `armed` is set, fails the commits
 * numbered in `fail` (without running them) and holds the one numbered `hold` until released.
 */
function scriptedCommits(plan: { fail?: number[]; hold?: number }) {
  let armed = false;
  let count = 0;
  let release: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const holding = new Promise<void>((resolve) => (entered = resolve));
  const wrapTransaction =
    (run: TransactionRunner): TransactionRunner =>
    async (work, onLoop) => {
      if (!armed) return run(work, onLoop);
      const commit = count++;
      if (plan.fail?.includes(commit) === true) throw new Error(`commit ${commit} failed (injected)`);
      if (commit === plan.hold) await new Promise<void>((resolve) => {
        release = resolve;
        entered();
      });
      return run(work, onLoop);
    };
  return { wrapTransaction, arm: () => (armed = true), holding, release: () => release() };
}

describe('LMDB engine commit queue', () => {
  it('serves reads and merges against writes still being committed', async () => {
    let release: () => void = () => undefined;
    let held = false;
    const wrapTransaction =
      (run: TransactionRunner): TransactionRunner =>
      async (work, onLoop) => {
        if (held) await new Promise<void>((resolve) => (release = resolve));
        return run(work, onLoop);
      };
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false, wrapTransaction });
    await engine.apply('a', live(1, 'first'));
    assert.equal(engine.queuedBytes(), 0);
    held = true;
    const newer = engine.apply('a', live(3, 'third'));
    const other = engine.apply('b', live(1, 'other'));
    for (let turns = 0; turns < 20; turns++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(engine.queuedBytes() > 0, 'the held writes are counted');
    assert.equal((await engine.get('a'))?.value, 'first', 'a read is answered from what is committed');
    const between = await Promise.race([engine.apply('a', live(2, 'second')), new Promise((resolve) => setTimeout(() => resolve('waited'), 500))]);
    assert.notEqual(between, 'waited', 'a merge against a write in flight does not wait for its commit');
    assert.equal((between as { applied: boolean }).applied, false, 'the write in flight is newer');
    held = false;
    release();
    assert.equal((await newer).applied, true);
    assert.equal((await other).applied, true);
    assert.equal((await engine.get('a'))?.value, 'third');
    assert.equal(engine.queuedBytes(), 0, 'nothing is counted once committed');
    await engine.close();
  });

  it('commits a small batch on the event loop, and a large one or any durable one off it', async () => {
    for (const durable of [false, true]) {
      const modes: boolean[] = [];
      const wrapTransaction =
        (run: TransactionRunner): TransactionRunner =>
        (work, onLoop) => {
          modes.push(onLoop);
          return run(work, onLoop);
        };
      const engine = await LmdbEngine.open({ hash, path: freshPath(), durable, wrapTransaction });
      modes.length = 0;
      await engine.apply('small', live(1, 'x'.repeat(100)));
      await engine.apply('large', live(1, 'x'.repeat(lmdbOnLoopCommitBytesMax)));
      assert.deepEqual(modes, [!durable, false], durable ? 'a durable commit waits for its flush off the event loop' : 'a lone small write skips the hops to the write thread');
      assert.equal(((await engine.get('large'))?.value as string).length, lmdbOnLoopCommitBytesMax);
      assert.equal((await engine.get('small'))?.value, 'x'.repeat(100));
      // Many small writes at once share one commit: it puts a few KiB, though the pages
      // each might touch add up to more than the bound.
      modes.length = 0;
      await Promise.all(Array.from({ length: 64 }, (_, i) => engine.apply(`many-${i}`, live(1, 'x'.repeat(100)))));
      assert.deepEqual([...new Set(modes)], [!durable], 'a batch of small writes commits as a lone small one does');
      await engine.close();
    }
  });

  it('commits a batch after the client writes queued behind it, a slice per transaction', async () => {
    let release: () => void = () => undefined;
    let held = false;
    const commits: string[][] = [];
    const watched: { engine?: LmdbEngine } = {};
    const engine = await LmdbEngine.open({
      hash,
      path: freshPath(),
      durable: false,
      wrapTransaction: (run) => async (work, onLoop) => {
        if (held) await new Promise<void>((resolve) => (release = resolve));
        const engineNow = watched.engine;
        if (engineNow === undefined) return run(work, onLoop);
        const before = new Set((await engineNow.scan({ limit: 10_000 })).map(({ key }) => key));
        await run(work, onLoop);
        commits.push((await engineNow.scan({ limit: 10_000 })).map(({ key }) => key).filter((key) => !before.has(key)));
      },
    });
    watched.engine = engine;
    // A commit in flight holds the queue while a transfer batch and then a client write join it.
    held = true;
    const first = engine.apply('first', live(1, 'x'));
    for (let turns = 0; turns < 5 && commits.length === 0; turns++) await new Promise((resolve) => setImmediate(resolve));
    const batch = engine.applyBatch(Array.from({ length: 2000 }, (_, i) => [`moved-${String(i).padStart(4, '0')}`, live(1, i)] as const));
    const client = engine.apply('client', live(1, 'y'));
    held = false;
    release();
    await Promise.all([first, batch, client]);
    const clientCommit = commits.findIndex((keys) => keys.includes('client'));
    const batchCommits = commits.flatMap((keys, index) => (keys.some((key) => key.startsWith('moved-')) ? [index] : []));
    const sizes = JSON.stringify(commits.map((keys) => keys.length));
    assert.equal(batchCommits.length, 2000 / lmdbBatchRecordsPerCommit, `a transaction per slice (commits: ${sizes})`);
    assert.ok(clientCommit >= 0 && clientCommit < (batchCommits[0] as number), `the client write commits first (commits: ${sizes})`);
    for (const index of batchCommits) assert.equal(commits[index]?.length, lmdbBatchRecordsPerCommit, `a slice commits alone (commits: ${sizes})`);
    assert.equal(engine.liveCount(), 2002);
    await engine.close();
  });

  it('commits a batch after at most one commit of client writes, however steadily they come', async () => {
    const commits: number[] = [];
    const clientWrites: Array<Promise<unknown>> = [];
    let engine: LmdbEngine | undefined;
    let written = 0;
    engine = await LmdbEngine.open({
      hash,
      path: freshPath(),
      durable: false,
      wrapTransaction: (run) => async (work, onLoop) => {
        await run(work, onLoop);
        const open = engine;
        if (open === undefined) return;
        commits.push(open.keyCount());
        // Another client write arrives during every commit, for a while.
        if (written < 20) clientWrites.push(open.apply(`client-${written++}`, live(1, 'y')));
      },
    });
    clientWrites.push(engine.apply(`client-${written++}`, live(1, 'y')));
    const batch = engine.applyBatch(Array.from({ length: 100 }, (_, i) => [`moved-${i}`, live(1, i)] as const));
    await batch;
    assert.ok(commits.length <= 3, `the batch waited ${commits.length - 1} commits of client writes`);
    await Promise.all(clientWrites);
    const opened = engine;
    engine = undefined;
    await opened.close();
  });

  it('keeps the newest version of a key whichever of its writes commits first', async () => {
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false });
    // A client write of a key a transfer's batch claimed commits before that batch (it is
    // queued after clients): the batch's older record must not overwrite it.
    const moved = engine.applyBatch([['k', live(1, 'moved')]]);
    const written = engine.apply('k', live(2, 'written'));
    assert.deepEqual([(await moved)[0]?.applied, (await written).applied], [true, true]);
    assert.equal((await engine.get('k'))?.value, 'written');
    // The other way round: a batch's newer record commits while an older client write waits.
    const older = engine.apply('j', live(1, 'older'));
    const newer = engine.applyBatch([['j', live(2, 'newer')]]);
    await Promise.all([older, newer]);
    assert.equal((await engine.get('j'))?.value, 'newer');
    assert.equal(engine.liveCount(), 2);
    await engine.close();
  });

  it('keeps the newest version when a batch commits before an older client write of the key', async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (entered = resolve));
    let held = false;
    // One write per commit: a client write may wait behind another while a batch takes its turn.
    const engine = await LmdbEngine.open({
      hash,
      path: freshPath(),
      durable: false,
      commitBytesMax: 1,
      wrapTransaction: (run) => async (work, onLoop) => {
        if (held) {
          held = false;
          await new Promise<void>((resolve) => {
            release = resolve;
            entered();
          });
        }
        return run(work, onLoop);
      },
    });
    held = true; // from the first commit after opening
    const first = engine.apply('first', live(1, 'x'));
    await holding;
    // Queued behind the held commit: a client write, an older client write of k, a batch with k newer.
    const other = engine.apply('other', live(1, 'y'));
    const older = engine.apply('k', live(1, 'older'));
    const newer = engine.applyBatch([['k', live(2, 'newer')]]);
    release();
    await Promise.all([first, other, older, newer]);
    assert.equal((await engine.get('k'))?.value, 'newer');
    assert.equal(engine.liveCount(), 3);
    await engine.close();
  });

  it('keeps an acknowledged write when the newer write claimed over it fails to commit', async () => {
    // Commit 0 (the client write, first in turn) fails; commit 1 (the batch's) is held.
    const script = scriptedCommits({ fail: [0], hold: 1 });
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false, wrapTransaction: script.wrapTransaction });
    script.arm();
    const moved = engine.applyBatch([['k', live(2, 'moved')]]);
    const newer = engine.apply('k', live(3, 'newer'));
    await assert.rejects(newer, /injected/);
    await script.holding;
    // The batch's record is still on its way: a write older than it must lose to it.
    const older = engine.apply('k', live(1, 'older'));
    script.release();
    assert.equal((await moved)[0]?.applied, true);
    assert.equal((await older).applied, false, 'the batch in flight is newer');
    assert.equal((await engine.get('k'))?.value, 'moved');
    assert.equal(engine.liveCount(), 1);
    await engine.close();
  });

  it('does not bring an older write back after the newer one that committed first is discarded', async () => {
    // Commit 0: the tombstone (client first); commit 1: the first batch, held while the discard queues.
    const script = scriptedCommits({ hold: 1 });
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false, wrapTransaction: script.wrapTransaction });
    script.arm();
    const other = engine.applyBatch([['x', live(1, 'x')]]);
    const moved = engine.applyBatch([['k', live(1, 'moved')]]);
    await engine.apply('k', tombstone(2));
    await script.holding;
    // The tombstone is purged while the batch's older value of k still waits for its turn.
    const discarded = engine.discard([{ key: 'k', hlc: 2, nodeId: 'n1' }]);
    script.release();
    await Promise.all([other, moved, discarded]);
    const held = await engine.get('k');
    assert.ok(held === undefined || held.hlc === 2, `k holds ${JSON.stringify(held)}: the value deleted came back`);
    assert.equal(engine.liveCount(), 1);
    await engine.close();
  });

  it('counts live keys by what committed when a write fails after a newer one of its key committed', async () => {
    // Commit 0: the tombstone (client first); commit 1: the batch's older value, which fails.
    const script = scriptedCommits({ fail: [1] });
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false, wrapTransaction: script.wrapTransaction });
    script.arm();
    const moved = engine.applyBatch([['k', live(1, 'moved')]]);
    assert.equal((await engine.apply('k', tombstone(2))).applied, true);
    await assert.rejects(moved, /injected/);
    assert.equal((await engine.get('k'))?.tombstone, true);
    assert.equal(engine.liveCount(), 0);
    assert.equal(engine.keyCount(), 1);
    await engine.close();
  });

  it('stores nothing of a commit whose work throws, on the event loop or off it', async () => {
    for (const onLoop of [true, false]) {
      let failing = false;
      const engine = await LmdbEngine.open({
        hash,
        path: freshPath(),
        durable: false,
        wrapTransaction: (run) => (work, defaultOnLoop) => (failing ? abortAfterWork(run, work, onLoop, 'the work threw after its puts') : run(work, defaultOnLoop)),
      });
      failing = true;
      await assert.rejects(engine.apply('k', live(1, 'x')), /injected/);
      failing = false;
      assert.equal(await engine.get('k'), undefined, `onLoop ${onLoop}: the record is not stored`);
      assert.deepEqual(await engine.ringKeys({ start: tokenSpace - 1, end: tokenSpace - 1, limit: 10 }), [], `onLoop ${onLoop}: nor its ring row`);
      assert.deepEqual([engine.keyCount(), engine.liveCount()], [0, 0]);
      await engine.apply('k', live(2, 'y'));
      assert.deepEqual([engine.keyCount(), engine.liveCount()], [1, 1]);
      assert.deepEqual(await engine.summarize(tokenSpace - 1, tokenSpace - 1), { digest: (await engine.ringKeys({ start: tokenSpace - 1, end: tokenSpace - 1, limit: 10 }))[0]?.versionHash, keys: 1 });
      await engine.close();
    }
  });

  it('holds the newest acknowledged version of every key after random writes, batches, discards, delays and failed commits (seeded)', async () => {
    for (let seed = 1; seed <= 16; seed++) {
      const rng = new SeededRng(seed);
      // Its own generator: how commits go does not shift the writes drawn.
      const faults = new SeededRng(seed * 7919);
      let faulty = false;
      const engine = await LmdbEngine.open({
        hash,
        path: freshPath(),
        // Durable in a quarter of the runs: writes are answered after their flush, while the next batch commits.
        durable: seed % 4 === 3,
        // One write per commit in half the runs: client writes then wait behind each other while batches take turns.
        ...(seed % 2 === 0 ? { commitBytesMax: 1 } : {}),
        wrapTransaction: (run) => async (work, onLoop) => {
          for (let turns = faults.nextInt(4); turns > 0; turns--) await new Promise((resolve) => setImmediate(resolve));
          const roll = faulty ? faults.next() : 1;
          if (roll < 0.07) throw new Error('injected: refused before its work ran');
          // The work runs (the index and the change log see it), then the transaction is aborted.
          if (roll < 0.14) return abortAfterWork(run, work, onLoop, 'aborted after its work ran');
          return run(work, onLoop);
        },
      });
      faulty = true;
      const keys = ['a', 'b', 'c', 'd', 'e'];
      // Writes acknowledged as applied, numbered in the order they were made; and for each
      // key, the number of the last discard that removed it (made while no write of the key was).
      const acknowledged: Array<{ key: string; record: StoredRecord; at: number }> = [];
      const removedAt = new Map<string, number>();
      const discarding = new Set<string>();
      const pending: Array<Promise<unknown>> = [];
      let made = 0;
      const pickKey = (): string | undefined => {
        const free = keys.filter((key) => !discarding.has(key));
        return free[rng.nextInt(free.length)];
      };
      const nextRecord = (): StoredRecord => {
        const version = { hlc: 1 + rng.nextInt(50), nodeId: `n${1 + rng.nextInt(3)}` };
        const roll = rng.next();
        if (roll < 0.2) return { ...version, tombstone: true, value: undefined };
        if (roll < 0.35) return { ...version, tombstone: false, value: rng.nextInt(1000), expiresAt: 1000 + rng.nextInt(1000) };
        return { ...version, tombstone: false, value: rng.nextInt(1000) };
      };
      for (let step = 0; step < 80; step++) {
        const roll = rng.next();
        const key = pickKey();
        if (key === undefined) {
          await Promise.race(pending);
          continue;
        }
        const at = made++;
        if (roll < 0.4) {
          const record = nextRecord();
          pending.push(engine.apply(key, record).then((outcome) => outcome.applied && acknowledged.push({ key, record, at }), () => undefined));
        } else if (roll < 0.8) {
          const entries: Array<[string, StoredRecord]> = [[key, nextRecord()]];
          for (let more = rng.nextInt(3); more > 0; more--) {
            const other = pickKey() as string;
            entries.push([other, nextRecord()]);
          }
          pending.push(
            engine.applyBatch(entries).then(
              (outcomes) => outcomes.forEach((outcome, i) => outcome.applied && acknowledged.push({ key: entries[i]?.[0] as string, record: entries[i]?.[1] as StoredRecord, at })),
              () => undefined,
            ),
          );
        } else {
          // A discard of the version the key holds now (as a purge or a handoff makes).
          const held = await engine.get(key);
          if (held !== undefined) {
            discarding.add(key);
            pending.push(
              engine
                .discard([{ key, hlc: held.hlc, nodeId: held.nodeId }])
                .then((removed) => removed.length > 0 && removedAt.set(key, at), () => undefined)
                .finally(() => discarding.delete(key)),
            );
          }
        }
        if (rng.next() < 0.3) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(pending);
      faulty = false;
      const newest = new Map<string, StoredRecord>();
      for (const { key, record, at } of acknowledged) {
        if (at < (removedAt.get(key) ?? -1)) continue;
        const known = newest.get(key);
        if (known === undefined || compareVersions(record, known) > 0) newest.set(key, record);
      }
      for (const key of keys) {
        const held = await engine.get(key);
        const record = newest.get(key);
        assert.deepEqual(held && { ...held }, record && { ...record }, `seed ${seed}: key ${key}`);
      }
      assert.equal(engine.liveCount(), [...newest.values()].filter((record) => !record.tombstone).length, `seed ${seed}: live keys`);
      assert.equal(engine.keyCount(), newest.size, `seed ${seed}: keys`);
      // The ring index and purge list agree with the records: as a store written in order holds them.
      const reference = await LmdbEngine.open({ hash, path: freshPath(), durable: false });
      await reference.applyBatch([...newest]);
      assert.deepEqual(await engine.summarize(tokenSpace - 1, tokenSpace - 1), await reference.summarize(tokenSpace - 1, tokenSpace - 1), `seed ${seed}: ring index`);
      const everything = { below: Number.POSITIVE_INFINITY, limit: 100 };
      assert.deepEqual(await engine.purgeable(everything), await reference.purgeable(everything), `seed ${seed}: purge list`);
      await Promise.all([engine.close(), reference.close()]);
    }
  });

  it('takes at most commitBytesMax from the queue per commit, and a larger write alone', async () => {
    let commits = 0;
    const wrapTransaction =
      (run: TransactionRunner): TransactionRunner =>
      (work, onLoop) => {
        commits++;
        return run(work, onLoop);
      };
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false, wrapTransaction, commitBytesMax: 64 * 1024 });
    const value16k = 'v'.repeat(16 * 1024);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.apply(`k${i}`, live(1, value16k))));
    assert.ok(results.every((result) => result.applied));
    assert.ok(commits >= 5, `20 writes of 16 KiB took ${commits} commits of at most 64 KiB`);
    commits = 0;
    assert.equal((await engine.apply('big', live(1, 'b'.repeat(200 * 1024)))).applied, true, 'a write larger than the cap is committed');
    assert.equal(commits, 1);
    for (let i = 0; i < 20; i++) assert.equal((await engine.get(`k${i}`))?.value, value16k);
    await engine.close();
  });

  it('keeps the event loop turning while 128 MiB of 1 MiB values are committed', async () => {
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false });
    const value = 'x'.repeat(1024 * 1024);
    // The longest gap between turns of the loop, against the whole time the writes took:
    // one synchronous commit of them all is nearly the whole time; commits off the loop
    // leave short gaps (about 15 of 200 ms here, against 140 of 150 ms before).
    let lastTurnMs = performance.now();
    let longestGapMs = 0;
    let turning = true;
    const turn = () => {
      const nowMs = performance.now();
      longestGapMs = Math.max(longestGapMs, nowMs - lastTurnMs);
      lastTurnMs = nowMs;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const startedAtMs = performance.now();
    // All queued in one turn, as when a flood's bodies complete together. That turn is the
    // test's own doing (128 writes measured and queued: 40-60 ms on a loaded 2-core runner),
    // so the gaps are timed from its end: what is judged is how the commits run.
    const writes = Promise.all(Array.from({ length: 128 }, (_, i) => engine.apply(`large-${i}`, live(1, value))));
    lastTurnMs = performance.now();
    await writes;
    await new Promise((resolve) => setImmediate(resolve));
    turning = false;
    const tookMs = performance.now() - startedAtMs;
    assert.ok(longestGapMs < tookMs / 4, `the event loop stopped for ${Math.round(longestGapMs)} of ${Math.round(tookMs)} ms`);
    assert.equal((await engine.get('large-127'))?.value, value);
    await engine.close();
  });
});
