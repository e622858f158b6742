// Checks reading, generating and refusing cluster secret files on a real temp folder.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureClusterSecretFile, readClusterSecrets } from './cluster-secret.js';

const root = mkdtempSync(join(tmpdir(), 'ringkv-cluster-secret-'));
after(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
function secretFile(text?: string, mode = 0o600): string {
  const path = join(root, `secret-${files++}`);
  if (text !== undefined) writeFileSync(path, text, { mode });
  return path;
}

const posix = process.platform !== 'win32';

describe('ensureClusterSecretFile', () => {
  it('creates a 64-hex-digit secret, mode 0600, in a folder it creates', () => {
    const path = join(root, 'new-dir', 'cluster-secret');
    assert.equal(ensureClusterSecretFile(path), true);
    assert.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/);
    if (posix) assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readClusterSecrets(path), { secrets: [readFileSync(path, 'utf8').trim()], warnings: [] });
    assert.deepEqual(readdirSync(join(root, 'new-dir')), ['cluster-secret'], 'no temp file left');
  });

  it('keeps an existing file as it is', () => {
    const path = secretFile('my-own-secret-of-some-length\n');
    assert.equal(ensureClusterSecretFile(path), false);
    assert.equal(readFileSync(path, 'utf8'), 'my-own-secret-of-some-length\n');
  });

  it('gives two clusters different secrets', () => {
    const first = secretFile();
    const second = secretFile();
    ensureClusterSecretFile(first);
    ensureClusterSecretFile(second);
    assert.notEqual(readFileSync(first, 'utf8'), readFileSync(second, 'utf8'));
  });
});

describe('readClusterSecrets', () => {
  it('reads one secret, trimming spaces and a CRLF end', () => {
    assert.deepEqual(readClusterSecrets(secretFile('  0123456789abcdef0123 \r\n')).secrets, ['0123456789abcdef0123']);
  });

  it('reads two secrets while rotating, the new one first, skipping blank lines', () => {
    assert.deepEqual(readClusterSecrets(secretFile('new-secret-0123456789\n\nold-secret-0123456789\n')).secrets, ['new-secret-0123456789', 'old-secret-0123456789']);
  });

  it('refuses an empty file, a short secret and more than two lines, naming the file', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /is empty/],
      ['\n  \n', /is empty/],
      ['short\n', /line 1 .* is 5 characters long: a secret needs at least 16/],
      ['long-enough-secret-0000\n15-characters!!\n', /line 2 .* is 15 characters long/],
      ['aaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbb\ncccccccccccccccc\n', /has 3 lines/],
    ];
    for (const [text, message] of cases) {
      const path = secretFile(text);
      assert.throws(() => readClusterSecrets(path), (error: Error) => message.test(error.message) && error.message.includes(path), JSON.stringify(text));
    }
    assert.throws(() => readClusterSecrets(join(root, 'absent')), /cannot read the cluster secret file .*absent: it does not exist/);
  });

  it('warns when other users may read the file', { skip: !posix }, () => {
    const path = secretFile('0123456789abcdef0123\n');
    chmodSync(path, 0o644);
    const { warnings } = readClusterSecrets(path);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /mode 0644: other users may read it; run `chmod 600 /);
    chmodSync(path, 0o400);
    assert.deepEqual(readClusterSecrets(path).warnings, []);
  });
});
