// Checks `ringkv node --config FILE`: file values parsed by the flags' own parsers, unknown
// keys and bad values refused with the key named, and, by running the compiled CLI with
// --print-config, precedence flag > environment > file > default and exit code 2 on bad settings.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { applyConfigEntries, describeSettings, readConfigFile } from './config-file.js';
import { nodeOptions } from './node-options.js';

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'ringkv-config-file-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function fileWith(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** A `node` command parsed from `args`, as the CLI builds it. */
function parsedNode(args: string[]): Command {
  const command = new Command('node').exitOverride();
  for (const option of nodeOptions()) command.addOption(option);
  command.parse(args, { from: 'user' });
  return command;
}

function ringkv(args: string[], env: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...clean, ...env } }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

describe('config file entries', () => {
  it('reads every kind of value the flags take: numbers, lists (YAML or comma text), switches, choices', () => {
    const command = parsedNode([]);
    const problems = applyConfigEntries(
      command,
      { id: 'n1', port: 9000, seeds: ['a:1', 'b:2'], 'cors-origins': 'http://x:1,http://y:2', durable: true, storage: 'memory', 'read-repair-chance': 0.5 },
      'f.yaml',
    );
    assert.deepEqual(problems, []);
    const opts = command.opts();
    assert.equal(opts.port, 9000);
    assert.deepEqual(opts.seeds, ['a:1', 'b:2']);
    assert.deepEqual(opts.corsOrigins, ['http://x:1', 'http://y:2']);
    assert.equal(opts.durable, true);
    assert.equal(opts.storage, 'memory');
    assert.equal(opts.readRepairChance, 0.5);
    assert.equal(command.getOptionValueSource('port'), 'config');
  });

  it('refuses unknown keys and bad values, naming each key, and sets nothing from them', () => {
    const command = parsedNode([]);
    const problems = applyConfigEntries(command, { writeTimeoutMs: 5, port: 'eighty', storage: 'disk', durable: 'yes', seeds: { a: 1 }, config: 'other.yaml' }, 'f.yaml');
    assert.equal(problems.length, 6, problems.join('\n'));
    assert.match(problems[0] ?? '', /unknown key "writeTimeoutMs"; did you mean "write-timeout-ms"/);
    assert.match(problems[1] ?? '', /key "port": "eighty": expected a whole number/);
    assert.match(problems[2] ?? '', /key "storage": "disk" is not one of lmdb, memory/);
    assert.match(problems[3] ?? '', /key "durable": expected true or false/);
    assert.match(problems[4] ?? '', /key "seeds"/);
    assert.match(problems[5] ?? '', /unknown key "config"/);
    assert.equal(command.getOptionValueSource('port'), 'default');
  });

  it('leaves values given as flags alone', () => {
    const command = parsedNode(['--port', '7000']);
    assert.deepEqual(applyConfigEntries(command, { port: 9000 }, 'f.yaml'), []);
    assert.equal(command.opts().port, 7000);
    assert.equal(command.getOptionValueSource('port'), 'cli');
  });

  it('refuses a file that is not a YAML mapping, or not there, saying which file', () => {
    assert.throws(() => readConfigFile(fileWith('list.yaml', '- a\n- b\n')), /list\.yaml must be a mapping/);
    assert.throws(() => readConfigFile(fileWith('broken.yaml', 'port: [8000\n')), /broken\.yaml is not valid YAML/);
    assert.throws(() => readConfigFile(fileWith('twice.yaml', 'port: 1\nport: 2\n')), /twice\.yaml is not valid YAML/);
    assert.throws(() => readConfigFile(join(scratch, 'absent.yaml')), /cannot read the config file .*absent\.yaml \(ENOENT\)/);
    assert.deepEqual(readConfigFile(fileWith('empty.yaml', '')), {});
  });

  it('prints secrets as (set) only', () => {
    const command = new Command('node').exitOverride();
    command.option('--cluster-secret <secret>', 'inline secret');
    command.parse(['--cluster-secret', 'hunter2'], { from: 'user' });
    const printed = describeSettings(command, undefined, {});
    assert.doesNotMatch(printed, /hunter2/);
    assert.match(printed, /cluster-secret: \(set\) {2}# flag --cluster-secret/);
  });
});

describe('ringkv node --config (compiled CLI)', () => {
  it('prints the effective settings with flag > environment > file > default, and exits 0 without starting', async () => {
    const file = fileWith('ringkv.yaml', 'id: n7\nport: 9100\nwrite-timeout-ms: 5000\nread-timeout-ms: 4000\nseeds: [localhost:9101]\nstorage: memory\n');
    const result = await ringkv(['node', '--config', file, '--port', '9200', '--print-config'], { RINGKV_WRITE_TIMEOUT_MS: '3000' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^port: 9200 {2}# flag --port$/m);
    assert.match(result.stdout, /^write-timeout-ms: 3000 {2}# env RINGKV_WRITE_TIMEOUT_MS$/m);
    assert.match(result.stdout, /^read-timeout-ms: 4000 {2}# file .*ringkv\.yaml$/m);
    assert.match(result.stdout, /^id: n7 {2}# file /m);
    assert.match(result.stdout, /^probe-interval-ms: 1000 {2}# default$/m);
    assert.match(result.stdout, /^data-dir: \.\/data\/n7 {2}# derived$/m);
    // The printed settings are themselves a config file that gives the same settings.
    const again = await ringkv(['node', '--config', fileWith('printed.yaml', result.stdout), '--print-config']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^write-timeout-ms: 3000 {2}# file /m);
  });

  it('reads a switch from the environment as meant: false leaves it off, true turns it on, anything else is refused', async () => {
    const off = await ringkv(['node', '--id', 'n1', '--print-config'], { RINGKV_INSECURE: 'false', RINGKV_DURABLE: '0' });
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, /^insecure: false {2}# default$/m);
    assert.match(off.stdout, /^durable: false {2}# default$/m);
    const on = await ringkv(['node', '--id', 'n1', '--print-config'], { RINGKV_DURABLE: 'yes' });
    assert.equal(on.status, 0, on.stderr);
    assert.match(on.stdout, /^durable: true {2}# env RINGKV_DURABLE$/m);
    const unclear = await ringkv(['node', '--id', 'n1', '--print-config'], { RINGKV_INSECURE: 'maybe' });
    assert.equal(unclear.status, 2);
    assert.match(unclear.stderr, /RINGKV_INSECURE="maybe" must be true or false/);
  });

  it('refuses bad settings from any source with exit code 2, naming the key and where it came from', async () => {
    const file = fileWith('bad.yaml', 'id: n1\nwrite-timeout-ms: 5\nbogus: 1\n');
    const unknown = await ringkv(['node', '--config', file]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown key "bogus"/);
    const range = await ringkv(['node', '--config', fileWith('range.yaml', 'id: n1\nwrite-timeout-ms: 5\n')]);
    assert.equal(range.status, 2);
    assert.match(range.stderr, /--write-timeout-ms must be 10\.\.600000 \(set by file .*range\.yaml\)/);
    const fromEnv = await ringkv(['node', '--id', 'n1', '--print-config'], { RINGKV_READ_TIMEOUT_MS: '1' });
    assert.equal(fromEnv.status, 2);
    assert.match(fromEnv.stderr, /--read-timeout-ms must be .* \(set by env RINGKV_READ_TIMEOUT_MS\)/);
    const noId = await ringkv(['node', '--print-config']);
    assert.equal(noId.status, 2);
    assert.match(noId.stderr, /--id is required/);
  });

  it('refuses a wildcard bind without --advertise, and accepts it with one', async () => {
    const refused = await ringkv(['node', '--id', 'n1', '--host', '0.0.0.0', '--insecure', '--print-config']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /peers cannot reach 0\.0\.0\.0: give --advertise <host> \(RINGKV_ADVERTISE\)/);
    const accepted = await ringkv(['node', '--id', 'n1', '--host', '0.0.0.0', '--insecure', '--print-config'], { RINGKV_ADVERTISE: '10.0.0.1' });
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.match(accepted.stdout, /^advertise: 10\.0\.0\.1 {2}# env RINGKV_ADVERTISE$/m);
  });

  it('ends usage errors with exit code 2', async () => {
    const result = await ringkv(['node', '--no-such-flag']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown option '--no-such-flag'/);
  });
});
