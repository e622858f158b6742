// Runs the real peer transport over loopback: requests share one authenticated
// connection, replies match their requests under concurrency, a wrong secret or cluster
// name is refused before any message is served, and a restarted peer is reconnected.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { PeerError, type RequestHandler } from '@ringkv/core';
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

async function startPeerServer(options: { secret?: string; clusterName?: string; port?: number; handler?: RequestHandler } = {}) {
  const server = createServer((_request, response) => response.end());
  const handled: string[] = [];
  const peer = attachPeerServer(server, {
    self: { nodeId: 'server', address: 'unused' },
    clusterName: options.clusterName ?? 'test',
    credentials: staticPeerCredentials([options.secret ?? 's3cret']),
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

function client(options: { secret?: string; clusterName?: string } = {}) {
  return new TcpTransport({
    self: { nodeId: 'client', address: '127.0.0.1:1' },
    clusterName: options.clusterName ?? 'test',
    credentials: staticPeerCredentials([options.secret ?? 's3cret']),
    connectTimeoutMs: 1000,
    backoffMinMs: 20,
    backoffMaxMs: 100,
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
});
