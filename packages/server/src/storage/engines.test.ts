// Runs the Engine compliance suite against the memory engine and the LMDB engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadKeyHasher, MemoryEngine } from '@ringkv/core';
import { engineComplianceSuite } from './engine-compliance.js';
import { LmdbEngine } from './lmdb-engine.js';

const hash = await loadKeyHasher();

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

engineComplianceSuite('memory', { create: async () => new MemoryEngine(await loadKeyHasher()) });

let lastPath = '';
engineComplianceSuite('lmdb', {
  create: async () => {
    lastPath = mkdtempSync(join(tmpdir(), 'ringkv-lmdb-'));
    directories.push(lastPath);
    return LmdbEngine.open({ hash, path: lastPath, durable: false });
  },
  reopen: () => LmdbEngine.open({ hash, path: lastPath, durable: true }),
});

describe('LMDB engine numbers beside the data', () => {
  it('keeps a saved number across a reopen (the clock high-water mark)', async () => {
    const path = mkdtempSync(join(tmpdir(), 'ringkv-lmdb-meta-'));
    directories.push(path);
    const engine = await LmdbEngine.open({ hash, path, durable: false });
    assert.equal(engine.readNumber('hlc-high-water'), undefined);
    await engine.writeNumber('hlc-high-water', 123_456_789);
    await engine.close();
    const again = await LmdbEngine.open({ hash, path, durable: false });
    assert.equal(again.readNumber('hlc-high-water'), 123_456_789);
    await again.close();
  });
});
