// Checks what `ringkv cluster` prepares in a real temp data dir before starting nodes: a private cluster secret passed as a file, and with --secure certificates and an admin token that survive restarts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prepareClusterSecurity } from './local-cluster.js';
import { AuthTokens, revokeToken } from './security/auth-tokens.js';
import { nodeCertificateUsable } from './security/certs.js';

const root = mkdtempSync(join(tmpdir(), 'ringkv-local-cluster-'));
after(() => rmSync(root, { recursive: true, force: true }));
const posix = process.platform !== 'win32';

describe('prepareClusterSecurity', () => {
  it('generates a 0600 cluster secret and hands the nodes its path, never the secret', () => {
    const dataDir = join(root, 'plain');
    const security = prepareClusterSecurity({ nodes: 3, host: '127.0.0.1', dataDir, secure: false });
    const secret = readFileSync(join(dataDir, 'cluster-secret'), 'utf8').trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    if (posix) assert.equal(statSync(join(dataDir, 'cluster-secret')).mode & 0o777, 0o600);
    assert.equal(security.scheme, 'http');
    assert.deepEqual(security.nodeArgs('n1'), ['--cluster-secret-file', join(dataDir, 'cluster-secret')]);
    assert.equal(security.tls, undefined);
    const again = prepareClusterSecurity({ nodes: 3, host: '127.0.0.1', dataDir, secure: false });
    assert.equal(readFileSync(again.secretFile, 'utf8').trim(), secret, 'a restart keeps the secret');
  });

  it('with --secure makes certificates, an auth file and an admin token, and passes only file paths', () => {
    const dataDir = join(root, 'secure');
    const security = prepareClusterSecurity({ nodes: 3, host: '127.0.0.1', dataDir, secure: true });
    const tls = security.tls!;
    assert.equal(security.scheme, 'https');
    assert.match(tls.token, /^rkv_/);
    assert.equal(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(), tls.token);
    if (posix) assert.equal(statSync(join(dataDir, 'admin-token')).mode & 0o777, 0o600);
    const check = AuthTokens.load(join(dataDir, 'auth.json')).verify(tls.token, Date.now());
    assert.ok(check.ok && check.identity.role === 'admin' && check.identity.name === 'admin' && check.identity.prefix === null);
    for (const nodeId of ['n1', 'n2', 'n3']) assert.equal(nodeCertificateUsable(join(dataDir, 'certs'), nodeId, ['127.0.0.1', 'localhost'], Date.now()), true, nodeId);
    const args = security.nodeArgs('n2');
    assert.deepEqual(args, [
      '--cluster-secret-file', join(dataDir, 'cluster-secret'),
      '--tls-cert', join(dataDir, 'certs', 'n2.pem'),
      '--tls-key', join(dataDir, 'certs', 'n2-key.pem'),
      '--tls-ca', join(dataDir, 'certs', 'ca.pem'),
      '--auth-file', join(dataDir, 'auth.json'),
    ]);
    assert.ok(!args.some((arg) => arg.includes(tls.token)));
  });

  it('on restart keeps the token and certificates, adds a certificate for a new node, and replaces a revoked token', () => {
    const dataDir = join(root, 'restart');
    const first = prepareClusterSecurity({ nodes: 2, host: '127.0.0.1', dataDir, secure: true });
    const caPem = readFileSync(join(dataDir, 'certs', 'ca.pem'), 'utf8');
    const n1Pem = readFileSync(join(dataDir, 'certs', 'n1.pem'), 'utf8');
    const second = prepareClusterSecurity({ nodes: 3, host: '127.0.0.1', dataDir, secure: true });
    assert.equal(second.tls!.token, first.tls!.token);
    assert.equal(readFileSync(join(dataDir, 'certs', 'ca.pem'), 'utf8'), caPem);
    assert.equal(readFileSync(join(dataDir, 'certs', 'n1.pem'), 'utf8'), n1Pem);
    assert.equal(nodeCertificateUsable(join(dataDir, 'certs'), 'n3', ['127.0.0.1'], Date.now()), true);
    revokeToken(join(dataDir, 'auth.json'), 'admin');
    const third = prepareClusterSecurity({ nodes: 3, host: '127.0.0.1', dataDir, secure: true });
    assert.notEqual(third.tls!.token, first.tls!.token);
    assert.equal(AuthTokens.load(join(dataDir, 'auth.json')).verify(third.tls!.token, Date.now()).ok, true);
    assert.equal(AuthTokens.load(join(dataDir, 'auth.json')).size, 1);
  });

  it('reissues node certificates when the cluster moves to another host', () => {
    const dataDir = join(root, 'moved');
    prepareClusterSecurity({ nodes: 1, host: '127.0.0.1', dataDir, secure: true });
    prepareClusterSecurity({ nodes: 1, host: '127.0.0.2', dataDir, secure: true });
    assert.equal(nodeCertificateUsable(join(dataDir, 'certs'), 'n1', ['127.0.0.2', '127.0.0.1', 'localhost'], Date.now()), true);
  });
});
