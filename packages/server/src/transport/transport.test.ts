// Runs the real peer transport over loopback: requests share one authenticated
// connection, replies match their requests under concurrency, a wrong secret or cluster
// name, or another peer protocol version, is refused before any message is served, a restarted peer is reconnected, secrets
// rotate (prove with the first, accept any), an empty secret is refused, and a peer that
// answers as another node, or a ping that speaks for another member, is refused.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { PeerError, protocolVersion, type RequestHandler } from '@ringkv/core';
import { pino } from 'pino';
import { staticPeerCredentials } from './peer-credentials.js';
import { attachPeerServer } from './peer-server.js';
import { TcpTransport } from './tcp-transport.js';

const log = pino({ level: 'silent' });
const servers: Server[] = [];
after(() => servers.forEach((server) => server.close()));

const echoHandler: RequestHandler = async (body) => {
  if (body.type === 'get') return { type: 'getReply', record: { hlc: body.key.length, nodeId: 'server', tombstone: false, value: body.key } };
  if (body.type === 'put') return { type: 'putAck', applied: true };
  return { type: 'pong', updates: [] };
};

async function startPeerServer(options: { secret?: string; secrets?: string[]; clusterName?: string; port?: number; handler?: RequestHandler } = {}) {
  const server = createServer((_request, response) => response.end());
  const handled: string[] = [];
  const peer = attachPeerServer(server, {
    self: { nodeId: 'server', address: 'unused' },
    clusterName: options.clusterName ?? 'test',
    credentials: staticPeerCredentials(options.secrets ?? [options.secret ?? 's3cret']),
    handler: async (body, from) => {
      handled.push(`${from.nodeId}:${body.type}`);
      return (options.handler ?? echoHandler)(body, from);
    },
    log,
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  servers.push(server);
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    handled,
    stop: () => {
      peer.close();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function client(options: { secret?: string; secrets?: string[]; clusterName?: string; expectedNodeIds?: readonly string[]; protocolVersion?: number } = {}) {
  return new TcpTransport({
    self: { nodeId: 'client', address: '127.0.0.1:1' },
    clusterName: options.clusterName ?? 'test',
    credentials: staticPeerCredentials(options.secrets ?? [options.secret ?? 's3cret']),
    expectedNodeIds: () => options.expectedNodeIds ?? [],
    connectTimeoutMs: 1000,
    backoffMinMs: 20,
    backoffMaxMs: 100,
    ...(options.protocolVersion !== undefined ? { protocolVersion: options.protocolVersion } : {}),
  });
}

describe('TCP peer transport', () => {
  it('answers many concurrent requests over one connection, each with its own reply', async () => {
    const server = await startPeerServer();
    const transport = client();
    const keys = Array.from({ length: 2000 }, (_, i) => `key-${i}-${'x'.repeat(i % 50)}`);
    const replies = await Promise.all(keys.map((key) => transport.request(server.address, { type: 'get', key }, 5000)));
    replies.forEach((reply, i) => assert.equal(reply.record?.value, keys[i]));
    assert.deepEqual(transport.connectedAddresses(), [server.address]);
    assert.ok(server.handled.every((entry) => entry.startsWith('client:')));
    transport.close();
    await server.stop();
  });

  it('refuses a peer with the wrong secret or cluster name before serving anything', async () => {
    const server = await startPeerServer();
    for (const impostor of [client({ secret: 'guess' }), client({ clusterName: 'other' })]) {
      await assert.rejects(impostor.request(server.address, { type: 'get', key: 'k' }, 2000), (error: unknown) => {
        assert.ok(error instanceof PeerError);
        assert.equal(error.maybeDelivered, false);
        return true;
      });
      impostor.close();
    }
    assert.deepEqual(server.handled, [], 'no message from an unauthenticated peer was handled');
    await server.stop();
  });

  it('refuses a peer speaking another protocol version, naming both versions, before serving anything', async () => {
    const server = await startPeerServer();
    for (const version of [protocolVersion - 1, protocolVersion + 1]) {
      const other = client({ protocolVersion: version });
      await assert.rejects(other.request(server.address, { type: 'get', key: 'k' }, 2000), (error: unknown) => {
        assert.ok(error instanceof PeerError);
        assert.match(error.message, new RegExp(`speaks peer protocol ${protocolVersion}, the peer ${version}`));
        return true;
      });
      other.close();
    }
    assert.deepEqual(server.handled, []);
    await server.stop();
  });

  it('fails fast when nothing listens, and reconnects once the peer is back', async () => {
    const first = await startPeerServer();
    const port = Number(first.address.split(':')[1]);
    const transport = client();
    await transport.request(first.address, { type: 'get', key: 'a' }, 2000);
    await first.stop();
    await assert.rejects(transport.request(first.address, { type: 'get', key: 'b' }, 2000), PeerError);
    const second = await startPeerServer({ port });
    let answered = false;
    for (let attempt = 0; attempt < 50 && !answered; attempt++) {
      try {
        await transport.request(second.address, { type: 'get', key: 'c' }, 2000);
        answered = true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.ok(answered, 'the transport reconnected to the restarted peer');
    transport.close();
    await second.stop();
  });

  it('times out a request whose reply never comes, marking it as possibly delivered', async () => {
    const server = await startPeerServer({ handler: () => new Promise(() => undefined) });
    const transport = client();
    await assert.rejects(transport.request(server.address, { type: 'put', key: 'k', record: { hlc: 1, nodeId: 'c', tombstone: false, value: 1 } }, 150), (error: unknown) => {
      assert.ok(error instanceof PeerError);
      assert.equal(error.code, 'timeout');
      assert.equal(error.maybeDelivered, true);
      return true;
    });
    transport.close();
    await server.stop();
  });

  it('refuses an empty cluster secret, or none', () => {
    assert.throws(() => staticPeerCredentials(['']), /must not be empty/);
    assert.throws(() => staticPeerCredentials(['new', '']), /must not be empty/);
    assert.throws(() => staticPeerCredentials([]), /at least one/);
  });

  it('rotates secrets: accepts a proof with any held secret and proves with the first', async () => {
    const rotating = await startPeerServer({ secrets: ['new', 'old'] });
    const newOnly = await startPeerServer({ secrets: ['new'] });
    const oldOnly = await startPeerServer({ secrets: ['old'] });
    const notRotated = client({ secrets: ['old'] });
    const rotated = client({ secrets: ['new', 'old'] });
    const newOnlyClient = client({ secrets: ['new'] });
    // Mid-rotation, a node still on "old" and one holding both talk, whichever calls.
    await notRotated.request(rotating.address, { type: 'get', key: 'a' }, 2000);
    await rotated.request(oldOnly.address, { type: 'get', key: 'a' }, 2000);
    // The rotated node proves with "new" too: a node holding only "new" accepts it.
    await rotated.request(newOnly.address, { type: 'get', key: 'a' }, 2000);
    await newOnlyClient.request(rotating.address, { type: 'get', key: 'a' }, 2000);
    // Once the old secret is gone, a node still on it is refused, both ways.
    for (const [transport, server] of [
      [notRotated, newOnly],
      [newOnlyClient, oldOnly],
    ] as const) {
      await assert.rejects(transport.request(server.address, { type: 'get', key: 'a' }, 2000), (error: unknown) => error instanceof PeerError && error.code === 'handshake-refused');
    }
    assert.deepEqual(newOnly.handled, ['client:get']);
    assert.deepEqual(oldOnly.handled, ['client:get']);
    assert.deepEqual(rotating.handled, ['client:get', 'client:get']);
    for (const transport of [notRotated, rotated, newOnlyClient]) transport.close();
    for (const server of [rotating, newOnly, oldOnly]) await server.stop();
  });

  it('refuses a peer that answers as another node than the member known at its address', async () => {
    const server = await startPeerServer();
    const expectingOther = client({ expectedNodeIds: ['n7'] });
    await assert.rejects(expectingOther.request(server.address, { type: 'get', key: 'k' }, 2000), (error: unknown) => {
      assert.ok(error instanceof PeerError);
      assert.equal(error.code, 'handshake-refused');
      assert.match(error.message, /answered as server/);
      return true;
    });
    const expectingServer = client({ expectedNodeIds: ['n7', 'server'] });
    await expectingServer.request(server.address, { type: 'get', key: 'k' }, 2000);
    assert.deepEqual(server.handled, ['client:get'], 'nothing was sent over the refused connection');
    expectingOther.close();
    expectingServer.close();
    await server.stop();
  });

  it('refuses a ping whose sender is another member than the authenticated peer, and closes the connection', async () => {
    const server = await startPeerServer();
    const transport = client();
    await assert.rejects(transport.request(server.address, { type: 'ping', from: { nodeId: 'n9', address: '127.0.0.1:1' }, updates: [] }, 2000), (error: unknown) => {
      assert.ok(error instanceof PeerError);
      assert.equal(error.code, 'remote-failure');
      assert.match(error.message, /refused/);
      return true;
    });
    // The refused connection closes; an honest ping on a new one is served.
    let answered = false;
    for (let attempt = 0; attempt < 50 && !answered; attempt++) {
      answered = await transport.request(server.address, { type: 'ping', from: { nodeId: 'client', address: '127.0.0.1:1' }, updates: [] }, 2000).then(
        () => true,
        () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20)),
      );
    }
    assert.ok(answered);
    assert.deepEqual(server.handled, ['client:ping'], 'only the honest ping reached the handler');
    transport.close();
    await server.stop();
  });
});
