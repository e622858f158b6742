// Runs the Engine compliance suite against the memory engine and the LMDB engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { MemoryEngine } from '@ringkv/core';
import { engineComplianceSuite } from './engine-compliance.js';
import { LmdbEngine } from './lmdb-engine.js';

const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

engineComplianceSuite('memory', { create: async () => new MemoryEngine() });

let lastPath = '';
engineComplianceSuite('lmdb', {
  create: async () => {
    lastPath = mkdtempSync(join(tmpdir(), 'ringkv-lmdb-'));
    directories.push(lastPath);
    return LmdbEngine.open({ path: lastPath, durable: false });
  },
  reopen: () => LmdbEngine.open({ path: lastPath, durable: true }),
});
