import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { bundledCommands } from './cli-bundle.js';

describe('bundledCommands', () => {
  const root = mkdtempSync(join(tmpdir(), 'ringkv-cli-bundle-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A checkout's packages/ with the given files, each modified at the given second. */
  function packages(name: string, files: Record<string, number>): string {
    const base = join(root, name);
    for (const [path, second] of Object.entries(files)) {
      const file = join(base, path);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, '');
      utimesSync(file, second, second);
    }
    return pathToFileURL(join(base, 'server', 'dist', 'cli.js')).href;
  }
  const infos = { 'server/tsconfig.tsbuildinfo': 100, 'core/tsconfig.tsbuildinfo': 100, 'client/tsconfig.tsbuildinfo': 100 };

  it('takes the bundle when it was made after every compile', () => {
    const entry = packages('fresh', { ...infos, 'server/dist/cli-program.bundle.js': 200 });
    assert.equal(bundledCommands(entry), new URL('cli-program.bundle.js', entry).href);
  });

  it('takes the compiled files when a package was compiled after the bundle', () => {
    for (const stale of Object.keys(infos)) {
      const entry = packages(`stale-${stale.split('/')[0]}`, { ...infos, [stale]: 300, 'server/dist/cli-program.bundle.js': 200 });
      assert.equal(bundledCommands(entry), undefined, stale);
    }
  });

  it('takes the compiled files when there is no bundle', () => {
    assert.equal(bundledCommands(packages('unbundled', infos)), undefined);
  });

  it('takes the bundle where no build info is kept (an installed image)', () => {
    const entry = packages('image', { 'server/dist/cli-program.bundle.js': 200 });
    assert.equal(bundledCommands(entry), new URL('cli-program.bundle.js', entry).href);
  });
});
