// What a node proves itself with to its peers, and what it accepts from them (docs/security.md).
// The transport reads it at every handshake, never once at start, so a rotated secret or
// reloaded certificate takes effect for the next connection without a restart; links
// already authenticated keep running.
import { invariant } from '@ringkv/core';

/** PEM material for peer links. With `ca`, peers use mutual TLS and a certificate must name its node. */
export interface PeerTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca?: string | Buffer;
}

export interface PeerCredentials {
  /** Cluster secrets: the first proves this node; a peer's proof with any of them is accepted (rotation). Never empty. */
  secrets(): readonly string[];
  /** Current TLS material (re-read by the node when its files change), or undefined for plaintext links. */
  tls(): PeerTls | undefined;
}

/** Credentials that never change (tests, and nodes given an inline secret). */
export function staticPeerCredentials(secrets: string[], tls?: PeerTls): PeerCredentials {
  assertUsableSecrets(secrets);
  const held = Object.freeze([...secrets]);
  return { secrets: () => held, tls: () => tls };
}

/**
 * An empty secret would make every HMAC computable by anyone, which is no authentication
 * at all (issue 9: the old default was the empty string).
 */
export function assertUsableSecrets(secrets: readonly string[]): void {
  invariant(secrets.length > 0, 'a node needs at least one cluster secret');
  for (const secret of secrets) invariant(typeof secret === 'string' && secret.length > 0, 'a cluster secret must not be empty');
}

/** The node id a certificate names: its SAN URI `urn:ringkv:node:<id>`, or failing that its CN. */
export const nodeIdUriPrefix = 'urn:ringkv:node:';
