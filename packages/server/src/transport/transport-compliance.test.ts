// Runs the Transport compliance suite against the real TCP transport (peers on loopback,
// port 0) and against the simulator's MemoryNetwork on a virtual clock.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryNetwork, SeededRng, VirtualClock, type RequestHandler } from '@ringkv/core';
import { pino } from 'pino';
import { staticPeerCredentials } from './peer-credentials.js';
import { attachPeerServer, type PeerServer } from './peer-server.js';
import { TcpTransport } from './tcp-transport.js';
import { transportComplianceSuite, type TransportHarness } from './transport-compliance.js';

const log = pino({ level: 'silent' });
const credentials = staticPeerCredentials(['compliance-secret']);
const clusterName = 'compliance';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

transportComplianceSuite('tcp over loopback', async (): Promise<TransportHarness> => {
  const peers: Array<{ server: Server; peer: PeerServer }> = [];
  const transport = new TcpTransport({
    self: { nodeId: 'caller', address: '127.0.0.1:1' },
    clusterName,
    credentials,
    expectedNodeIds: () => [],
    connectTimeoutMs: 1000,
    backoffMinMs: 20,
    backoffMaxMs: 100,
  });
  return {
    transport,
    selfId: 'caller',
    async serve(handler: RequestHandler) {
      const server = createServer((_request, response) => response.end());
      const peer = attachPeerServer(server, { self: { nodeId: `peer-${peers.length + 1}`, address: 'unused' }, clusterName, credentials, handler, log });
      peers.push({ server, peer });
      return listen(server);
    },
    async unusedAddress() {
      // A port that was just free: nothing listens there once the probe server closed.
      const probe = createServer();
      const address = await listen(probe);
      await closeServer(probe);
      return address;
    },
    settle: (work) => work,
    async close() {
      transport.close();
      for (const { server, peer } of peers) {
        peer.close();
        server.closeAllConnections();
        await closeServer(server);
      }
    },
  };
});

transportComplianceSuite('simulated MemoryNetwork', async (): Promise<TransportHarness> => {
  const clock = new VirtualClock();
  const network = new MemoryNetwork(clock, new SeededRng(7));
  let peers = 0;
  const transport = network.attach({ nodeId: 'caller', address: 'caller:1' }, async () => ({ type: 'failure', code: 'refused', message: 'the caller serves nothing' }));
  return {
    transport,
    selfId: 'caller',
    serve: async (handler) => {
      peers++;
      network.attach({ nodeId: `peer-${peers}`, address: `peer-${peers}:1` }, handler);
      return `peer-${peers}:1`;
    },
    unusedAddress: async () => 'nobody:1',
    async settle<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const tracked = work.finally(() => {
        done = true;
      });
      tracked.catch(() => undefined);
      // Virtual time moves 1 ms at a time, letting callbacks run between steps, for at most a virtual minute.
      for (let elapsedMs = 0; !done && elapsedMs < 60_000; elapsedMs++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (!done) clock.advance(1);
      }
      return tracked;
    },
    close: async () => undefined,
  };
});
