// One outbound, persistent peer connection (DESIGN.md, "Peer protocol"). Requests carry
// ids so many share the connection; replies resolve them in any order. Requests made
// while the handshake runs wait for it; after a failure the connection backs off
// (doubling, jittered) and requests fail fast as `not-connected`, which tells the
// coordinator that nothing was sent.
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import {
  decodeFrame,
  encodeFrame,
  expectReply,
  FrameDecoder,
  PeerError,
  peerInflightMax,
  protocolVersion,
  type MemberAddress,
  type PeerReply,
  type PeerRequest,
  type WelcomeReply,
} from '@ringkv/core';
import { FrameWriter } from './frame-writer.js';
import { isValidProof, newNonce, parseAddress, proofFor } from './peer-auth.js';
import { peerPath, peerUpgradeToken } from './peer-server.js';

export interface PeerConnectionOptions {
  self: MemberAddress;
  clusterName: string;
  secret: string;
  connectTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
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

  private write(body: PeerRequest, pending: Pending): void {
    const id = this.nextId++;
    this.inflight.set(id, pending);
    (this.writer as FrameWriter).send(encodeFrame({ kind: 'request', id, body }));
  }

  private connect(): void {
    this.state = 'connecting';
    const { host, port } = parseAddress(this.address);
    const clientNonce = newNonce();
    const upgrade = httpRequest({
      host,
      port,
      path: peerPath,
      agent: false,
      timeout: this.options.connectTimeoutMs,
      headers: { Connection: 'Upgrade', Upgrade: peerUpgradeToken, 'X-Ringkv-Nonce': clientNonce },
    });
    upgrade.on('upgrade', (response, socket: Socket, head: Buffer) => {
      const serverNonce = response.headers['x-ringkv-nonce'];
      if (typeof serverNonce !== 'string') {
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

  private handshake(socket: Socket, head: Buffer, serverNonce: string, clientNonce: string): void {
    socket.setNoDelay(true);
    this.socket = socket;
    this.writer = new FrameWriter(socket);
    const decoder = new FrameDecoder();
    const helloId = this.nextId++;
    this.inflight.set(helloId, {
      deadlineMs: Date.now() + this.options.connectTimeoutMs,
      resolve: (reply) => {
        try {
          const welcome = expectReply<WelcomeReply>(reply, 'welcome');
          if (!isValidProof(this.options.secret, clientNonce, this.options.clusterName, welcome.proof)) {
            throw new PeerError('handshake-refused', `${this.address} does not know the cluster secret`, false);
          }
          this.remoteNodeId = welcome.nodeId;
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
          protocolVersion,
          nodeId: this.options.self.nodeId,
          address: this.options.self.address,
          proof: proofFor(this.options.secret, serverNonce, this.options.clusterName),
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
