// Attacks the peer port with raw sockets, as a stranger without the secret would, and
// checks what the node spends on them: connections that half-close, go silent, announce a
// 16 MiB frame or crowd the handshake are closed promptly and leave no fd or memory behind,
// and fast-check fuzzing of bytes and frames (before and after authentication) never
// crashes the node, which keeps serving an honest peer throughout.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { encodeFrame, protocolVersion, type DataRequest, type Frame, type RequestHandler } from '@ringkv/core';
import fc from 'fast-check';
import { pino } from 'pino';
import { newNonce, proofsFor } from './peer-auth.js';
import { staticPeerCredentials } from './peer-credentials.js';
import { attachPeerServer, type PeerServerOptions } from './peer-server.js';
import { TcpTransport } from './tcp-transport.js';

const secret = 'resources-secret';
const clusterName = 'test';
const servers: Server[] = [];
after(() => servers.forEach((server) => server.close()));

async function startPeerServer(options: Partial<PeerServerOptions> = {}) {
  const server = createServer((_request, response) => response.end());
  const handled: DataRequest[] = [];
  const handler: RequestHandler = async (body) => {
    handled.push(body);
    return body.type === 'get' ? { type: 'getReply', record: null } : { type: 'failure', code: 'bad-request', message: 'test server answers get only' };
  };
  const peer = attachPeerServer(server, { self: { nodeId: 'server', address: 'unused' }, clusterName, credentials: staticPeerCredentials([secret]), handler, log: pino({ level: 'silent' }) }, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, peer, handled, server };
}

/** Opens a socket and sends the peer upgrade; resolves with the socket and the server's nonce once it answered 101. */
function rawUpgrade(port: number): Promise<{ socket: Socket; serverNonce: string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const nonce = /X-Ringkv-Nonce: ([0-9a-f]+)/i.exec(head.slice(0, end));
      if (!head.startsWith('HTTP/1.1 101') || nonce === null) return reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      resolve({ socket, serverNonce: nonce[1] as string, closed });
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.once('close', () => reject(new Error('closed before the upgrade was answered')));
    socket.write(`GET /peer/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: ringkv-peer\r\nX-Ringkv-Nonce: ${newNonce()}\r\n\r\n`);
  });
}

/** Resolves true if the socket closes within `withinMs`. */
function closesWithin(closed: Promise<void>, withinMs: number): Promise<boolean> {
  return Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), withinMs))]);
}

function helloFrame(serverNonce: string, nodeId = 'fuzzer'): Uint8Array {
  return encodeFrame({ kind: 'request', id: 1, body: { type: 'hello', clusterName, protocolVersion, nodeId, address: '127.0.0.1:1', proofs: proofsFor([secret], serverNonce, clusterName) } });
}

const openFds = () => readdirSync('/proc/self/fd').length;

async function settle(check: () => boolean, limitMs: number): Promise<void> {
  for (let waitedMs = 0; !check() && waitedMs < limitMs; waitedMs += 20) await new Promise((resolve) => setTimeout(resolve, 20));
}

function honestClient() {
  return new TcpTransport({ self: { nodeId: 'honest', address: '127.0.0.1:1' }, clusterName, credentials: staticPeerCredentials([secret]), connectTimeoutMs: 1000, backoffMinMs: 20, backoffMaxMs: 100 });
}

describe('peer connections before authentication', () => {
  it("serves nothing of a stranger's pipelined frames: a hello with a wrong or empty-secret proof, a put and a ping", async () => {
    const { port, handled } = await startPeerServer();
    for (const guessed of ['guess', '']) {
      const { socket, serverNonce, closed } = await rawUpgrade(port);
      const proofs = guessed === '' ? [createHmac('sha256', '').update(`${clusterName}\n${serverNonce}`).digest('hex')] : proofsFor([guessed], serverNonce, clusterName);
      const frames: Frame[] = [
        { kind: 'request', id: 1, body: { type: 'hello', clusterName, protocolVersion, nodeId: 'phantom', address: '127.0.0.1:9', proofs } },
        { kind: 'request', id: 2, body: { type: 'put', key: 'k', record: { hlc: 2 ** 50, nodeId: 'phantom', tombstone: false, value: 'forged' } } },
        { kind: 'request', id: 3, body: { type: 'ping', from: { nodeId: 'phantom', address: '127.0.0.1:9' }, updates: [] } },
      ];
      socket.write(Buffer.concat(frames.map((frame) => encodeFrame(frame))));
      assert.ok(await closesWithin(closed, 2000));
    }
    assert.deepEqual(handled, [], 'no write and no membership message reached the node');
  });

  it('closes a silent upgraded socket after the handshake timeout', async () => {
    const { port, peer } = await startPeerServer({ handshakeTimeoutMs: 200 });
    const { closed } = await rawUpgrade(port);
    assert.equal(peer.connections().pending, 1);
    assert.ok(await closesWithin(closed, 2000), 'the node closed the silent connection');
    await settle(() => peer.connections().pending === 0, 1000);
    assert.deepEqual(peer.connections(), { pending: 0, authenticated: 0 });
  });

  it('closes at once a connection that announces a 16 MiB frame before authenticating', async () => {
    const { port } = await startPeerServer({ handshakeTimeoutMs: 60_000 });
    const { socket, closed } = await rawUpgrade(port);
    socket.write(Buffer.from([0x01, 0x00, 0x00, 0x00, 0x92]));
    assert.ok(await closesWithin(closed, 1000), 'closed without waiting for the 16 MiB');
  });

  it('refuses upgrades beyond the pending cap with problem+json, and takes them again once the pending ones go', async () => {
    const { port, peer } = await startPeerServer({ pendingConnectionsMax: 5, handshakeTimeoutMs: 60_000 });
    const pending = await Promise.all(Array.from({ length: 5 }, () => rawUpgrade(port)));
    await assert.rejects(rawUpgrade(port), /503/);
    for (const { socket } of pending) socket.end();
    await settle(() => peer.connections().pending === 0, 2000);
    const again = await rawUpgrade(port);
    again.socket.destroy();
  });

  it('releases fds and memory after hundreds of connections that half-send and close, and keeps serving', { timeout: 60_000 }, async () => {
    const { port, peer, handled } = await startPeerServer({ handshakeTimeoutMs: 60_000 });
    const honest = honestClient();
    await honest.request(`127.0.0.1:${port}`, { type: 'get', key: 'before' }, 2000);
    const fdsBefore = openFds();
    const rssBefore = process.memoryUsage().rss;
    const cycles = 300;
    for (let batch = 0; batch < cycles / 30; batch++) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const { socket, closed } = await rawUpgrade(port);
          // A frame of almost 64 KiB announced, a few KiB of it sent, then FIN: the old node kept it in CLOSE-WAIT.
          const partial = Buffer.alloc(4096 + i);
          partial.writeUInt32BE(60_000, 0);
          socket.end(partial);
          assert.ok(await closesWithin(closed, 5000), 'the node closed its side after the FIN');
        }),
      );
    }
    await settle(() => peer.connections().pending === 0 && openFds() <= fdsBefore + 5, 5000);
    assert.deepEqual(peer.connections(), { pending: 0, authenticated: 1 }, 'only the honest connection remains');
    assert.ok(openFds() <= fdsBefore + 5, `fds: ${fdsBefore} before, ${openFds()} after ${cycles} connections`);
    global.gc?.();
    const rssGrowthBytes = process.memoryUsage().rss - rssBefore;
    assert.ok(rssGrowthBytes < 64 * 1024 * 1024, `RSS grew by ${Math.round(rssGrowthBytes / 1024 / 1024)} MiB`);
    await honest.request(`127.0.0.1:${port}`, { type: 'get', key: 'after' }, 2000);
    assert.deepEqual(
      handled.map((body) => body.type === 'get' && body.key),
      ['before', 'after'],
    );
    honest.close();
  });
});

const anyRequestFrame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const),
    id: fc.nat(),
    body: fc.record({
      type: fc.constant('hello' as const),
      clusterName: fc.oneof(fc.constant(clusterName), fc.string()),
      protocolVersion: fc.oneof(fc.constant(protocolVersion), fc.nat()),
      nodeId: fc.oneof(fc.constant('server'), fc.string()),
      address: fc.string(),
      proofs: fc.array(fc.stringMatching(/^[0-9a-f]{0,64}$/), { minLength: 1, maxLength: 4 }),
    }),
  }),
  fc.record({ kind: fc.constant('request' as const), id: fc.nat(), body: fc.record({ type: fc.constant('get' as const), key: fc.string() }) }),
  fc.record({
    kind: fc.constant('request' as const),
    id: fc.nat(),
    body: fc.record({ type: fc.constant('put' as const), key: fc.string(), record: fc.record({ hlc: fc.nat(), nodeId: fc.string(), tombstone: fc.constant(false), value: fc.jsonValue() }) }),
  }),
  fc.record({ kind: fc.constant('reply' as const), id: fc.nat(), body: fc.record({ type: fc.constant('pushAck' as const), applied: fc.nat() }) }),
);

describe('fuzzing the peer handshake and codec', () => {
  it('survives random bytes and random frames before authentication, serving nothing from them', { timeout: 120_000 }, async () => {
    const { port, peer, handled } = await startPeerServer({ handshakeTimeoutMs: 100 });
    const input = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 512 }),
      fc.array(anyRequestFrame, { minLength: 1, maxLength: 3 }).map((frames) => Buffer.concat(frames.map((frame) => encodeFrame(frame)))),
    );
    await fc.assert(
      fc.asyncProperty(input, async (bytes) => {
        const { socket, closed } = await rawUpgrade(port);
        socket.write(bytes);
        assert.ok(await closesWithin(closed, 2000), 'the connection was closed');
      }),
      { numRuns: 200 },
    );
    assert.deepEqual(handled, [], 'no unauthenticated frame reached the handler');
    await settle(() => peer.connections().pending === 0, 2000);
    assert.equal(peer.connections().pending, 0);
    const honest = honestClient();
    await honest.request(`127.0.0.1:${port}`, { type: 'get', key: 'still-serving' }, 2000);
    honest.close();
  });

  it('survives random bytes after a valid hello: the bad connection closes, the node keeps serving', { timeout: 120_000 }, async () => {
    const { port, peer } = await startPeerServer({ handshakeTimeoutMs: 1000 });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 5, maxLength: 512 }), async (bytes) => {
        const { socket, serverNonce, closed } = await rawUpgrade(port);
        socket.write(helloFrame(serverNonce));
        // A length prefix that announces more than the rest (or bytes that never decode) ends in a close: FIN after sending.
        socket.end(bytes);
        assert.ok(await closesWithin(closed, 2000), 'the connection was closed');
      }),
      { numRuns: 200 },
    );
    await settle(() => peer.connections().authenticated === 0, 2000);
    assert.deepEqual(peer.connections(), { pending: 0, authenticated: 0 }, 'authenticated connections the peer closed are released too');
    const honest = honestClient();
    await honest.request(`127.0.0.1:${port}`, { type: 'get', key: 'still-serving' }, 2000);
    honest.close();
  });
});
