// The accepting side of the peer protocol. Peers reach a node on its API port with an
// HTTP Upgrade to `ringkv-peer` at /peer/v1 (one port per node, HTTPS when the node has
// TLS), then speak length-prefixed MessagePack frames. The first frame must be a valid
// `hello`; anything else, a bad proof, a different cluster or protocol version closes
// the connection. Malformed bytes close only that connection: the node keeps serving.
//
// Until a connection has authenticated it may cost the node little (issue 9, "Resources
// before authentication"): at most peerPendingConnectionsMax wait at once, each must say
// hello within the handshake timeout, its frames are limited to
// peerFrameBytesMaxUnauthenticated, and a peer that half-closes (FIN) is closed at once,
// since the HTTP server keeps sockets half-open and an upgraded one would wait forever.
//
// Once authenticated, a connection runs at most peerRequestsExecutingMax requests at once;
// more wait in its queue, bounded in count and bytes, and beyond that are answered
// 'overloaded' without being executed, which the coordinator counts as nothing applied
// (issue 13, "Overload is shed, not queued"). Pings skip the queue: a busy node must not
// look dead to the failure detector.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  CodecError,
  decodeFrame,
  encodeFrame,
  FrameDecoder,
  frameBytesMax,
  nodeIdPattern,
  peerFrameBytesMaxUnauthenticated,
  peerHandshakeTimeoutMsDefault,
  peerPendingConnectionsMax,
  peerQueuedBytesMax,
  peerRequestsExecutingMax,
  peerRequestsQueuedMax,
  protocolVersion,
  type DataRequest,
  type FailureCode,
  type HelloRequest,
  type MemberAddress,
  type PeerReply,
  type RequestHandler,
} from '@ringkv/core';
import type { Logger } from 'pino';
import { FrameWriter } from './frame-writer.js';
import { certificateNamesNode, isValidProof, isWellFormedNonce, newNonce, proofsFor } from './peer-auth.js';
import type { PeerCredentials } from './peer-credentials.js';

export const peerPath = '/peer/v1';
export const peerUpgradeToken = 'ringkv-peer';

export interface PeerServerDeps {
  self: MemberAddress;
  clusterName: string;
  credentials: PeerCredentials;
  handler: RequestHandler;
  log: Logger;
  /** Counted in metrics: a connection refused or dropped, with a stable reason code (a metric label). */
  onRejected?(reason: string): void;
  /** Counted in metrics: a request answered 'overloaded' as its connection's queue was full. */
  onOverloaded?(): void;
}

export interface PeerServerOptions {
  /** An upgraded connection that has not authenticated by then is closed. */
  handshakeTimeoutMs: number;
  /** Upgraded, not yet authenticated connections held at once; more are refused. */
  pendingConnectionsMax: number;
  /** Requests of one connection executing at once, and waiting (count, bytes); beyond, 'overloaded'. */
  requestsExecutingMax: number;
  requestsQueuedMax: number;
  queuedBytesMax: number;
}

export interface PeerServer {
  /** Inbound peer connections: still authenticating, and authenticated. */
  connections(): { pending: number; authenticated: number };
  /** Closes every inbound peer connection and refuses later upgrades. */
  close(): void;
}

/** How long a connection being closed for cause may take to read why before it is cut off. */
const closeGraceMs = 1000;

interface Connections {
  pending: Set<Socket>;
  authenticated: Set<Socket>;
}

export function attachPeerServer(server: HttpServer | HttpsServer, deps: PeerServerDeps, options: Partial<PeerServerOptions> = {}): PeerServer {
  const settings: PeerServerOptions = {
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? peerHandshakeTimeoutMsDefault,
    pendingConnectionsMax: options.pendingConnectionsMax ?? peerPendingConnectionsMax,
    requestsExecutingMax: options.requestsExecutingMax ?? peerRequestsExecutingMax,
    requestsQueuedMax: options.requestsQueuedMax ?? peerRequestsQueuedMax,
    queuedBytesMax: options.queuedBytesMax ?? peerQueuedBytesMax,
  };
  const connections: Connections = { pending: new Set(), authenticated: new Set() };
  const onUpgrade = (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const refusal = upgradeRefusal(request, socket, connections, settings, deps);
    if (refusal !== undefined) {
      refuseUpgrade(socket, refusal);
      deps.onRejected?.(refusal.reason);
      return;
    }
    const serverNonce = newNonce();
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${peerUpgradeToken}\r\nConnection: Upgrade\r\nX-Ringkv-Nonce: ${serverNonce}\r\n\r\n`);
    socket.setNoDelay(true);
    serveConnection(socket, head, { server: serverNonce, client: request.headers['x-ringkv-nonce'] as string }, connections, settings, deps);
  };
  server.on('upgrade', onUpgrade);
  return {
    connections: () => ({ pending: connections.pending.size, authenticated: connections.authenticated.size }),
    close: () => {
      server.off('upgrade', onUpgrade);
      for (const socket of [...connections.pending, ...connections.authenticated]) socket.destroy();
      connections.pending.clear();
      connections.authenticated.clear();
    },
  };
}

interface UpgradeRefusal {
  status: 400 | 403 | 503;
  reason: string;
  detail: string;
}

/** Why an upgrade is refused before a single frame is read, or undefined to accept it. */
function upgradeRefusal(request: IncomingMessage, socket: Socket, connections: Connections, settings: PeerServerOptions, deps: PeerServerDeps): UpgradeRefusal | undefined {
  if (request.url !== peerPath || request.headers.upgrade?.toLowerCase() !== peerUpgradeToken || !isWellFormedNonce(request.headers['x-ringkv-nonce'])) {
    return { status: 400, reason: 'bad-upgrade', detail: `only the peer protocol upgrades here: Upgrade: ${peerUpgradeToken} at ${peerPath} with an X-Ringkv-Nonce of 32 hex digits` };
  }
  if (connections.pending.size >= settings.pendingConnectionsMax) {
    return { status: 503, reason: 'too-many-pending', detail: `${settings.pendingConnectionsMax} peer connections are already authenticating; retry later` };
  }
  // With a CA, peers use mutual TLS. The API server asks for client certificates without
  // requiring them (browsers and curl reach the API without one), so it is checked here.
  if (deps.credentials.tls()?.ca !== undefined && !(socket instanceof TLSSocket && socket.authorized)) {
    return { status: 403, reason: 'no-peer-certificate', detail: 'peer links need a client certificate signed by the cluster CA' };
  }
  return undefined;
}

const statusTexts = { 400: 'Bad Request', 403: 'Forbidden', 503: 'Service Unavailable' } as const;

/** Answers a refused upgrade with problem+json, then closes the socket once it is written. */
function refuseUpgrade(socket: Socket, refusal: UpgradeRefusal): void {
  const body = JSON.stringify({ type: 'about:blank', title: statusTexts[refusal.status], status: refusal.status, detail: refusal.detail });
  const head = `HTTP/1.1 ${refusal.status} ${statusTexts[refusal.status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.on('error', () => socket.destroy());
  socket.end(head + body, () => socket.destroy());
}

function serveConnection(
  socket: Socket,
  head: Buffer,
  nonces: { server: string; client: string },
  connections: Connections,
  settings: PeerServerOptions,
  deps: PeerServerDeps,
): void {
  const decoder = new FrameDecoder(peerFrameBytesMaxUnauthenticated);
  const writer = new FrameWriter(socket);
  let peer: MemberAddress | undefined;
  let closing = false;
  connections.pending.add(socket);
  const handshakeTimer = setTimeout(() => reject('handshake-timeout', `no hello within ${settings.handshakeTimeoutMs} ms`), settings.handshakeTimeoutMs);

  const reject = (reason: string, detail: string) => {
    if (closing || socket.destroyed) return;
    closing = true;
    deps.log.warn({ remote: socket.remoteAddress, peer: peer?.nodeId, reason, detail }, 'closing peer connection');
    deps.onRejected?.(reason);
    // Written out before the close, so the peer reads why (a failure reply) when there is one.
    writer.flush();
    socket.end(() => socket.destroy());
    // A peer that reads nothing never lets the end finish: it is cut off shortly after.
    setTimeout(() => socket.destroy(), closeGraceMs).unref();
  };
  const reply = (id: number, body: PeerReply) => writer.send(encodeFrame({ kind: 'reply', id, body }));
  const failure = (id: number, code: FailureCode, message: string) => reply(id, { type: 'failure', code, message });

  const authenticate = (id: number, hello: HelloRequest) => {
    const refusal = helloRefusal(hello, socket, nonces.server, deps);
    if (refusal !== undefined) {
      failure(id, 'refused', refusal);
      return reject('hello-refused', refusal);
    }
    peer = { nodeId: hello.nodeId, address: hello.address };
    clearTimeout(handshakeTimer);
    connections.pending.delete(socket);
    connections.authenticated.add(socket);
    decoder.setBytesMax(frameBytesMax);
    reply(id, { type: 'welcome', ...deps.self, proofs: proofsFor(deps.credentials.secrets(), nonces.client, deps.clusterName) });
  };

  const inbound = new InboundRequests(
    settings,
    (id, body, from) =>
      deps.handler(body, from).then(
        (answer) => reply(id, answer),
        (error: unknown) => failure(id, 'storage-error', error instanceof Error ? error.message : String(error)),
      ),
    (id, waiting) => {
      deps.onOverloaded?.();
      failure(id, 'overloaded', `${deps.self.nodeId} is overloaded (${waiting} on this connection); nothing was applied, retry later`);
    },
  );

  const onFrame = (payload: Uint8Array) => {
    const frame = decodeFrame(payload);
    if (frame.kind !== 'request') throw new CodecError('a peer sent a reply on an inbound connection');
    const body = frame.body;
    if (peer === undefined) {
      if (body.type !== 'hello') return reject('not-hello', 'first frame was not hello');
      return authenticate(frame.id, body);
    }
    if (body.type === 'hello') return reject('hello-twice', 'hello sent twice');
    const impersonation = impersonationIn(body, peer);
    if (impersonation !== undefined) {
      failure(frame.id, 'refused', impersonation);
      return reject('impersonation', impersonation);
    }
    inbound.admit(frame.id, body, peer, payload.byteLength);
  };

  const onData = (chunk: Buffer) => {
    try {
      if (closing) return;
      for (const payload of decoder.push(chunk)) {
        if (closing) return;
        onFrame(payload);
      }
    } catch (error) {
      reject('bad-frame', error instanceof Error ? error.message : String(error));
    }
  };
  socket.on('data', onData);
  socket.on('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    inbound.clear();
    clearTimeout(handshakeTimer);
    connections.pending.delete(socket);
    connections.authenticated.delete(socket);
  });
  if (head.length > 0) onData(head);
}

interface QueuedRequest {
  id: number;
  body: DataRequest;
  from: MemberAddress;
  bytes: number;
}

/** The requests of one authenticated peer connection: a bounded number at once, a bounded queue behind them. */
class InboundRequests {
  private executing = 0;
  private queuedBytes = 0;
  private readonly queue: QueuedRequest[] = [];

  constructor(
    private readonly settings: PeerServerOptions,
    private readonly run: (id: number, body: DataRequest, from: MemberAddress) => Promise<void>,
    private readonly refuse: (id: number, waiting: string) => void,
  ) {}

  /** Runs the request now, queues it, or refuses it when the queue is full. */
  admit(id: number, body: DataRequest, from: MemberAddress, bytes: number): void {
    // Probes never wait behind data: a node slow to answer them would be declared down.
    if (body.type === 'ping' || body.type === 'pingReq') {
      void this.run(id, body, from);
      return;
    }
    if (this.executing < this.settings.requestsExecutingMax) {
      this.execute({ id, body, from, bytes });
      return;
    }
    if (this.queue.length >= this.settings.requestsQueuedMax || this.queuedBytes + bytes > this.settings.queuedBytesMax) {
      this.refuse(id, `${this.executing} requests executing, ${this.queue.length} (${this.queuedBytes} bytes) waiting`);
      return;
    }
    this.queue.push({ id, body, from, bytes });
    this.queuedBytes += bytes;
  }

  /** Forgets the waiting requests: the connection closed, nobody can read their answers. */
  clear(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private execute(request: QueuedRequest): void {
    this.executing++;
    void this.run(request.id, request.body, request.from).finally(() => {
      this.executing--;
      const next = this.queue.shift();
      if (next === undefined) return;
      this.queuedBytes -= next.bytes;
      this.execute(next);
    });
  }
}

function helloRefusal(hello: HelloRequest, socket: Socket, serverNonce: string, deps: PeerServerDeps): string | undefined {
  if (hello.clusterName !== deps.clusterName) {
    return `cluster name mismatch: this node is in "${deps.clusterName}", the peer in "${hello.clusterName}"`;
  }
  if (hello.protocolVersion !== protocolVersion) {
    return `protocol version mismatch: this node speaks peer protocol ${protocolVersion}, the peer ${hello.protocolVersion}; run one ringkv release across the cluster (docs/upgrading.md)`;
  }
  if (!isValidProof(deps.credentials.secrets(), serverNonce, deps.clusterName, hello.proofs)) {
    return 'authentication failed: the peer does not know the cluster secret';
  }
  if (!nodeIdPattern.test(hello.nodeId)) return 'the peer named no valid node id';
  if (hello.nodeId === deps.self.nodeId) return `the peer claims this node's own id ${hello.nodeId}`;
  if (deps.credentials.tls()?.ca !== undefined && !(socket instanceof TLSSocket && certificateNamesNode(socket.getPeerCertificate(), hello.nodeId))) {
    return `the peer's certificate does not name node ${hello.nodeId}`;
  }
  return undefined;
}

/** A message that speaks for a member other than the authenticated peer (it may speak only for itself). */
function impersonationIn(body: DataRequest, peer: MemberAddress): string | undefined {
  if (body.type === 'ping' && (body.from.nodeId !== peer.nodeId || body.from.address !== peer.address)) {
    return `a ping from ${peer.nodeId} (${peer.address}) claimed to come from ${body.from.nodeId} (${body.from.address})`;
  }
  return undefined;
}
