// One outbound, persistent peer connection (docs/design.md, "Peer protocol"). Requests carry
// ids so many share the connection; replies resolve them in any order. Requests made
// while the handshake runs wait for it; after a failure the connection backs off
// (doubling, jittered) and requests fail fast as `not-connected`, which tells the
// coordinator that nothing was sent.
//
// The handshake checks who answered, not only that it knows the secret: the welcome must
// name a node this one expects at the address (membership knows which), and with mutual
// TLS the server's certificate must name that node too. A connection keeps the identity
// it proved for its whole life.
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  decodeFrame,
  encodeFrame,
  expectReply,
  FrameDecoder,
  frameBytesMax,
  nodeIdPattern,
  PeerError,
  peerFrameBytesMaxUnauthenticated,
  peerInflightMax,
  protocolVersion,
  type MemberAddress,
  type PeerReply,
  type PeerRequest,
  type WelcomeReply,
} from '@ringkv/core';
import { FrameWriter } from './frame-writer.js';
import { certificateNamesNode, isValidProof, isWellFormedNonce, newNonce, parseAddress, proofsFor } from './peer-auth.js';
import type { PeerCredentials } from './peer-credentials.js';
import { peerPath, peerUpgradeToken } from './peer-server.js';

export interface PeerConnectionOptions {
  self: MemberAddress;
  clusterName: string;
  credentials: PeerCredentials;
  /**
   * Node ids of the members known at an address (membership: nodeIdsAt). When there are
   * any, the peer that answers there must prove one of them; none known accepts any id
   * (a seed not yet heard of).
   */
  expectedNodeIds?(address: string): readonly string[];
  connectTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** The peer protocol version this node speaks (messages.ts); tests rehearse a peer of another version with it. */
  protocolVersion?: number;
}

interface Pending {
  resolve(reply: PeerReply): void;
  reject(error: PeerError): void;
  deadlineMs: number;
}

interface Waiting {
  body: PeerRequest;
  pending: Pending;
}

type State = 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed';

export class PeerConnection {
  readonly address: string;
  private readonly options: PeerConnectionOptions;
  private state: State = 'idle';
  private socket: Socket | undefined;
  private writer: FrameWriter | undefined;
  private nextId = 1;
  private readonly inflight = new Map<number, Pending>();
  private waiting: Waiting[] = [];
  private sentBytes = 0;
  private backoffMs: number;
  private backoffUntilMs = 0;
  private sweeper: NodeJS.Timeout | undefined;
  /** The node id the peer proved in its welcome. */
  remoteNodeId: string | undefined;

  constructor(address: string, options: PeerConnectionOptions) {
    this.address = address;
    this.options = options;
    this.backoffMs = options.backoffMinMs;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  request(body: PeerRequest, timeoutMs: number): Promise<PeerReply> {
    if (this.state === 'closed') return Promise.reject(new PeerError('not-connected', 'transport closed', false));
    if (this.state === 'backoff' && Date.now() < this.backoffUntilMs) {
      return Promise.reject(new PeerError('not-connected', `${this.address} is unreachable (reconnecting)`, false));
    }
    if (this.inflight.size + this.waiting.length >= peerInflightMax) {
      return Promise.reject(new PeerError('overloaded', `${peerInflightMax} requests already in flight to ${this.address}`, false));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, deadlineMs: Date.now() + timeoutMs };
      if (this.state === 'ready') this.write(body, pending);
      else {
        this.waiting.push({ body, pending });
        if (this.state === 'idle' || this.state === 'backoff') this.connect();
      }
      this.ensureSweeper();
    });
  }

  close(): void {
    this.state = 'closed';
    this.failAll('not-connected', 'transport closed');
    this.socket?.destroy();
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** Bytes of requests sent and not yet answered: a slow peer's backlog, which the API sheds writes by (api/load-shedding.ts). */
  get unansweredBytes(): number {
    return this.sentBytes;
  }

  private write(body: PeerRequest, pending: Pending): void {
    const id = this.nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ kind: 'request', id, body });
    } catch (error) {
      // Too large for a frame (the codec refuses it): nothing is sent, the connection stays up.
      pending.reject(new PeerError('too-large', `the request to ${this.address} cannot be sent: ${(error as Error).message}`, false));
      return;
    }
    const bytes = frame.byteLength;
    this.sentBytes += bytes;
    // Every way a request ends (reply, timeout, lost connection) resolves or rejects it once.
    this.inflight.set(id, {
      deadlineMs: pending.deadlineMs,
      resolve: (reply) => {
        this.sentBytes -= bytes;
        pending.resolve(reply);
      },
      reject: (error) => {
        this.sentBytes -= bytes;
        pending.reject(error);
      },
    });
    (this.writer as FrameWriter).send(frame);
  }

  private connect(): void {
    this.state = 'connecting';
    const { host, port } = parseAddress(this.address);
    const clientNonce = newNonce();
    const upgrade = this.openUpgrade(host, port, clientNonce);
    upgrade.on('upgrade', (response, socket: Socket, head: Buffer) => {
      const serverNonce = response.headers['x-ringkv-nonce'];
      if (!isWellFormedNonce(serverNonce)) {
        socket.destroy();
        this.connectionFailed('handshake-refused', 'peer sent no nonce');
        return;
      }
      this.handshake(socket, head, serverNonce, clientNonce);
    });
    upgrade.on('response', (response) => {
      response.resume();
      this.connectionFailed('handshake-refused', `peer answered the upgrade with HTTP ${response.statusCode}`);
    });
    upgrade.on('timeout', () => upgrade.destroy(new Error('connect timeout')));
    upgrade.on('error', (error) => this.connectionFailed('not-connected', error.message));
    upgrade.end();
  }

  /** The upgrade request, over HTTPS with this node's certificate when peer links use TLS (read now: certificates reload). */
  private openUpgrade(host: string, port: number, clientNonce: string): ClientRequest {
    const common = {
      host,
      port,
      path: peerPath,
      agent: false as const,
      timeout: this.options.connectTimeoutMs,
      headers: { Connection: 'Upgrade', Upgrade: peerUpgradeToken, 'X-Ringkv-Nonce': clientNonce },
    };
    const tls = this.options.credentials.tls();
    if (tls === undefined) return httpRequest(common);
    return httpsRequest({ ...common, cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : { ca: tls.ca }) });
  }

  /** Why the welcome does not prove the peer this node expects at the address, or undefined when it does. */
  private welcomeRefusal(welcome: WelcomeReply, socket: Socket, clientNonce: string): string | undefined {
    if (!isValidProof(this.options.credentials.secrets(), clientNonce, this.options.clusterName, welcome.proofs)) {
      return `${this.address} does not know the cluster secret`;
    }
    if (!nodeIdPattern.test(welcome.nodeId) || welcome.nodeId === this.options.self.nodeId) return `${this.address} named no valid peer node id`;
    const expected = this.options.expectedNodeIds?.(this.address) ?? [];
    if (expected.length > 0 && !expected.includes(welcome.nodeId)) {
      return `${this.address} answered as ${welcome.nodeId}, but ${expected.join(' or ')} is the member known there`;
    }
    if (this.options.credentials.tls()?.ca !== undefined && !(socket instanceof TLSSocket && certificateNamesNode(socket.getPeerCertificate(), welcome.nodeId))) {
      return `the certificate of ${this.address} does not name node ${welcome.nodeId}`;
    }
    return undefined;
  }

  private handshake(socket: Socket, head: Buffer, serverNonce: string, clientNonce: string): void {
    socket.setNoDelay(true);
    this.socket = socket;
    this.writer = new FrameWriter(socket);
    // Small frames until the peer has proved itself: a stranger cannot make us buffer 16 MiB.
    const decoder = new FrameDecoder(peerFrameBytesMaxUnauthenticated);
    const helloId = this.nextId++;
    this.inflight.set(helloId, {
      deadlineMs: Date.now() + this.options.connectTimeoutMs,
      resolve: (reply) => {
        try {
          const welcome = expectReply<WelcomeReply>(reply, 'welcome');
          const refusal = this.welcomeRefusal(welcome, socket, clientNonce);
          if (refusal !== undefined) throw new PeerError('handshake-refused', refusal, false);
          this.remoteNodeId = welcome.nodeId;
          decoder.setBytesMax(frameBytesMax);
          this.becomeReady();
        } catch (error) {
          socket.destroy();
          this.connectionFailed('handshake-refused', (error as Error).message);
        }
      },
      reject: (error) => this.connectionFailed('handshake-refused', error.message),
    });
    const onData = (chunk: Buffer) => {
      try {
        for (const payload of decoder.push(chunk)) {
          const frame = decodeFrame(payload);
          if (frame.kind !== 'reply') throw new Error('peer sent a request on an outbound connection');
          const pending = this.inflight.get(frame.id);
          if (pending === undefined) continue; // timed out earlier
          this.inflight.delete(frame.id);
          pending.resolve(frame.body);
        }
      } catch (error) {
        socket.destroy(error as Error);
      }
    };
    socket.on('data', onData);
    // A peer that half-closes is gone: close our side too, or the socket lingers in CLOSE-WAIT.
    socket.on('end', () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.connectionFailed('connection-lost', `connection to ${this.address} closed`);
    });
    this.writer.send(
      encodeFrame({
        kind: 'request',
        id: helloId,
        body: {
          type: 'hello',
          clusterName: this.options.clusterName,
          protocolVersion: this.options.protocolVersion ?? protocolVersion,
          nodeId: this.options.self.nodeId,
          address: this.options.self.address,
          proofs: proofsFor(this.options.credentials.secrets(), serverNonce, this.options.clusterName),
        },
      }),
    );
    if (head.length > 0) onData(head);
  }

  private becomeReady(): void {
    this.state = 'ready';
    this.backoffMs = this.options.backoffMinMs;
    const waiting = this.waiting;
    this.waiting = [];
    for (const item of waiting) this.write(item.body, item.pending);
  }

  private connectionFailed(code: 'not-connected' | 'handshake-refused' | 'connection-lost', message: string): void {
    if (this.state === 'closed' || this.state === 'backoff') return;
    const wasReady = this.state === 'ready';
    this.state = 'backoff';
    this.socket?.destroy();
    this.socket = undefined;
    const jitter = 0.5 + Math.random() * 0.5;
    this.backoffUntilMs = Date.now() + this.backoffMs * jitter;
    this.backoffMs = Math.min(this.options.backoffMaxMs, this.backoffMs * 2);
    // In-flight requests were written: the peer may have acted on them.
    for (const pending of this.inflight.values()) pending.reject(new PeerError(wasReady ? 'connection-lost' : code, message, wasReady));
    this.inflight.clear();
    for (const item of this.waiting) item.pending.reject(new PeerError(code === 'connection-lost' ? 'not-connected' : code, message, false));
    this.waiting = [];
  }

  private failAll(code: 'not-connected', message: string): void {
    for (const pending of this.inflight.values()) pending.reject(new PeerError(code, message, true));
    this.inflight.clear();
    for (const item of this.waiting) item.pending.reject(new PeerError(code, message, false));
    this.waiting = [];
  }

  /** One timer per connection expires requests past their deadline (cheaper than a timer each). */
  private ensureSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.expire(), 20);
    this.sweeper.unref();
  }

  private expire(): void {
    const nowMs = Date.now();
    for (const [id, pending] of this.inflight) {
      if (pending.deadlineMs > nowMs) continue;
      this.inflight.delete(id);
      pending.reject(new PeerError('timeout', `no reply from ${this.address} in time`, true));
    }
    this.waiting = this.waiting.filter((item) => {
      if (item.pending.deadlineMs > nowMs) return true;
      item.pending.reject(new PeerError('not-connected', `could not connect to ${this.address} in time`, false));
      return false;
    });
    if (this.inflight.size === 0 && this.waiting.length === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
