// The security material of one node (docs/security.md): the cluster secret, TLS
// certificates and API tokens, read from files, re-read when a file changes and on
// POST /admin/reload, and protected mode, which refuses an unprotected node off loopback.
// What fails to load on a reload is logged and the node keeps what it had.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpsServer, ServerOptions } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SecurityPosture } from '@ringkv/client';
import type { TokenVerifier } from './api/auth.js';
import type { NodeConfig } from './config.js';
import { AuthTokens } from './security/auth-tokens.js';
import { ensureClusterSecretFile, readClusterSecrets } from './security/cluster-secret.js';
import { fetchTrusting } from './security/trusted-fetch.js';
import type { PeerCredentials, PeerTls } from './transport/peer-credentials.js';

/** How often watched files are polled: polling follows a file replaced by rename, as editors and `token create` do. */
const fileWatchIntervalMs = 1000;

export interface NodeSecurity {
  peerCredentials: PeerCredentials;
  /** Options for the HTTPS server, or undefined for plain HTTP. */
  https: ServerOptions | undefined;
  tokens(): TokenVerifier | undefined;
  /** A fetch that trusts the cluster's CA, for calls to other members' APIs. */
  memberFetch(): typeof fetch;
  scheme: 'http' | 'https';
  posture(): SecurityPosture;
  /** Hands the listening server over, so certificate reloads reach new connections. */
  attach(server: unknown): void;
  reload(): Promise<{ reloaded: string[] }>;
  close(): void;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Why this configuration may not start (protected mode), as sentences naming the flags. */
export function protectedModeProblems(config: NodeConfig): string[] {
  if (config.insecure || isLoopbackHost(config.host)) return [];
  if (config.authFile !== undefined) return [];
  return [
    `protected mode: --host ${config.host} is reachable from other machines, but clients are not authenticated. ` +
      'Create tokens with `npx ringkv token create --auth-file FILE --role admin` and start the node with --auth-file FILE ' +
      '(and --tls-cert/--tls-key so tokens do not cross the network in clear text), or pass --insecure to serve anyone who can reach it.',
  ];
}

interface Material {
  secrets: string[];
  secretWarnings: string[];
  tls: PeerTls | undefined;
  tokens: AuthTokens | undefined;
}

export function loadNodeSecurity(config: NodeConfig, log: Logger): NodeSecurity {
  const secretFile = config.clusterSecret !== '' ? undefined : (config.clusterSecretFile ?? join(config.dataDir, 'cluster-secret'));
  if (secretFile !== undefined && config.clusterSecretFile === undefined) {
    if (ensureClusterSecretFile(secretFile)) {
      log.warn({ file: secretFile }, 'no --cluster-secret-file: generated a cluster secret; nodes that join this one must be started with --cluster-secret-file naming a copy of it');
    }
  }
  const tlsFiles = config.tlsCertFile === undefined ? [] : [config.tlsCertFile, config.tlsKeyFile as string, ...(config.tlsCaFile ? [config.tlsCaFile] : [])];
  const read = (): Material => {
    const secrets = secretFile === undefined ? { secrets: [config.clusterSecret], warnings: [] } : readClusterSecrets(secretFile);
    return {
      secrets: secrets.secrets,
      secretWarnings: secrets.warnings,
      tls: config.tlsCertFile === undefined ? undefined : readTls(config),
      tokens: config.authFile === undefined ? undefined : AuthTokens.load(config.authFile),
    };
  };
  let material = read();
  let server: HttpsServer | undefined;
  let memberFetch = fetchTrusting(material.tls?.ca);
  const reload = async (): Promise<{ reloaded: string[] }> => {
    const next = read();
    material = next;
    if (next.tls !== undefined) {
      server?.setSecureContext({ cert: next.tls.cert, key: next.tls.key, ...(next.tls.ca ? { ca: next.tls.ca } : {}) });
      memberFetch = fetchTrusting(next.tls.ca);
    }
    const reloaded = ['cluster secret', ...(next.tls ? ['certificates'] : []), ...(next.tokens ? ['tokens'] : [])];
    log.info({ reloaded }, 'security material reloaded');
    return { reloaded };
  };
  const watched = [...(secretFile ? [secretFile] : []), ...tlsFiles, ...(config.authFile ? [config.authFile] : [])];
  for (const file of watched) {
    watchFile(file, { interval: fileWatchIntervalMs, persistent: false }, (current, previous) => {
      if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino) return;
      reload().catch((error: unknown) => log.error({ file, err: (error as Error).message }, 'could not reload a changed file; keeping what was loaded'));
    });
  }
  const tls = material.tls;
  return {
    peerCredentials: { secrets: () => material.secrets, tls: () => material.tls },
    https:
      tls === undefined
        ? undefined
        : {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca ? { ca: tls.ca } : {}),
            // Peers present certificates; API clients (curl, browsers) need not, so the
            // handshake asks for one without demanding it and the peer upgrade checks it.
            requestCert: tls.ca !== undefined,
            rejectUnauthorized: false,
            minVersion: 'TLSv1.2',
          },
    tokens: () => material.tokens,
    memberFetch: () => memberFetch,
    scheme: tls === undefined ? 'http' : 'https',
    posture: () => postureOf(config, material),
    attach: (listening) => {
      server = listening as HttpsServer;
    },
    reload,
    close: () => {
      for (const file of watched) unwatchFile(file);
    },
  };
}

function readTls(config: NodeConfig): PeerTls {
  const cert = readFileSync(config.tlsCertFile as string, 'utf8');
  const key = readFileSync(config.tlsKeyFile as string, 'utf8');
  const ca = config.tlsCaFile === undefined ? undefined : readFileSync(config.tlsCaFile, 'utf8');
  return { cert, key, ...(ca === undefined ? {} : { ca }) };
}

function postureOf(config: NodeConfig, material: Material): SecurityPosture {
  const warnings = [...material.secretWarnings];
  const exposed = !isLoopbackHost(config.host);
  if (config.insecure && exposed && material.tokens === undefined) {
    warnings.push(`started with --insecure: anyone who can reach ${config.host}:${config.port} can read, write and change this cluster`);
  } else if (config.insecure) {
    warnings.push('started with --insecure: protected mode is off');
  }
  if (exposed && material.tls === undefined) warnings.push('no TLS: tokens and values cross the network in clear text; start with --tls-cert and --tls-key');
  return {
    insecure: config.insecure,
    tls: material.tls !== undefined,
    peerMutualTls: material.tls?.ca !== undefined,
    authRequired: material.tokens !== undefined,
    warnings,
  };
}
