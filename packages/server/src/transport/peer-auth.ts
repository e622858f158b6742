// Challenge-response authentication of peer connections (DESIGN.md, "Peer protocol":
// connections authenticate with the cluster secret before any message is accepted). Each
// side sends a random nonce; the other proves it knows the secret with an HMAC of it.
// The secret itself never crosses the wire.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

export function proofFor(secret: string, nonce: string, clusterName: string): string {
  return createHmac('sha256', secret).update(`${clusterName}\n${nonce}`).digest('hex');
}

export function isValidProof(secret: string, nonce: string, clusterName: string, proof: string): boolean {
  const expected = Buffer.from(proofFor(secret, nonce, clusterName), 'hex');
  const given = Buffer.from(proof, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
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
