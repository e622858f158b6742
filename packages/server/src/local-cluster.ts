// `ringkv cluster`: starts N real node processes on one machine (what `npm start` and
// ./run_nodes.sh run), waits until every node is ready, prints where to go, and stops
// them all cleanly on Ctrl-C.
//
// Secure by default (docs/security.md): the nodes authenticate each other with a random
// cluster secret kept in <data-dir>/cluster-secret (mode 0600) and handed over as a file,
// never on a command line, where /proc shows it to every local user. With `--secure` the
// cluster also gets a CA and node certificates (<data-dir>/certs), serves HTTPS with peer
// mTLS, and requires API tokens (<data-dir>/auth.json, an admin token printed at start).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthTokens, createToken, revokeToken } from './security/auth-tokens.js';
import { privateFileMode, writeFileAtomic } from './security/atomic-file.js';
import { caFiles, createCertificates, nodeCertificateDaysDefault, nodeCertificateFiles, nodeCertificateUsable } from './security/certs.js';
import { ensureClusterSecretFile, readClusterSecrets } from './security/cluster-secret.js';
import { fetchTrusting } from './security/trusted-fetch.js';

export interface LocalClusterOptions {
  nodes: number;
  basePort: number;
  host: string;
  replicas: number;
  vnodes: number;
  storage: 'lmdb' | 'memory';
  dataDir: string;
  logLevel: string;
  /** Extra flags passed to every node. */
  nodeArgs: string[];
  /** TLS (API and peers) and API tokens, all material kept under dataDir. */
  secure: boolean;
  /** Use this cluster secret file instead of <dataDir>/cluster-secret (e.g. to join nodes started by hand). */
  clusterSecretFile?: string;
}

/** What the nodes are started with and how to reach them. */
export interface ClusterSecurity {
  secretFile: string;
  scheme: 'http' | 'https';
  /** Security flags for one node's command line (files only, never secrets). */
  nodeArgs: (nodeId: string) => string[];
  fetch: typeof fetch;
  /** Only with --secure. */
  tls?: { caFile: string; authFile: string; token: string; tokenFile: string };
}

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const readyTimeoutMs = 30_000;
const readyProbeTimeoutMs = 1000;
const stopTimeoutMs = 10_000;
const adminTokenName = 'admin';

export async function runLocalCluster(options: LocalClusterOptions): Promise<void> {
  let security: ClusterSecurity;
  try {
    security = prepareClusterSecurity(options);
  } catch (error) {
    process.stderr.write(`ringkv cluster: ${(error as Error).message}\n`);
    process.exit(1);
  }
  // Members advertise an address peers can reach: a wildcard bind is reached on loopback.
  const addresses = Array.from({ length: options.nodes }, (_, i) => `${urlHost(options.host)}:${options.basePort + i}`);
  const urls = addresses.map((_, i) => `${security.scheme}://${urlHost(options.host)}:${options.basePort + i}`);
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the cluster...\n');
    await Promise.all(children.map((child) => stopChild(child)));
    process.stdout.write('All nodes stopped.\n');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  addresses.forEach((address, index) => {
    const id = `n${index + 1}`;
    const args = [
      cliPath, 'node',
      '--id', id,
      '--host', options.host,
      ...(isUnspecifiedAddress(options.host) ? ['--advertise', urlHost(options.host)] : []),
      '--port', String(options.basePort + index),
      '--seeds', addresses.filter((other) => other !== address).join(','),
      '--replicas', String(options.replicas),
      '--vnodes', String(options.vnodes),
      '--storage', options.storage,
      '--data-dir', join(options.dataDir, id),
      '--log-level', options.logLevel,
      ...security.nodeArgs(id),
      ...options.nodeArgs,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    prefixLines(child, id);
    child.on('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`[${id}] exited (${signal ?? `code ${code}`}); the other nodes keep serving\n`);
    });
    children.push(child);
  });

  const ready = await waitUntilReady(urls, security);
  if (!ready) {
    process.stderr.write(`The cluster did not become ready within ${readyTimeoutMs / 1000} s; see the node output above.\n`);
    await stopAll(1);
    return;
  }
  printBanner(urls, options, security);
}

/** Creates what is missing (secret, certificates, token) and says how the nodes use it. */
export function prepareClusterSecurity(options: Pick<LocalClusterOptions, 'nodes' | 'host' | 'dataDir' | 'secure' | 'clusterSecretFile'>): ClusterSecurity {
  const secretFile = resolve(options.clusterSecretFile ?? join(options.dataDir, 'cluster-secret'));
  if (options.clusterSecretFile === undefined) ensureClusterSecretFile(secretFile);
  // Read once here so a bad file is reported once, not by every node.
  for (const warning of readClusterSecrets(secretFile).warnings) process.stderr.write(`ringkv cluster: warning: ${warning}\n`);
  if (!options.secure) {
    return { secretFile, scheme: 'http', nodeArgs: () => ['--cluster-secret-file', secretFile], fetch: fetchTrusting() };
  }
  const certsDir = resolve(options.dataDir, 'certs');
  const hosts = [...new Set([options.host, '127.0.0.1', 'localhost'].filter((host) => !isUnspecifiedAddress(host)))];
  const nodeIds = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const stale = nodeIds.filter((nodeId) => !nodeCertificateUsable(certsDir, nodeId, hosts, Date.now()));
  if (stale.length > 0) {
    const set = createCertificates({ outDir: certsDir, nodeIds: stale, hosts, days: nodeCertificateDaysDefault });
    for (const warning of set.warnings) process.stderr.write(`ringkv cluster: warning: ${warning}\n`);
  }
  const caFile = caFiles(certsDir).certFile;
  const authFile = resolve(options.dataDir, 'auth.json');
  const tokenFile = resolve(options.dataDir, 'admin-token');
  const token = ensureAdminToken(authFile, tokenFile);
  return {
    secretFile,
    scheme: 'https',
    nodeArgs: (nodeId) => {
      const files = nodeCertificateFiles(certsDir, nodeId);
      return ['--cluster-secret-file', secretFile, '--tls-cert', files.certFile, '--tls-key', files.keyFile, '--tls-ca', caFile, '--auth-file', authFile];
    },
    fetch: fetchTrusting(readFileSync(caFile)),
    tls: { caFile, authFile, token, tokenFile },
  };
}

/**
 * The admin token of this data dir: the one kept in tokenFile while auth.json still
 * accepts it as admin, so a restart prints the same token; otherwise a new one.
 */
function ensureAdminToken(authFile: string, tokenFile: string): string {
  const tokens = existsSync(authFile) ? AuthTokens.load(authFile) : AuthTokens.empty();
  if (existsSync(tokenFile)) {
    const kept = readFileSync(tokenFile, 'utf8').trim();
    const check = tokens.verify(kept, Date.now());
    if (check.ok && check.identity.role === 'admin' && check.identity.prefix === null) return kept;
  }
  if (existsSync(authFile)) revokeToken(authFile, adminTokenName);
  const created = createToken(authFile, { role: 'admin', name: adminTokenName }, Date.now());
  writeFileAtomic(tokenFile, `${created.token}\n`, privateFileMode);
  return created.token;
}

function printBanner(urls: string[], options: LocalClusterOptions, security: ClusterSecurity): void {
  const tls = security.tls;
  const first = urls[0]!;
  const last = urls[urls.length - 1]!;
  const curlAuth = tls === undefined ? '' : `--cacert ${shellQuoted(tls.caFile)} -H "Authorization: Bearer ${tls.token}" `;
  const lines = [
    '',
    `ringkv is running: ${urls.length} nodes, ${options.replicas} replicas per key, ${options.storage} storage${options.storage === 'lmdb' ? ` under ${options.dataDir}` : ''}`,
    tls === undefined
      ? `  Peers authenticate with the cluster secret in ${security.secretFile}; the API is open to anyone on this machine (add --secure for TLS and tokens).`
      : `  Secure: TLS and peer mTLS (CA ${tls.caFile}), API tokens (${tls.authFile}), cluster secret ${security.secretFile}.`,
    '',
    ...urls.map((url, index) => `  n${index + 1}  API ${url}   docs ${url}/docs   metrics ${url}/metrics`),
    '',
    `  Dashboard: ${first}/dashboard (served by every node)`,
    ...(tls === undefined
      ? []
      : [
          '  Your browser does not know this cluster\'s CA: import ca.pem into it, or accept the warning once per node.',
          '',
          `Admin token (kept in ${tls.tokenFile}; give others their own with \`npx ringkv token create --auth-file ${shellQuoted(tls.authFile)} --role read\`):`,
          `  ${tls.token}`,
        ]),
    '',
    'Try it:',
    `  curl ${curlAuth}-X PUT ${first}/store/mykey -H 'Content-Type: application/json' -d '{"value":"test"}'`,
    `  curl ${curlAuth}${last}/store/mykey`,
    '',
    'Press Ctrl-C to stop all nodes.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

async function waitUntilReady(urls: string[], security: ClusterSecurity): Promise<boolean> {
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    const states = await Promise.all(urls.map((url) => isReady(url, urls.length, security)));
    if (states.every(Boolean)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

async function isReady(url: string, members: number, security: ClusterSecurity): Promise<boolean> {
  const headers: Record<string, string> = security.tls === undefined ? {} : { authorization: `Bearer ${security.tls.token}` };
  try {
    const health = await security.fetch(`${url}/health`, { signal: AbortSignal.timeout(readyProbeTimeoutMs) });
    if (!health.ok) return false;
    const answer = await security.fetch(`${url}/cluster`, { headers, signal: AbortSignal.timeout(readyProbeTimeoutMs) });
    if (!answer.ok) return false;
    const cluster = (await answer.json()) as { members: Array<{ state: string }> };
    return cluster.members.filter((member) => member.state === 'up').length >= members;
  } catch {
    return false;
  }
}

function isUnspecifiedAddress(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The host to put in a URL: a wildcard bind is reached on loopback; IPv6 goes in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** A path as a POSIX shell reads it, so the printed curl line works when pasted. */
function shellQuoted(text: string): string {
  return /^[A-Za-z0-9_/.:=@%+,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

function prefixLines(child: ChildProcess, id: string): void {
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) out.write(`[${id}] ${line}\n`);
    });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
