// Checks the LMDB engine on a full disk and a failing one: writes are refused with typed
// errors while reads go on, space that returns is noticed by itself, an I/O error stops
// writes for good; through the free-space seam, the transaction fault hook and (as root) a
// real 8 MiB tmpfs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadKeyHasher, StorageFailedError, StorageFullError, type StoredRecord } from '@ringkv/core';
import { diskErrorKind } from './disk-errors.js';
import type { StorageState } from './disk-state.js';
import { LmdbEngine, type TransactionRunner } from './lmdb-engine.js';

const hash = await loadKeyHasher();

const directories: string[] = [];
after(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

function freshPath(): string {
  const path = mkdtempSync(join(tmpdir(), 'ringkv-disk-full-'));
  directories.push(path);
  return path;
}

let hlc = 1;
const live = (value: unknown): StoredRecord => ({ hlc: hlc++, nodeId: 'n1', tombstone: false, value });
const value8k = 'v'.repeat(8000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies `count` 8 KB values 20 at a time; counts what was stored and what was refused as full. */
async function fill(engine: LmdbEngine, prefix: string, count: number): Promise<{ stored: string[]; full: number }> {
  const stored: string[] = [];
  let full = 0;
  for (let i = 0; i < count; i += 20) {
    const keys = Array.from({ length: 20 }, (_, j) => `${prefix}${i + j}`);
    const results = await Promise.allSettled(keys.map((key) => engine.apply(key, live(value8k))));
    results.forEach((result, j) => {
      if (result.status === 'fulfilled') stored.push(keys[j] as string);
      else if (result.reason instanceof StorageFullError) full++;
      else throw result.reason;
    });
  }
  return { stored, full };
}

describe('disk errors are classified', () => {
  const table: Array<[string, unknown, ReturnType<typeof diskErrorKind>]> = [
    ['ENOSPC errno', Object.assign(new Error('No space left on device: write'), { code: 28 }), 'full'],
    ['ENOSPC from node:fs', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), 'full'],
    ['disk quota', Object.assign(new Error('quota exceeded'), { code: 122 }), 'full'],
    ['MDB_MAP_FULL', Object.assign(new Error('MDB_MAP_FULL: Environment mapsize limit reached'), { code: -30792 }), 'full'],
    ['EIO', Object.assign(new Error('Input/output error'), { code: 5 }), 'failed'],
    ['a corrupt page', Object.assign(new Error('MDB_CORRUPTED: Located page was wrong type'), { code: -30796 }), 'failed'],
    ['LMDB panic', new Error('MDB_PANIC: Update of meta page failed or environment had fatal error'), 'failed'],
    ['a read-only filesystem', Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' }), 'failed'],
    ['the engine closed', new Error('the LMDB engine is closed'), 'other'],
    ['not an error', 'boom', 'other'],
  ];
  for (const [name, error, kind] of table) it(`${name} → ${kind}`, () => assert.equal(diskErrorKind(error), kind));

  it('claims the inner rejection of an lmdb-js "Commit failed" so it cannot end the process', async () => {
    let unhandled = 0;
    const onUnhandled = () => unhandled++;
    process.on('unhandledRejection', onUnhandled);
    const commitError = Promise.reject(Object.assign(new Error('No space left on device'), { code: 28 }));
    assert.equal(diskErrorKind(Object.assign(new Error('Commit failed (see commitError for details)'), { commitError })), 'failed');
    await sleep(10);
    process.off('unhandledRejection', onUnhandled);
    assert.equal(unhandled, 0);
  });
});

describe('a commit that fails in lmdb-js', () => {
  // The reserve keeps a full disk from reaching LMDB, but a commit can still fail (an I/O
  // error, an error of LMDB's own): a file-size limit (no root needed) makes a real one.
  it('does not end the process once its caller has handled it', () => {
    const script = `
      import { open } from 'lmdb';
      import { lmdbRootOptions } from ${JSON.stringify(new URL('./lmdb-engine.js', import.meta.url).href)};
      process.on('unhandledRejection', (error) => { console.log('unhandled: ' + error.message); process.exit(3); });
      const root = open(lmdbRootOptions(process.argv[1], false, 64 * 1024 * 1024));
      const db = root.openDB({ name: 'records' });
      let failed = 0;
      for (let round = 0; round < 40 && failed === 0; round++) {
        try {
          await root.transaction(() => { for (let i = 0; i < 2000; i++) db.putSync(round + ':' + i, 'v'.repeat(200)); });
        } catch (error) {
          failed++;
          await error.commitError?.catch(() => undefined); // as the engine does (commitCause)
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      console.log('failed commits: ' + failed);
    `;
    const child = spawnSync('sh', ['-c', 'ulimit -f 2048 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, freshPath()], {
      cwd: dirname(fileURLToPath(import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, `the process ended: ${child.stdout}${child.stderr.slice(-500)}`);
    assert.match(child.stdout, /failed commits: 1/);
  });
});

describe('LMDB engine when the disk fills up (free-space seam)', () => {
  it('refuses writes with StorageFullError, keeps serving reads, and takes writes again once space returns', async () => {
    let freeBytes = 64 * 1024 * 1024;
    const changes: StorageState[] = [];
    const engine = await LmdbEngine.open({
      hash,
      path: freshPath(),
      durable: false,
      reserveBytes: 256 * 1024,
      probeIntervalMs: 50,
      space: () => ({ freeBytes, totalBytes: 128 * 1024 * 1024 }),
      events: { changed: (status) => changes.push(status.state) },
    });
    const hints = engine.openHintStore();
    const before = await fill(engine, 'a', 100);
    assert.equal(before.full, 0);
    freeBytes = 0; // the disk is full: only what is reserved remains
    const during = await fill(engine, 'b', 200);
    assert.ok(during.full > 0, 'writes are refused once the reserve is used up');
    assert.equal(engine.storageStatus().state, 'full');
    assert.match(engine.storageStatus().reason ?? '', /free/);
    await assert.rejects(hints.add({ target: 'n2', key: 'h', record: live('x'), storedAtMs: 0 }), StorageFullError);
    assert.equal((await engine.get('a0'))?.value, value8k, 'reads are served');
    for (const key of during.stored) assert.equal((await engine.get(key))?.value, value8k, 'what was acknowledged is there');
    assert.equal(engine.storageUsage().reserveOverruns, 0, 'no commit outgrew the space reserved for it');
    freeBytes = 64 * 1024 * 1024;
    for (let waitedMs = 0; engine.storageStatus().state !== 'ok' && waitedMs < 2000; waitedMs += 25) await sleep(25);
    assert.equal(engine.storageStatus().state, 'ok', 'the idle probe sees the space');
    assert.equal((await fill(engine, 'c', 40)).full, 0);
    assert.deepEqual(changes, ['full', 'ok'], 'each change is reported once');
    await engine.close();
  });
});

describe('LMDB engine when the disk fails (fault hook)', () => {
  it('stops writes after an I/O error and reports it, but keeps serving reads', async () => {
    let failing = false;
    const wrapTransaction =
      (run: TransactionRunner): TransactionRunner =>
      (work, onLoop) =>
        failing ? Promise.reject(Object.assign(new Error('EIO: i/o error, pwrite'), { code: 5 })) : run(work, onLoop);
    const engine = await LmdbEngine.open({ hash, path: freshPath(), durable: false, wrapTransaction });
    await engine.apply('kept', live('before'));
    failing = true;
    await assert.rejects(engine.apply('lost', live('during')), StorageFailedError);
    failing = false; // the fault is gone, but a failed disk is not trusted again until a restart
    await assert.rejects(engine.apply('later', live('after')), StorageFailedError);
    await assert.rejects(engine.writeNumber('hlc-high-water', 5), StorageFailedError);
    assert.equal(engine.storageStatus().state, 'failed');
    assert.match(engine.storageStatus().reason ?? '', /EIO/);
    assert.equal((await engine.get('kept'))?.value, 'before');
    assert.equal(await engine.get('lost'), undefined);
    assert.equal(engine.liveCount(), 1);
    await engine.close();
  });
});

const mountable = process.getuid?.() === 0;

describe('LMDB engine on a real full disk (tmpfs)', { skip: mountable ? false : 'needs root to mount a tmpfs; skipped' }, () => {
  for (const durable of [false, true]) {
    it(`fills an 8 MiB tmpfs without crashing${durable ? ' (durable)' : ''}, restarts on it, and resumes when it grows`, async () => {
      const mountPoint = freshPath();
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint]);
      } catch (error) {
        assert.fail(`mount failed: ${(error as Error).message}`);
      }
      try {
        const path = join(mountPoint, 'lmdb');
        mkdirSync(path);
        let engine = await LmdbEngine.open({ hash, path, durable, reserveBytes: 1024 * 1024, probeIntervalMs: 50 });
        const { stored, full } = await fill(engine, 'k', 1400);
        assert.ok(full > 0 && stored.length > 0, `both stored (${stored.length}) and refused (${full})`);
        assert.equal(engine.storageStatus().state, 'full');
        assert.equal(engine.storageUsage().reserveOverruns, 0);
        await engine.close();
        engine = await LmdbEngine.open({ hash, path, durable, reserveBytes: 1024 * 1024, probeIntervalMs: 50 });
        for (const key of stored) assert.equal((await engine.get(key))?.value, value8k);
        assert.ok((await fill(engine, 'r', 200)).full > 0, 'a restarted full node still refuses writes');
        execFileSync('mount', ['-o', 'remount,size=32m', mountPoint]);
        for (let waitedMs = 0; engine.storageStatus().state !== 'ok' && waitedMs < 2000; waitedMs += 25) await sleep(25);
        assert.equal((await fill(engine, 'z', 100)).full, 0, 'writes resume by themselves');
        await engine.close();
      } finally {
        execFileSync('umount', ['-l', mountPoint]);
      }
    });
  }
});
