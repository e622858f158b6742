// Challenge-response authentication of peer connections (docs/design.md, "Peer protocol":
// connections authenticate with the cluster secret before any message is accepted). Each
// side sends a random nonce; the other proves it knows the secret with an HMAC of it.
// The secret itself never crosses the wire. While a secret rotates a node holds two (new,
// then old): it sends a proof with each, the new one first, and accepts a proof made
// with either. Both sides check each other, so a node that has the new secret and one
// still on the old one can talk, and the secret rolls node by node.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { peerProofsMax } from '@ringkv/core';
import { nodeIdUriPrefix } from './peer-credentials.js';

const nonceBytes = 16;
const noncePattern = new RegExp(`^[0-9a-f]{${nonceBytes * 2}}$`);

export function newNonce(): string {
  return randomBytes(nonceBytes).toString('hex');
}

/** A nonce as newNonce makes them: anything else in the header refuses the upgrade. */
export function isWellFormedNonce(nonce: unknown): nonce is string {
  return typeof nonce === 'string' && noncePattern.test(nonce);
}

export function proofFor(secret: string, nonce: string, clusterName: string): string {
  return createHmac('sha256', secret).update(`${clusterName}\n${nonce}`).digest('hex');
}

/** One proof per held secret, the current (first) one first. */
export function proofsFor(secrets: readonly string[], nonce: string, clusterName: string): string[] {
  return secrets.slice(0, peerProofsMax).map((secret) => proofFor(secret, nonce, clusterName));
}

/**
 * True when one of `proofs` was made with one of `secrets`. Every pair is compared,
 * whichever matches, so the time taken does not tell which (or whether the first) did.
 */
export function isValidProof(secrets: readonly string[], nonce: string, clusterName: string, proofs: readonly string[]): boolean {
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(proofFor(secret, nonce, clusterName), 'hex');
    for (const proof of proofs) {
      const given = Buffer.from(proof, 'hex');
      if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
    }
  }
  return valid;
}

/** True when a peer certificate names `nodeId`: CN equal to it, or a SAN URI `urn:ringkv:node:<id>`. */
export function certificateNamesNode(certificate: PeerCertificate | undefined, nodeId: string): boolean {
  if (certificate === undefined || Object.keys(certificate).length === 0) return false;
  const names = (certificate.subjectaltname ?? '').split(/,\s*/);
  if (names.includes(`URI:${nodeIdUriPrefix}${nodeId}`)) return true;
  const commonName = certificate.subject?.CN as string | string[] | undefined;
  return Array.isArray(commonName) ? commonName.length === 1 && commonName[0] === nodeId : commonName === nodeId;
}

/** Splits `host:port` (or `[v6]:port`). */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`"${address}" is not a host:port address`);
  }
  return { host, port };
}
