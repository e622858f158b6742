// `ringkv certs create` (docs/security.md "TLS"): a CA and one certificate per node for
// tests and small deployments. Each node certificate names its node twice, as CN=<id> and
// as the SAN URI urn:ringkv:node:<id>, which is what a peer's certificate is checked
// against; its IP and DNS SANs let API clients verify the host they dialled. The keys are
// ECDSA P-256 (small, fast handshakes, accepted by every TLS stack).
//
// Why the system's openssl rather than a JavaScript X.509 library: openssl is installed on
// every Debian, Ubuntu and macOS machine, is maintained with security fixes by the OS,
// and produces the standard certificates every TLS stack has been tested against; it adds
// no dependency to the node. Node's own crypto can make keys but cannot issue
// certificates. openssl runs through execFileSync with argument arrays (no shell, so no
// quoting or injection), and the X.509 extensions go through a temporary config file
// built only from validated node ids and hosts.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeIdPattern } from '@ringkv/core';
import { nodeIdUriPrefix } from '../transport/peer-credentials.js';
import { privateFileMode, publicFileMode, writeFileAtomic } from './atomic-file.js';

export interface CertificateRequest {
  /** Folder for ca.pem, ca-key.pem, <id>.pem and <id>-key.pem; created if missing. */
  outDir: string;
  nodeIds: string[];
  /** IP addresses and DNS names put in every node certificate (clients check the host they dial). */
  hosts: string[];
  /** Validity of the node certificates. */
  days: number;
  /** The openssl binary; default `openssl` from PATH. */
  opensslCommand?: string;
}

export interface NodeCertificateFiles {
  nodeId: string;
  certFile: string;
  keyFile: string;
}

export interface CertificateSet {
  caCertFile: string;
  caKeyFile: string;
  /** False when an existing CA in outDir was reused. */
  caCreated: boolean;
  nodes: NodeCertificateFiles[];
  /** Things to tell the user, e.g. a reused CA expiring before the node certificates. */
  warnings: string[];
}

/** 825 days: the longest validity Apple's TLS stack accepts for a server certificate. */
export const nodeCertificateDaysDefault = 825;
export const nodeCertificateDaysMax = 3650;
/** The CA outlives the node certificates, so nodes can be added and renewed under it. */
const caDaysMin = 3650;
/** A reused node certificate must stay valid at least this long. */
const certificateRemainingMsMin = 24 * 3_600_000;
const serialBytes = 16;
const dnsNamePattern = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

export function caFiles(outDir: string): { certFile: string; keyFile: string } {
  return { certFile: join(outDir, 'ca.pem'), keyFile: join(outDir, 'ca-key.pem') };
}

export function nodeCertificateFiles(outDir: string, nodeId: string): NodeCertificateFiles {
  return { nodeId, certFile: join(outDir, `${nodeId}.pem`), keyFile: join(outDir, `${nodeId}-key.pem`) };
}

/** The SAN URI that names a node in its certificate. */
export function nodeIdUri(nodeId: string): string {
  return `${nodeIdUriPrefix}${nodeId}`;
}

/**
 * Writes a CA (or reuses the one in outDir) and a fresh certificate and key per node.
 * Existing node files are replaced. Throws an Error saying what to fix.
 */
export function createCertificates(request: CertificateRequest): CertificateSet {
  checkRequest(request);
  const openssl = request.opensslCommand ?? 'openssl';
  const workDir = mkdtempSync(join(tmpdir(), 'ringkv-certs-'));
  try {
    const configFile = join(workDir, 'openssl.cnf');
    const ca = caFiles(request.outDir);
    const caCreated = !existsSync(ca.certFile) && !existsSync(ca.keyFile);
    const caDays = Math.max(caDaysMin, request.days);
    if (caCreated) {
      writeFileSync(configFile, opensslConfig(null, []), { mode: privateFileMode });
      createCa(openssl, ca, configFile, caDays);
    }
    const caCertificate = loadCa(ca);
    const warnings: string[] = [];
    const nodeValidToMs = Date.now() + request.days * 86_400_000;
    if (Date.parse(caCertificate.validTo) < nodeValidToMs) {
      warnings.push(`the CA in ${ca.certFile} expires on ${caCertificate.validTo}, before these node certificates: clients will refuse them from then on`);
    }
    const nodes = request.nodeIds.map((nodeId) => {
      const files = nodeCertificateFiles(request.outDir, nodeId);
      writeFileSync(configFile, opensslConfig(nodeId, request.hosts), { mode: privateFileMode });
      createNodeCertificate(openssl, { ca, files, configFile, csrFile: join(workDir, `${nodeId}.csr`), days: request.days, subject: `/CN=${nodeId}` });
      return files;
    });
    return { caCertFile: ca.certFile, caKeyFile: ca.keyFile, caCreated, nodes, warnings };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Whether the node's certificate in outDir can be used as is: both files present, the key
 * matching, issued by the CA in outDir, naming the node, covering every host, and valid
 * for at least another day. `ringkv cluster --secure` reissues only what fails this.
 */
export function nodeCertificateUsable(outDir: string, nodeId: string, hosts: readonly string[], nowMs: number): boolean {
  const ca = caFiles(outDir);
  const files = nodeCertificateFiles(outDir, nodeId);
  try {
    const caCertificate = new X509Certificate(readFileSync(ca.certFile));
    const certificate = new X509Certificate(readFileSync(files.certFile));
    if (!certificate.checkIssued(caCertificate) || !certificate.verify(caCertificate.publicKey)) return false;
    if (!certificate.checkPrivateKey(createPrivateKey(readFileSync(files.keyFile)))) return false;
    if (Date.parse(certificate.validTo) - nowMs < certificateRemainingMsMin) return false;
    if (!(certificate.subjectAltName ?? '').split(', ').includes(`URI:${nodeIdUri(nodeId)}`)) return false;
    return hosts.every((host) => (isIP(unbracketed(host)) ? certificate.checkIP(unbracketed(host)) : certificate.checkHost(host)) !== undefined);
  } catch {
    return false;
  }
}

/** Splits and checks a --hosts list; IPv6 may be written in brackets. */
export function checkHosts(hosts: readonly string[]): void {
  for (const host of hosts) {
    if (isIP(unbracketed(host)) === 0 && !dnsNamePattern.test(host)) {
      throw new Error(`"${host}" is neither an IP address nor a DNS name: list hosts as e.g. 127.0.0.1,localhost,db1.example.com`);
    }
  }
}

function checkRequest(request: CertificateRequest): void {
  if (request.nodeIds.length === 0) throw new Error('no node ids: name the nodes, e.g. --nodes n1,n2,n3');
  for (const nodeId of request.nodeIds) {
    if (!nodeIdPattern.test(nodeId)) throw new Error(`"${nodeId}" is not a node id: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  }
  if (new Set(request.nodeIds).size !== request.nodeIds.length) throw new Error('a node id is listed twice in --nodes');
  checkHosts(request.hosts);
  if (!Number.isInteger(request.days) || request.days < 1 || request.days > nodeCertificateDaysMax) {
    throw new Error(`--days must be a whole number from 1 to ${nodeCertificateDaysMax}`);
  }
}

/** One config for both uses; the node section only when a node id is given. */
function opensslConfig(nodeId: string | null, hosts: readonly string[]): string {
  const lines = [
    '[ req ]',
    'distinguished_name = ringkv_dn',
    '[ ringkv_dn ]',
    '[ ringkv_ca ]',
    'basicConstraints = critical, CA:true, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ];
  if (nodeId !== null) {
    const names = [`URI:${nodeIdUri(nodeId)}`, ...hosts.map((host) => (isIP(unbracketed(host)) ? `IP:${unbracketed(host)}` : `DNS:${host}`))];
    lines.push(
      '[ ringkv_node ]',
      'basicConstraints = critical, CA:false',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = serverAuth, clientAuth',
      `subjectAltName = ${[...new Set(names)].join(', ')}`,
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
    );
  }
  return `${lines.join('\n')}\n`;
}

function createCa(openssl: string, ca: { certFile: string; keyFile: string }, configFile: string, days: number): void {
  writeFileAtomic(ca.keyFile, generateKey(openssl), privateFileMode);
  // A random part in the CA's name keeps two clusters' CAs apart in a trust store.
  const subject = `/O=ringkv/CN=ringkv CA ${randomBytes(4).toString('hex')}`;
  const certificate = runOpenssl(openssl, [
    'req', '-new', '-x509', '-sha256', '-key', ca.keyFile, '-subj', subject, '-days', String(days),
    '-set_serial', randomSerial(), '-config', configFile, '-extensions', 'ringkv_ca',
  ]);
  writeFileAtomic(ca.certFile, certificate, publicFileMode);
}

function createNodeCertificate(
  openssl: string,
  job: { ca: { certFile: string; keyFile: string }; files: NodeCertificateFiles; configFile: string; csrFile: string; days: number; subject: string },
): void {
  writeFileAtomic(job.files.keyFile, generateKey(openssl), privateFileMode);
  runOpenssl(openssl, ['req', '-new', '-sha256', '-key', job.files.keyFile, '-subj', job.subject, '-config', job.configFile, '-out', job.csrFile]);
  const certificate = runOpenssl(openssl, [
    'x509', '-req', '-sha256', '-in', job.csrFile, '-CA', job.ca.certFile, '-CAkey', job.ca.keyFile,
    '-set_serial', randomSerial(), '-days', String(job.days), '-extfile', job.configFile, '-extensions', 'ringkv_node',
  ]);
  writeFileAtomic(job.files.certFile, certificate, publicFileMode);
}

/** An ECDSA P-256 key in PKCS#8 PEM, read from openssl's stdout (so only we write the file, mode 0600). */
function generateKey(openssl: string): string {
  return runOpenssl(openssl, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve']);
}

/** Checks an existing (or just written) CA: both files, a CA certificate, its key, not expired. */
function loadCa(ca: { certFile: string; keyFile: string }): X509Certificate {
  if (!existsSync(ca.certFile) || !existsSync(ca.keyFile)) {
    const missing = existsSync(ca.certFile) ? ca.keyFile : ca.certFile;
    throw new Error(`${missing} is missing but its pair is there: restore it, or remove both ca.pem and ca-key.pem to make a new CA (and new node certificates)`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readFileSync(ca.certFile));
    if (!certificate.ca) throw new Error('it is not a CA certificate');
    if (!certificate.checkPrivateKey(createPrivateKey(readFileSync(ca.keyFile)))) throw new Error(`${ca.keyFile} is not its key`);
  } catch (error) {
    throw new Error(`cannot use the CA in ${ca.certFile}: ${(error as Error).message}`);
  }
  if (Date.parse(certificate.validTo) <= Date.now()) throw new Error(`the CA in ${ca.certFile} expired on ${certificate.validTo}: remove ca.pem and ca-key.pem to make a new one`);
  return certificate;
}

/** A positive serial of 127 random bits (RFC 5280 asks for at most 20 octets, unpredictable). */
function randomSerial(): string {
  const bytes = randomBytes(serialBytes);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return `0x${bytes.toString('hex')}`;
}

function runOpenssl(openssl: string, args: string[]): string {
  try {
    return execFileSync(openssl, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error(`"${openssl}" was not found: install openssl, e.g. apt-get install openssl (Debian/Ubuntu) or brew install openssl (macOS)`);
    }
    const detail = (failure.stderr ?? '').trim() || failure.message;
    throw new Error(`openssl ${args[0]} failed: ${detail}`);
  }
}

function unbracketed(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
