// Checks `ringkv token` and `ringkv certs` by running the compiled CLI as a user would: output, files written, exit codes and error messages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { AuthTokens } from './security/auth-tokens.js';

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const root = mkdtempSync(join(tmpdir(), 'ringkv-security-commands-'));
after(() => rmSync(root, { recursive: true, force: true }));
const commandTimeoutMs = 30_000;

function ringkv(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  // Only the variables a test sets: a RINGKV_* from the caller's shell must not leak in.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_')));
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: commandTimeoutMs, env: { ...inherited, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('ringkv token', () => {
  const authFile = join(root, 'auth.json');

  it('create prints the token as the last line, and the file accepts it with its role and prefix', () => {
    const result = ringkv(['token', 'create', '--auth-file', authFile, '--role', 'write', '--name', 'app', '--prefix', 'app/', '--expires', '30d']);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    const token = lines[lines.length - 1]!;
    assert.match(token, /^rkv_[A-Za-z0-9_-]{43}$/);
    assert.match(lines[0]!, /Created token "app" .* role write, keys starting with "app\/", expires \d{4}-/);
    const check = AuthTokens.load(authFile).verify(`Bearer ${token}`, Date.now());
    assert.ok(check.ok && check.identity.role === 'write' && check.identity.prefix === 'app/');
  });

  it('takes the file from RINGKV_AUTH_FILE and lists names, roles, prefixes and expiry, never hashes', () => {
    const created = ringkv(['token', 'create', '--role', 'admin'], { RINGKV_AUTH_FILE: authFile });
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trimEnd().split('\n').pop()!;
    const listed = ringkv(['token', 'list'], { RINGKV_AUTH_FILE: authFile });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME +ROLE +PREFIX +EXPIRES +CREATED$/m);
    assert.match(listed.stdout, /^app +write +"app\/" +\d{4}-/m);
    assert.match(listed.stdout, /^admin-1 +admin +\(all keys\) +never/m);
    assert.match(listed.stdout, /2 tokens in /);
    assert.ok(!listed.stdout.includes('sha256') && !listed.stdout.includes(token));
  });

  it('revoke removes a token, and says so when there is none by that name', () => {
    const revoked = ringkv(['token', 'revoke', '--auth-file', authFile, '--name', 'admin-1']);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, /Revoked token "admin-1"/);
    const again = ringkv(['token', 'revoke', '--auth-file', authFile, '--name', 'admin-1']);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /has no token named "admin-1"/);
    assert.equal(AuthTokens.load(authFile).size, 1);
  });

  it('refuses bad input with a message and exit code 2, writing nothing', () => {
    const before = readFileSync(authFile, 'utf8');
    const cases: Array<[string[], RegExp]> = [
      [['token', 'create', '--auth-file', authFile, '--role', 'owner'], /Allowed choices are read, write, admin/],
      [['token', 'create', '--auth-file', authFile, '--role', 'read', '--expires', '1y'], /"1y" is not a duration/],
      [['token', 'create', '--auth-file', authFile, '--role', 'read', '--name', 'a b'], /--name <name>.*is invalid/],
      [['token', 'create', '--auth-file', authFile, '--role', 'read', '--name', 'app'], /already has a token named "app"/],
      [['token', 'create', '--role', 'read'], /--auth-file <file>' not specified/],
      [['token', 'list', '--auth-file', join(root, 'absent.json')], /absent\.json: it does not exist/],
    ];
    for (const [args, message] of cases) {
      const result = ringkv(args);
      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
    assert.equal(readFileSync(authFile, 'utf8'), before);
  });
});

describe('ringkv certs create', () => {
  it('writes a CA and node certificates and says how to start the nodes', () => {
    const outDir = join(root, 'certs');
    const result = ringkv(['certs', 'create', '--out', outDir, '--nodes', 'n1,n2', '--hosts', '127.0.0.1,localhost', '--days', '90']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Created a CA/);
    assert.match(result.stdout, /--tls-cert .*<id>\.pem --tls-key .*<id>-key\.pem --tls-ca .*ca\.pem/);
    for (const file of ['ca.pem', 'ca-key.pem', 'n1.pem', 'n1-key.pem', 'n2.pem', 'n2-key.pem']) assert.ok(existsSync(join(outDir, file)), file);
    const again = ringkv(['certs', 'create', '--out', outDir, '--nodes', 'n3']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /Reused the CA/);
  });

  it('refuses a bad host or node id with exit code 2', () => {
    const badHost = ringkv(['certs', 'create', '--out', join(root, 'bad'), '--nodes', 'n1', '--hosts', 'not a host']);
    assert.equal(badHost.status, 2);
    assert.match(badHost.stderr, /ringkv certs create: "not a host" is neither an IP address nor a DNS name/);
    const badNode = ringkv(['certs', 'create', '--out', join(root, 'bad'), '--nodes', 'n1,../x']);
    assert.equal(badNode.status, 2);
    assert.match(badNode.stderr, /"\.\.\/x" is not a node id/);
    assert.equal(existsSync(join(root, 'bad')), false);
  });
});
