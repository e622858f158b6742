// Real node processes started the secure way (cluster secret file, TLS, mutual TLS between
// peers, tokens): a client with the CA and a token is served; plaintext and untrusting
// clients are not; a node whose certificate comes from another CA, or names another node,
// never becomes a member even though it knows the cluster secret; protected mode refuses
// an unauthenticated bind off loopback, and --insecure is warned about.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as connectTls } from 'node:tls';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RingkvClient, type NodeInfo } from '@ringkv/client';
import { createCertificates, createToken, ensureClusterSecretFile, fetchTrusting } from '@ringkv/server';
import { freePorts, waitFor } from './support/cluster.js';

const cliPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'server', 'dist', 'cli.js');

interface NodeProcess {
  id: string;
  port: number;
  child: ChildProcess;
  output(): string;
}

const processes: NodeProcess[] = [];

function startProcess(id: string, port: number, args: string[]): NodeProcess {
  let output = '';
  const child = spawn(process.execPath, [cliPath, 'node', '--id', id, '--port', String(port), '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const node = { id, port, child, output: () => output.slice(-4000) };
  processes.push(node);
  return node;
}

async function stopProcess(node: NodeProcess): Promise<void> {
  const child = node.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the process did not exit')), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

let dir: string;
let token: string;
let caPem: string;
let ports: number[];
let trustingFetch: typeof fetch;

const clientOf = (port: number) => new RingkvClient({ baseUrl: `https://127.0.0.1:${port}`, token, fetch: trustingFetch, timeoutMs: 3000 });

function secureArgs(id: string, certDir: string, seeds: string[], certId = id): string[] {
  return [
    '--host', '127.0.0.1',
    '--seeds', seeds.join(','),
    '--storage', 'memory',
    '--probe-interval-ms', '300',
    '--data-dir', join(dir, 'data', id),
    '--cluster-secret-file', join(dir, 'cluster-secret'),
    '--auth-file', join(dir, 'auth.json'),
    '--tls-cert', join(certDir, `${certId}.pem`),
    '--tls-key', join(certDir, `${certId}-key.pem`),
    '--tls-ca', join(certDir, 'ca.pem'),
  ];
}

/** The serial number of the certificate a node serves now. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: caPem }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
    socket.setTimeout(3000, () => socket.destroy(new Error('no TLS handshake in 3 s')));
  });
}

async function memberIds(port: number): Promise<string[]> {
  return (await clientOf(port).cluster()).members.map((member) => member.nodeId);
}

describe('a secure cluster on real processes', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringkv-secure-'));
    ensureClusterSecretFile(join(dir, 'cluster-secret'));
    token = createToken(join(dir, 'auth.json'), { role: 'admin', name: 'test' }, Date.now()).token;
    const hosts = ['127.0.0.1', 'localhost'];
    createCertificates({ outDir: join(dir, 'certs'), nodeIds: ['n1', 'n2', 'n3'], hosts, days: 2 });
    createCertificates({ outDir: join(dir, 'rogue-certs'), nodeIds: ['n4'], hosts, days: 2 });
    caPem = readFileSync(join(dir, 'certs', 'ca.pem'), 'utf8');
    trustingFetch = fetchTrusting(caPem);
    ports = await freePorts(5);
    const addresses = ports.slice(0, 3).map((port) => `127.0.0.1:${port}`);
    ['n1', 'n2', 'n3'].forEach((id, index) => startProcess(id, ports[index] as number, secureArgs(id, join(dir, 'certs'), addresses.filter((_, other) => other !== index))));
    await waitFor(async () => {
      const views = await Promise.all(ports.slice(0, 3).map((port) => clientOf(port).cluster()));
      if (!views.every((view) => view.members.filter((member) => member.state === 'up').length === 3)) return false;
      const health = await Promise.all(ports.slice(0, 3).map((port) => clientOf(port).health()));
      return health.every((answer) => answer.status === 'ok');
    }, 30_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${processes.map((node) => `${node.id}: ${node.output()}`).join('\n')}`);
    });
  });

  after(async () => {
    await Promise.all(processes.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a client that trusts the CA and sends a token, from any node', async () => {
    const written = await clientOf(ports[0] as number).put('secure-key', { hello: 'tls' });
    assert.equal(written.acks >= 2, true);
    const read = await clientOf(ports[2] as number).get('secure-key');
    assert.deepEqual(read?.value, { hello: 'tls' });
    const info: NodeInfo = await clientOf(ports[1] as number).nodeInfo();
    assert.deepEqual({ tls: info.security.tls, mutual: info.security.peerMutualTls, auth: info.security.authRequired }, { tls: true, mutual: true, auth: true });
  });

  it('refuses plaintext, clients that do not trust the CA, and requests without a token', async () => {
    await assert.rejects(fetch(`http://127.0.0.1:${ports[0]}/health`, { signal: AbortSignal.timeout(3000) }));
    await assert.rejects(fetch(`https://127.0.0.1:${ports[0]}/health`, { signal: AbortSignal.timeout(3000) }));
    assert.equal((await trustingFetch(`https://127.0.0.1:${ports[0]}/health`)).status, 200);
    assert.equal((await trustingFetch(`https://127.0.0.1:${ports[0]}/cluster`)).status, 401);
  });

  it('serves a renewed certificate once its files change, without a restart', async () => {
    const port = ports[0] as number;
    const before = await servedSerial(port);
    const certDir = join(dir, 'certs');
    rmSync(join(certDir, 'n1.pem'));
    rmSync(join(certDir, 'n1-key.pem'));
    createCertificates({ outDir: certDir, nodeIds: ['n1'], hosts: ['127.0.0.1', 'localhost'], days: 2 });
    await waitFor(async () => (await servedSerial(port)) !== before, 10_000);
    // The node kept running and its peers still reach it over mutual TLS with the new certificate.
    await clientOf(port).put('after-renewal', 1, 'all');
    assert.equal((await clientOf(ports[2] as number).get('after-renewal', 'all'))?.value, 1);
  });

  it('never admits a node whose certificate comes from another CA, though it knows the secret', async () => {
    const seeds = [`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`];
    const rogue = startProcess('n4', ports[3] as number, secureArgs('n4', join(dir, 'rogue-certs'), seeds));
    // The impostor holds n2's certificate, signed by the right CA, but claims to be n5.
    const impostor = startProcess('n5', ports[4] as number, [...secureArgs('n5', join(dir, 'certs'), seeds, 'n2')]);
    // Several protocol periods: long enough for any join to have spread.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    for (const port of ports.slice(0, 3)) {
      const ids = await memberIds(port);
      assert.deepEqual(ids.sort(), ['n1', 'n2', 'n3'], `members seen on ${port}`);
    }
    const value = await clientOf(ports[0] as number).get('secure-key');
    assert.deepEqual(value?.value, { hello: 'tls' });
    await stopProcess(rogue);
    await stopProcess(impostor);
  });
});

describe('protected mode on real processes', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ringkv-protected-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('refuses to serve off loopback without authentication, and names the flags', async () => {
    const [port] = await freePorts(1);
    const node = startProcess('p1', port as number, ['--host', '0.0.0.0', '--storage', 'memory', '--data-dir', join(scratch, 'p1')]);
    assert.equal(await exitOf(node.child, 10_000), 2);
    assert.match(node.output(), /protected mode/);
    assert.match(node.output(), /--auth-file/);
    assert.match(node.output(), /--insecure/);
  });

  it('starts with --insecure, and says so in the log and in /node-info', async () => {
    const [port] = await freePorts(1);
    const node = startProcess('p2', port as number, ['--host', '0.0.0.0', '--advertise', '127.0.0.1', '--insecure', '--storage', 'memory', '--data-dir', join(scratch, 'p2')]);
    const client = new RingkvClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    await waitFor(async () => (await client.health()).status === 'ok', 15_000);
    const info = await client.nodeInfo();
    assert.equal(info.security.insecure, true);
    assert.ok(info.security.warnings.some((warning) => /--insecure/.test(warning)), info.security.warnings.join('; '));
    assert.match(node.output(), /--insecure/);
    await stopProcess(node);
  });
});
