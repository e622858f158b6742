// Runs peer links over mutual TLS on loopback, with a CA and node certificates made by the
// system's openssl for the test: a peer with its own certificate is served, while one
// whose certificate names another node, one signed by another CA, a server whose
// certificate names another node and a plaintext client are all refused before anything
// is handled.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PeerError } from '@ringkv/core';
import { pino } from 'pino';
import { staticPeerCredentials, type PeerTls } from './peer-credentials.js';
import { attachPeerServer } from './peer-server.js';
import { TcpTransport } from './tcp-transport.js';

const secret = 'tls-secret';
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
let dir: string;
const servers: Server[] = [];

/** Writes a P-256 CA (`<ca>.pem`, `<ca>-key.pem`) into `dir`. */
function createCa(name: string): void {
  const key = join(dir, `${name}-key.pem`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  openssl(['req', '-x509', '-new', '-key', key, '-subj', `/CN=${name}`, '-days', '2', '-out', join(dir, `${name}.pem`), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

/** Writes `<id>.pem` / `<id>-key.pem` signed by CA `ca`, naming the node as the project's certificates do. */
function createNodeCertificate(id: string, ca: string): PeerTls & { ca: Buffer } {
  const key = join(dir, `${id}-key.pem`);
  const request = join(dir, `${id}.csr`);
  const extensions = join(dir, `${id}.ext`);
  writeFileSync(extensions, `subjectAltName=URI:urn:ringkv:node:${id},IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${id}`, '-out', request]);
  openssl(['x509', '-req', '-in', request, '-CA', join(dir, `${ca}.pem`), '-CAkey', join(dir, `${ca}-key.pem`), '-CAcreateserial', '-days', '2', '-out', join(dir, `${id}.pem`), '-extfile', extensions]);
  return { cert: readFileSync(join(dir, `${id}.pem`)), key: readFileSync(key), ca: readFileSync(join(dir, `${ca}.pem`)) };
}

const certificates: Record<string, PeerTls & { ca: Buffer }> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringkv-peer-tls-'));
  createCa('ca');
  createCa('other-ca');
  for (const id of ['server', 'client', 'intruder']) certificates[id] = createNodeCertificate(id, 'ca');
  certificates.stranger = createNodeCertificate('stranger', 'other-ca');
});
after(() => {
  servers.forEach((server) => server.close());
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTPS server as a TLS node runs it: client certificates asked for, not required (the API takes requests without one). */
async function startTlsPeerServer(certificate: PeerTls & { ca: Buffer }) {
  const server = createServer({ cert: certificate.cert, key: certificate.key, ca: certificate.ca, requestCert: true, rejectUnauthorized: false }, (_request, response) => response.end());
  const handled: string[] = [];
  attachPeerServer(server, {
    self: { nodeId: 'server', address: 'unused' },
    clusterName: 'test',
    credentials: staticPeerCredentials([secret], certificate),
    handler: async (body, from) => {
      handled.push(`${from.nodeId}:${body.type}`);
      return { type: 'getReply', record: null };
    },
    log: pino({ level: 'silent' }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, handled };
}

function client(nodeId: string, tls: PeerTls | undefined) {
  return new TcpTransport({ self: { nodeId, address: '127.0.0.1:1' }, clusterName: 'test', credentials: staticPeerCredentials([secret], tls), connectTimeoutMs: 2000, backoffMinMs: 20, backoffMaxMs: 100 });
}

async function assertRefused(transport: TcpTransport, address: string, pattern: RegExp): Promise<void> {
  await assert.rejects(transport.request(address, { type: 'get', key: 'k' }, 3000), (error: unknown) => {
    assert.ok(error instanceof PeerError, String(error));
    assert.equal(error.maybeDelivered, false);
    assert.match(error.message, pattern);
    return true;
  });
  transport.close();
}

describe('peer links over mutual TLS', () => {
  it('serves a peer whose certificate names the node it claims to be', async () => {
    const server = await startTlsPeerServer(certificates.server as PeerTls & { ca: Buffer });
    const transport = client('client', certificates.client);
    await transport.request(server.address, { type: 'get', key: 'k' }, 3000);
    assert.deepEqual(server.handled, ['client:get']);
    transport.close();
  });

  it('refuses a peer whose certificate names another node than its hello', async () => {
    const server = await startTlsPeerServer(certificates.server as PeerTls & { ca: Buffer });
    await assertRefused(client('client', certificates.intruder), server.address, /certificate does not name node client/);
    assert.deepEqual(server.handled, []);
  });

  it('refuses a peer with a certificate from another CA, and a plaintext peer', async () => {
    const server = await startTlsPeerServer(certificates.server as PeerTls & { ca: Buffer });
    const stranger = certificates.stranger as PeerTls & { ca: Buffer };
    // The stranger trusts our CA (it can reach us), but its own certificate is signed by another.
    await assertRefused(client('stranger', { ...stranger, ca: (certificates.server as PeerTls & { ca: Buffer }).ca }), server.address, /HTTP 403/);
    await assertRefused(client('client', undefined), server.address, /./);
    assert.deepEqual(server.handled, []);
  });

  it('refuses a server whose certificate names another node than its welcome', async () => {
    const impostor = await startTlsPeerServer(certificates.intruder as PeerTls & { ca: Buffer });
    await assertRefused(client('client', certificates.client), impostor.address, /does not name node server/);
    assert.deepEqual(impostor.handled, [], 'nothing was sent to the impostor');
  });
});
