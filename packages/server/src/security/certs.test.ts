// Checks `certs create` with the real openssl: the certificates as openssl and Node read them, and real mutual-TLS handshakes on loopback that accept this CA's nodes and refuse another CA's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createCertificates, nodeCertificateUsable, type CertificateSet } from './certs.js';

const root = mkdtempSync(join(tmpdir(), 'ringkv-certs-'));
after(() => rmSync(root, { recursive: true, force: true }));
const handshakeTimeoutMs = 5000;
const posix = process.platform !== 'win32';

function pem(path: string): string {
  return readFileSync(path, 'utf8');
}

interface HandshakeResult {
  /** What the client saw, or its error. */
  client: { authorized: boolean; peerCn: string | undefined; error: string | undefined };
  /** The SAN of the certificate the server received, if the handshake got that far. */
  serverSawSan: string | undefined;
}

/** One mutual-TLS handshake on 127.0.0.1: the server demands a client certificate from its CA. */
async function handshake(
  server: { cert: string; key: string; ca: string },
  client: { cert?: string; key?: string; ca: string; servername?: string },
): Promise<HandshakeResult> {
  let serverSawSan: string | undefined;
  const tlsServer = createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (socket: TLSSocket) => {
    serverSawSan = socket.getPeerX509Certificate()?.subjectAltName;
    socket.end('hello');
  });
  tlsServer.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const port = (tlsServer.address() as AddressInfo).port;
  try {
    const clientResult = await new Promise<HandshakeResult['client']>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ...client, ...(client.servername === undefined ? {} : { servername: client.servername }) });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ authorized: false, peerCn: undefined, error: 'timeout' });
      }, handshakeTimeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        resolve({ authorized: false, peerCn: undefined, error: error.message });
      });
      // A server that refuses the client's certificate under TLS 1.3 may just close.
      socket.once('close', () => {
        clearTimeout(timer);
        resolve({ authorized: false, peerCn: undefined, error: 'closed before any data' });
      });
      socket.once('data', () => {
        clearTimeout(timer);
        const peerCn = socket.getPeerX509Certificate()?.subject;
        resolve({ authorized: socket.authorized, peerCn, error: undefined });
        socket.destroy();
      });
    });
    return { client: clientResult, serverSawSan };
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

describe('createCertificates', () => {
  const outDir = join(root, 'cluster');
  let set: CertificateSet;
  before(() => {
    set = createCertificates({ outDir, nodeIds: ['n1', 'n2'], hosts: ['127.0.0.1', 'localhost', '::1'], days: 825 });
  });

  it('writes a new CA and a certificate and key per node, keys mode 0600', () => {
    assert.equal(set.caCreated, true);
    assert.deepEqual(set.warnings, []);
    assert.deepEqual(set.nodes.map((node) => node.nodeId), ['n1', 'n2']);
    for (const file of ['ca.pem', 'ca-key.pem', 'n1.pem', 'n1-key.pem', 'n2.pem', 'n2-key.pem']) assert.ok(existsSync(join(outDir, file)), file);
    if (posix) {
      for (const key of ['ca-key.pem', 'n1-key.pem', 'n2-key.pem']) assert.equal(statSync(join(outDir, key)).mode & 0o777, 0o600, key);
    }
  });

  it('makes certificates openssl reads as a CA and as node certificates it signed', () => {
    const caText = execFileSync('openssl', ['x509', '-in', join(outDir, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' });
    assert.match(caText, /CA:TRUE/);
    assert.match(caText, /Certificate Sign/);
    assert.match(caText, /ASN1 OID: prime256v1/);
    const nodeText = execFileSync('openssl', ['x509', '-in', join(outDir, 'n1.pem'), '-noout', '-text'], { encoding: 'utf8' });
    assert.match(nodeText, /Subject: CN ?= ?n1/);
    assert.match(nodeText, /CA:FALSE/);
    assert.match(nodeText, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(nodeText, /URI:urn:ringkv:node:n1, IP Address:127\.0\.0\.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1/);
    assert.match(nodeText, /ecdsa-with-SHA256/);
    const verified = execFileSync('openssl', ['verify', '-CAfile', join(outDir, 'ca.pem'), join(outDir, 'n1.pem'), join(outDir, 'n2.pem')], { encoding: 'utf8' });
    assert.match(verified, /n1\.pem: OK/);
    assert.match(verified, /n2\.pem: OK/);
  });

  it('makes certificates Node reads with the node id in CN and SAN URI', () => {
    const ca = new X509Certificate(pem(join(outDir, 'ca.pem')));
    const n2 = new X509Certificate(pem(join(outDir, 'n2.pem')));
    assert.equal(ca.ca, true);
    assert.equal(n2.ca, false);
    assert.equal(n2.subject, 'CN=n2');
    assert.equal(n2.subjectAltName, 'URI:urn:ringkv:node:n2, IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1');
    assert.deepEqual(n2.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.ok(n2.checkIssued(ca) && n2.verify(ca.publicKey));
    const validDays = (Date.parse(n2.validTo) - Date.parse(n2.validFrom)) / 86_400_000;
    assert.ok(Math.abs(validDays - 825) < 1, `${validDays} days`);
    assert.ok(Date.parse(ca.validTo) > Date.parse(n2.validTo), 'the CA outlives its node certificates');
  });

  it('completes a mutual-TLS handshake between two nodes, by DNS name and by IP', async () => {
    const server = { cert: pem(join(outDir, 'n1.pem')), key: pem(join(outDir, 'n1-key.pem')), ca: pem(join(outDir, 'ca.pem')) };
    const client = { cert: pem(join(outDir, 'n2.pem')), key: pem(join(outDir, 'n2-key.pem')), ca: pem(join(outDir, 'ca.pem')) };
    const byName = await handshake(server, { ...client, servername: 'localhost' });
    assert.deepEqual(byName.client, { authorized: true, peerCn: 'CN=n1', error: undefined });
    assert.match(byName.serverSawSan ?? '', /^URI:urn:ringkv:node:n2,/);
    const byIp = await handshake(server, client);
    assert.equal(byIp.client.authorized, true, byIp.client.error);
  });

  it('reuses the CA to add a node later; old and new nodes trust each other', async () => {
    const caBefore = pem(join(outDir, 'ca.pem'));
    const added = createCertificates({ outDir, nodeIds: ['n3'], hosts: ['127.0.0.1'], days: 30 });
    assert.equal(added.caCreated, false);
    assert.equal(pem(join(outDir, 'ca.pem')), caBefore);
    const result = await handshake(
      { cert: pem(join(outDir, 'n3.pem')), key: pem(join(outDir, 'n3-key.pem')), ca: caBefore },
      { cert: pem(join(outDir, 'n1.pem')), key: pem(join(outDir, 'n1-key.pem')), ca: caBefore },
    );
    assert.equal(result.client.authorized, true, result.client.error);
  });

  it('tells which node certificates can be reused', () => {
    const nowMs = Date.now();
    assert.equal(nodeCertificateUsable(outDir, 'n1', ['127.0.0.1', 'localhost', '::1'], nowMs), true);
    assert.equal(nodeCertificateUsable(outDir, 'n1', ['10.1.2.3'], nowMs), false, 'a host it does not cover');
    assert.equal(nodeCertificateUsable(outDir, 'n1', ['127.0.0.1'], nowMs + 825 * 86_400_000), false, 'about to expire');
    assert.equal(nodeCertificateUsable(outDir, 'n9', ['127.0.0.1'], nowMs), false, 'no files');
  });

  it('is refused by a node of another CA, in both directions', async () => {
    const otherDir = join(root, 'other');
    createCertificates({ outDir: otherDir, nodeIds: ['n2'], hosts: ['127.0.0.1'], days: 30 });
    const ours = { cert: pem(join(outDir, 'n1.pem')), key: pem(join(outDir, 'n1-key.pem')), ca: pem(join(outDir, 'ca.pem')) };
    const theirs = { cert: pem(join(otherDir, 'n2.pem')), key: pem(join(otherDir, 'n2-key.pem')), ca: pem(join(otherDir, 'ca.pem')) };
    const strangerClient = await handshake(ours, { ...theirs, ca: ours.ca });
    assert.equal(strangerClient.serverSawSan, undefined, 'the server never accepted the stranger');
    assert.notEqual(strangerClient.client.error, undefined);
    assert.notEqual(strangerClient.client.error, 'timeout');
    const strangerServer = await handshake(theirs, { ...ours, ca: ours.ca });
    assert.match(strangerServer.client.error ?? '', /self[- ]signed|unable to verify|certificate/i);
    // A certificate from another CA copied in under a node's name is not reused.
    const mixedDir = join(root, 'mixed');
    createCertificates({ outDir: mixedDir, nodeIds: ['n2'], hosts: ['127.0.0.1'], days: 30 });
    copyFileSync(join(otherDir, 'n2.pem'), join(mixedDir, 'n2.pem'));
    assert.equal(nodeCertificateUsable(mixedDir, 'n2', ['127.0.0.1'], Date.now()), false);
  });
});

describe('createCertificates refuses bad requests', () => {
  const base = { outDir: join(root, 'refused'), nodeIds: ['n1'], hosts: ['127.0.0.1'], days: 825 };
  const cases: Array<[string, Parameters<typeof createCertificates>[0], RegExp]> = [
    ['no nodes', { ...base, nodeIds: [] }, /no node ids/],
    ['a bad node id', { ...base, nodeIds: ['n1', 'bad id'] }, /"bad id" is not a node id/],
    ['a node twice', { ...base, nodeIds: ['n1', 'n1'] }, /listed twice/],
    ['a host that would break the config', { ...base, hosts: ['localhost,DNS:evil.example'] }, /is neither an IP address nor a DNS name/],
    ['a host with a newline', { ...base, hosts: ['a\n[ ringkv_ca ]'] }, /is neither an IP address nor a DNS name/],
    ['zero days', { ...base, days: 0 }, /--days must be a whole number from 1/],
    ['a missing openssl', { ...base, opensslCommand: join(root, 'no-such-openssl') }, /was not found: install openssl, e.g. apt-get install openssl/],
  ];
  for (const [what, request, message] of cases) {
    it(`refuses ${what}`, () => {
      assert.throws(() => createCertificates(request), message);
    });
  }

  it('refuses a CA with its key missing rather than making a second CA', () => {
    const outDir = join(root, 'half-ca');
    createCertificates({ ...base, outDir });
    unlinkSync(join(outDir, 'ca-key.pem'));
    assert.throws(() => createCertificates({ ...base, outDir, nodeIds: ['n2'] }), /ca-key\.pem is missing but its pair is there/);
    assert.equal(existsSync(join(outDir, 'n2.pem')), false);
  });
});
