// The accepting side of the peer protocol. Peers reach a node on its API port with an
// HTTP Upgrade to `ringkv-peer` at /peer/v1 (one port per node), then speak
// length-prefixed MessagePack frames. The first frame must be a valid `hello`; anything
// else, a bad proof, a different cluster or protocol version closes the connection.
// Malformed bytes close only that connection: the node keeps serving.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import {
  CodecError,
  decodeFrame,
  encodeFrame,
  FrameDecoder,
  protocolVersion,
  type DataRequest,
  type FailureCode,
  type MemberAddress,
  type PeerReply,
  type RequestHandler,
} from '@ringkv/core';
import type { Logger } from 'pino';
import { FrameWriter } from './frame-writer.js';
import { isValidProof, newNonce, proofFor } from './peer-auth.js';

export const peerPath = '/peer/v1';
export const peerUpgradeToken = 'ringkv-peer';

export interface PeerServerDeps {
  self: MemberAddress;
  clusterName: string;
  secret: string;
  handler: RequestHandler;
  log: Logger;
  /** Counted in metrics: a connection dropped for bad input. */
  onRejected?(reason: string): void;
}

export interface PeerServer {
  /** Closes every inbound peer connection. */
  close(): void;
}

export function attachPeerServer(server: Server, deps: PeerServerDeps): PeerServer {
  const sockets = new Set<Socket>();
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const clientNonce = request.headers['x-ringkv-nonce'];
    if (request.url !== peerPath || request.headers.upgrade?.toLowerCase() !== peerUpgradeToken || typeof clientNonce !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      deps.onRejected?.('bad-upgrade');
      return;
    }
    const serverNonce = newNonce();
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${peerUpgradeToken}\r\nConnection: Upgrade\r\nX-Ringkv-Nonce: ${serverNonce}\r\n\r\n`,
    );
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, head, serverNonce, clientNonce, deps);
  });
  return {
    close: () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

function serveConnection(socket: Socket, head: Buffer, serverNonce: string, clientNonce: string, deps: PeerServerDeps): void {
  const decoder = new FrameDecoder();
  const writer = new FrameWriter(socket);
  let peer: MemberAddress | undefined;

  const reject = (reason: string) => {
    deps.log.warn({ remote: socket.remoteAddress, reason }, 'closing peer connection');
    deps.onRejected?.(reason);
    writer.flush();
    socket.destroy();
  };
  const reply = (id: number, body: PeerReply) => writer.send(encodeFrame({ kind: 'reply', id, body }));
  const failure = (id: number, code: FailureCode, message: string) => reply(id, { type: 'failure', code, message });

  const onFrame = (payload: Uint8Array) => {
    const frame = decodeFrame(payload);
    if (frame.kind !== 'request') throw new CodecError('a peer sent a reply on an inbound connection');
    const body = frame.body;
    if (peer === undefined) {
      if (body.type !== 'hello') return reject('first frame was not hello');
      const refusal = checkHello(body, serverNonce, deps);
      if (refusal !== undefined) {
        failure(frame.id, 'refused', refusal);
        return reject(refusal);
      }
      peer = { nodeId: body.nodeId, address: body.address };
      reply(frame.id, { type: 'welcome', ...deps.self, proof: proofFor(deps.secret, clientNonce, deps.clusterName) });
      return;
    }
    if (body.type === 'hello') return reject('hello sent twice');
    const from = peer;
    deps.handler(body as DataRequest, from).then(
      (answer) => reply(frame.id, answer),
      (error: unknown) => failure(frame.id, 'storage-error', error instanceof Error ? error.message : String(error)),
    );
  };

  const onData = (chunk: Buffer) => {
    try {
      for (const payload of decoder.push(chunk)) onFrame(payload);
    } catch (error) {
      reject(error instanceof Error ? error.message : String(error));
    }
  };
  socket.on('data', onData);
  socket.on('error', () => socket.destroy());
  if (head.length > 0) onData(head);
}

function checkHello(
  hello: { clusterName: string; protocolVersion: number; proof: string },
  serverNonce: string,
  deps: PeerServerDeps,
): string | undefined {
  if (hello.clusterName !== deps.clusterName) {
    return `cluster name mismatch: this node is in "${deps.clusterName}", the peer in "${hello.clusterName}"`;
  }
  if (hello.protocolVersion !== protocolVersion) {
    return `protocol version mismatch: this node speaks ${protocolVersion}, the peer ${hello.protocolVersion}`;
  }
  if (!isValidProof(deps.secret, serverNonce, deps.clusterName, hello.proof)) {
    return 'authentication failed: the peer does not know the cluster secret';
  }
  return undefined;
}
