// Checks the token file end to end on a real temp folder: create, verify, expire, revoke, reload, and refusing malformed files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthTokens, createToken, listTokens, parseDuration, revokeToken } from './auth-tokens.js';

const root = mkdtempSync(join(tmpdir(), 'ringkv-auth-tokens-'));
after(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
function freshFile(): string {
  return join(mkdtempSync(join(root, `case-${folders++}-`)), 'auth.json');
}

const nowMs = Date.parse('2030-01-01T00:00:00.000Z');

describe('createToken', () => {
  it('stores only the SHA-256 of a random rkv_ token, in a 0600 file', () => {
    const path = freshFile();
    const { token, entry } = createToken(path, { role: 'write', name: 'ci', prefix: 'app/' }, nowMs);
    assert.match(token, /^rkv_[A-Za-z0-9_-]{43}$/);
    const text = readFileSync(path, 'utf8');
    assert.ok(!text.includes(token.slice(4)), 'the plain token must not be in the file');
    const parsed = JSON.parse(text) as { version: number; tokens: unknown[] };
    assert.equal(parsed.version, 1);
    assert.deepEqual(parsed.tokens, [
      { name: 'ci', role: 'write', hash: `sha256:${createHash('sha256').update(token).digest('hex')}`, createdAt: '2030-01-01T00:00:00.000Z', prefix: 'app/' },
    ]);
    assert.deepEqual(entry, parsed.tokens[0]);
    if (process.platform !== 'win32') assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('gives every token a different value and leaves no temp files behind', () => {
    const path = freshFile();
    const tokens = new Set(Array.from({ length: 20 }, () => createToken(path, { role: 'read' }, nowMs).token));
    assert.equal(tokens.size, 20);
    assert.deepEqual(readdirSync(join(path, '..')), ['auth.json']);
  });

  it('names tokens <role>-<n> by default and refuses a duplicate name', () => {
    const path = freshFile();
    assert.equal(createToken(path, { role: 'read' }, nowMs).entry.name, 'read-1');
    assert.equal(createToken(path, { role: 'read' }, nowMs).entry.name, 'read-2');
    assert.equal(createToken(path, { role: 'admin' }, nowMs).entry.name, 'admin-1');
    assert.throws(() => createToken(path, { role: 'write', name: 'read-1' }, nowMs), /already has a token named "read-1"/);
    assert.equal(listTokens(path).length, 3);
  });

  it('refuses bad names, roles, prefixes and expiries', () => {
    const path = freshFile();
    assert.throws(() => createToken(path, { role: 'read', name: 'has space' }, nowMs), /token name "has space" is not allowed/);
    assert.throws(() => createToken(path, { role: 'root' as 'read' }, nowMs), /unknown role "root"/);
    assert.throws(() => createToken(path, { role: 'toString' as 'read' }, nowMs), /unknown role/);
    assert.throws(() => createToken(path, { role: 'read', prefix: '' }, nowMs), /prefix is empty/);
    assert.throws(() => createToken(path, { role: 'read', prefix: 'x'.repeat(1025) }, nowMs), /longer than the longest key/);
    assert.throws(() => createToken(path, { role: 'read', expiresInMs: 0 }, nowMs), /positive duration/);
    assert.throws(() => AuthTokens.load(path), /does not exist/, 'nothing is written for a refused token');
  });

  it('tightens the mode of an existing file it rewrites', { skip: process.platform === 'win32' }, () => {
    const path = freshFile();
    createToken(path, { role: 'read' }, nowMs);
    chmodSync(path, 0o644);
    createToken(path, { role: 'read' }, nowMs);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});

describe('AuthTokens.verify', () => {
  it('accepts the token alone or as an Authorization header value, and tells missing from unknown', () => {
    const path = freshFile();
    const { token } = createToken(path, { role: 'admin', name: 'ops' }, nowMs);
    const tokens = AuthTokens.load(path);
    assert.equal(tokens.size, 1);
    const identity = { name: 'ops', role: 'admin', prefix: null, expiresAtMs: null };
    assert.deepEqual(tokens.verify(token, nowMs), { ok: true, identity });
    assert.deepEqual(tokens.verify(`Bearer ${token}`, nowMs), { ok: true, identity });
    assert.deepEqual(tokens.verify(`bearer   ${token} `, nowMs), { ok: true, identity });
    for (const missing of [undefined, '', '   ', 'Bearer', 'Bearer   ']) assert.deepEqual(tokens.verify(missing, nowMs), { ok: false, reason: 'missing' }, String(missing));
    for (const unknown of [`${token}x`, token.slice(0, -1), 'rkv_', `Basic ${token}`, token.toUpperCase()]) {
      assert.deepEqual(tokens.verify(unknown, nowMs), { ok: false, reason: 'unknown' }, unknown);
    }
    assert.deepEqual(AuthTokens.empty().verify(token, nowMs), { ok: false, reason: 'unknown' });
    assert.equal(AuthTokens.empty().size, 0);
  });

  it('carries the prefix and refuses a token from its expiry instant on', () => {
    const path = freshFile();
    const { token } = createToken(path, { role: 'read', name: 'tenant', prefix: 'tenant-a/', expiresInMs: parseDuration('1h') }, nowMs);
    const tokens = AuthTokens.load(path);
    const expiresAtMs = nowMs + 3_600_000;
    assert.deepEqual(tokens.verify(token, expiresAtMs - 1), { ok: true, identity: { name: 'tenant', role: 'read', prefix: 'tenant-a/', expiresAtMs } });
    assert.deepEqual(tokens.verify(token, expiresAtMs), { ok: false, reason: 'expired' });
    assert.equal(listTokens(path)[0]?.expiresAt, '2030-01-01T01:00:00.000Z');
  });

  it('forgets a revoked token once the file is reloaded, and keeps the others', () => {
    const path = freshFile();
    const first = createToken(path, { role: 'write', name: 'first' }, nowMs).token;
    const second = createToken(path, { role: 'read', name: 'second' }, nowMs).token;
    assert.equal(revokeToken(path, 'first'), true);
    assert.equal(revokeToken(path, 'first'), false);
    const tokens = AuthTokens.load(path);
    assert.deepEqual(tokens.verify(first, nowMs), { ok: false, reason: 'unknown' });
    assert.equal(tokens.verify(second, nowMs).ok, true);
    assert.deepEqual(listTokens(path).map((entry) => entry.name), ['second']);
    assert.ok(listTokens(path).every((entry) => !('hash' in entry)), 'listings never show hashes');
  });
});

describe('AuthTokens.load', () => {
  const hash = `sha256:${'a'.repeat(64)}`;
  const entry = { name: 'x', role: 'read', hash, createdAt: '2030-01-01T00:00:00.000Z' };
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"version":1,', /is not valid JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['another version', JSON.stringify({ version: 2, tokens: [] }), /unsupported "version" 2/],
    ['no token list', JSON.stringify({ version: 1 }), /"tokens" must be an array/],
    ['an unknown role', JSON.stringify({ version: 1, tokens: [{ ...entry, role: 'owner' }] }), /tokens\[0\]: "role" must be/],
    ['a plain token instead of a hash', JSON.stringify({ version: 1, tokens: [{ ...entry, hash: 'rkv_abc' }] }), /"hash" must be "sha256:"/],
    ['a bad date', JSON.stringify({ version: 1, tokens: [{ ...entry, expiresAt: 'soon' }] }), /"expiresAt" must be an ISO 8601 date/],
    ['an empty prefix', JSON.stringify({ version: 1, tokens: [{ ...entry, prefix: '' }] }), /"prefix" must be a non-empty string/],
    ['a name twice', JSON.stringify({ version: 1, tokens: [entry, { ...entry, hash: `sha256:${'b'.repeat(64)}` }] }), /the name "x" appears twice/],
    ['a hash twice', JSON.stringify({ version: 1, tokens: [entry, { ...entry, name: 'y' }] }), /the same hash appears twice/],
  ];
  for (const [what, text, message] of cases) {
    it(`refuses a file with ${what}, naming the file`, () => {
      const path = freshFile();
      writeFileSync(path, text);
      assert.throws(
        () => AuthTokens.load(path),
        (error: Error) => message.test(error.message) && error.message.includes(path),
      );
    });
  }

  it('reads a well-formed file written by hand', () => {
    const path = freshFile();
    writeFileSync(path, JSON.stringify({ version: 1, tokens: [entry] }));
    assert.equal(AuthTokens.load(path).size, 1);
  });
});

describe('parseDuration', () => {
  it('reads days, hours, minutes and seconds', () => {
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('15m'), 15 * 60_000);
    assert.equal(parseDuration('3600s'), 3_600_000);
    assert.equal(parseDuration(' 7 d '), 7 * 86_400_000);
  });

  it('refuses anything else with an example of what works', () => {
    for (const text of ['', '30', 'd', '1.5h', '-1d', '1w', '10ms', '1h30m', '0s', '999999999999d']) {
      assert.throws(() => parseDuration(text), /duration|longer than any date/, text);
    }
  });
});
