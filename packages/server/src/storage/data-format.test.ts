// Checks the data directory's format marker on real LMDB nodes: a new directory gets one,
// a directory from before markers is taken as format 1, and a node refuses a directory in a
// format it cannot read (a newer one, or a damaged marker) with a message naming both
// formats, without opening or changing anything in it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nodeConfigDefaults } from '../config.js';
import { startNode } from '../node.js';
import { ringkvVersion } from '../version.js';
import { checkDataFormat, dataFormat, DataFormatError, markDataFormat } from './data-format.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringkv-format-'));
  dirs.push(dir);
  return dir;
}

const start = (dataDir: string) => startNode({ ...nodeConfigDefaults, id: 'n1', port: 0, storage: 'lmdb', lmdbMapBytes: 16 * 1024 * 1024, storageReserveBytes: 65_536, dataDir });

describe('data format marker', () => {
  it('marks a new data directory with the format and release that created it', async () => {
    const dataDir = await freshDir();
    const running = await start(dataDir);
    await running.close();
    assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'FORMAT'), 'utf8')), { format: dataFormat, createdBy: ringkvVersion });
  });

  it('takes a directory written before markers existed as format 1', async () => {
    const dataDir = await freshDir();
    await mkdir(join(dataDir, 'lmdb'));
    assert.equal(checkDataFormat(dataDir), 1);
    assert.match(JSON.parse(await readFile(join(dataDir, 'FORMAT'), 'utf8')).createdBy, /before format markers/);
  });

  it('moves an older directory to the current format only once its storage is open, keeping who created it', async () => {
    const dataDir = await freshDir();
    await writeFile(join(dataDir, 'FORMAT'), JSON.stringify({ format: 1, createdBy: '0.1.0' }));
    assert.equal(checkDataFormat(dataDir), 1);
    assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'FORMAT'), 'utf8')), { format: 1, createdBy: '0.1.0' }, 'a crash before the storage is open leaves the old marker');
    markDataFormat(dataDir);
    assert.deepEqual(JSON.parse(await readFile(join(dataDir, 'FORMAT'), 'utf8')), { format: dataFormat, createdBy: '0.1.0' });
    assert.equal(checkDataFormat(dataDir), dataFormat);
  });

  it('refuses a newer format at start, naming both formats, and leaves the directory as it was', async () => {
    const dataDir = await freshDir();
    await writeFile(join(dataDir, 'FORMAT'), JSON.stringify({ format: dataFormat + 1, createdBy: '9.0.0' }));
    await assert.rejects(start(dataDir), (error: unknown) => {
      assert.ok(error instanceof DataFormatError);
      assert.match(error.message, new RegExp(`data format ${dataFormat + 1} \\(created by ringkv 9\\.0\\.0\\); ringkv ${ringkvVersion.replace(/\./g, '\\.')} reads formats 1\\.\\.${dataFormat}`));
      assert.match(error.message, /docs\/upgrading\.md/);
      return true;
    });
    assert.deepEqual(await readdir(dataDir), ['FORMAT'], 'nothing was opened or written');
  });

  it('refuses a damaged marker rather than guessing', async () => {
    const dataDir = await freshDir();
    await writeFile(join(dataDir, 'FORMAT'), 'not json');
    assert.throws(() => checkDataFormat(dataDir), /is not a ringkv data format marker/);
  });
});
