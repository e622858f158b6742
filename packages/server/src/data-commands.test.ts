// Runs the compiled CLI's data commands as a user would (`ringkv put|get|delete|keys
// --node <url>`) against a real node started alone in this process, and checks output,
// exit codes and the error a bad level or an absent key gets.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { nodeConfigDefaults } from './config.js';
import { startNode, type RunningNode } from './node.js';

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const commandTimeoutMs = 30_000;
let running: RunningNode;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ringkv-data-commands-'));
  running = await startNode({ ...nodeConfigDefaults, id: 'n1', port: 0, storage: 'memory', dataDir });
});

after(async () => {
  await running.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process, which serves the node it talks to. */
function ringkv(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  // Only the variables a test sets: a RINGKV_* from the caller's shell must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args, '--node', running.url], { encoding: 'utf8', timeout: commandTimeoutMs, env }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('ringkv get, put, delete and keys', () => {
  it('puts JSON and text, gets them back as JSON, and lists the keys', async () => {
    const put = await ringkv(['put', 'app/config', '{"retries":3}']);
    assert.equal(put.status, 0, put.stderr);
    assert.match(put.stdout, /^\d+-n1\n$/, 'the version');
    assert.match(put.stderr, /stored "app\/config" on 1 replica/);
    assert.equal((await ringkv(['put', 'greeting', 'hello world', '--w', 'all'])).status, 0);
    const get = await ringkv(['get', 'app/config']);
    assert.equal(get.status, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout), { retries: 3 });
    assert.equal((await ringkv(['get', 'greeting', '--r', 'one'])).stdout, '"hello world"\n');
    const keys = await ringkv(['keys', '--prefix', 'app/']);
    assert.equal(keys.stdout, 'app/config\n');
  });

  it('deletes, and then get exits 1 saying the key does not exist', async () => {
    assert.equal((await ringkv(['put', 'gone', '1'])).status, 0);
    const deleted = await ringkv(['delete', 'gone']);
    assert.equal(deleted.status, 0, deleted.stderr);
    const get = await ringkv(['get', 'gone']);
    assert.equal(get.status, 1);
    assert.equal(get.stdout, '');
    assert.match(get.stderr, /"gone" does not exist/);
  });

  it('passes on the node\'s answer to a bad level, with exit 1 and no stack trace', async () => {
    const put = await ringkv(['put', 'k', '1', '--w', 'most']);
    assert.equal(put.status, 1);
    assert.match(put.stderr, /^ringkv: unknown consistency level w="most"/);
    assert.doesNotMatch(put.stderr, /\bat .*\.js:\d+/);
  });
});
