// The network seam (docs/style.md, "One contract, one compliance suite"). A Transport
// sends one request to the member at an address and resolves with its reply; the TCP
// transport (packages/server) and the in-process MemoryNetwork (protocol/memory-network.ts)
// implement it.
import type { FailureCode, MemberAddress, PeerReply, PeerRequest, ReplyFor } from './messages.js';

/**
 * Why a request got no reply. `maybeDelivered` tells the coordinator whether the peer
 * could have acted on it: a request never written to a socket was certainly not applied;
 * one that timed out or lost its connection in flight may have been.
 */
export type PeerErrorCode =
  | 'not-connected'
  | 'overloaded'
  | 'timeout'
  | 'connection-lost'
  | 'handshake-refused'
  /** The request's frame exceeds frameBytesMax (limits.ts): refused before anything was sent. */
  | 'too-large'
  | 'remote-failure';

export class PeerError extends Error {
  readonly code: PeerErrorCode;
  readonly maybeDelivered: boolean;
  /** For a 'failure' reply: the peer's own code (a full disk is `storage-full`). */
  readonly remoteCode: FailureCode | undefined;

  constructor(code: PeerErrorCode, message: string, maybeDelivered: boolean, remoteCode?: FailureCode) {
    super(message);
    this.name = 'PeerError';
    this.code = code;
    this.maybeDelivered = maybeDelivered;
    this.remoteCode = remoteCode;
  }
}

export type RequestType = keyof ReplyFor;
export type DataRequest = Exclude<PeerRequest, { type: 'hello' }>;

export interface Transport {
  /** Resolves with the peer's reply; rejects with a PeerError (a 'failure' reply too). */
  request<R extends DataRequest>(address: string, body: R, timeoutMs: number): Promise<ReplyFor[R['type']]>;
}

/** Serves requests that arrived from an authenticated peer. */
export type RequestHandler = (body: DataRequest, from: MemberAddress) => Promise<PeerReply>;

/** Turns a 'failure' reply into a PeerError so callers handle one kind of error. */
export function expectReply<T extends PeerReply>(reply: PeerReply, type: T['type']): T {
  if (reply.type === type) return reply as T;
  if (reply.type === 'failure') throw new PeerError('remote-failure', `${reply.code}: ${reply.message}`, false, reply.code);
  throw new PeerError('remote-failure', `expected a ${type} reply, got ${reply.type}`, true);
}
