// A real 3-node cluster in one process for the API's tests (each node a real Fastify app,
// real peer links over loopback): the tests then drive it with inject() or fetch.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { nodeConfigDefaults, type NodeConfig } from '../config.js';
import { startNode, type NodeSeams, type RunningNode } from '../node.js';

const clusterFormTimeoutMs = 20_000;

export interface TestCluster {
  nodes: RunningNode[];
  /** Ports chosen with the nodes' but left unused: connections to them are refused. */
  sparePorts: number[];
  close(): Promise<void>;
}

/** Ports the OS chose a moment ago: a node advertises its port to peers, so it must be known before it starts. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Starts three nodes (N=3) that seed each other and waits until every one admits clients
 * with one settled ring and sees the others up. `configOf` adds settings per node, `seamsOf` what a
 * test puts in place of the machine's (node.ts, NodeSeams).
 */
export async function startTestCluster(
  name: string,
  configOf: (index: number) => Partial<NodeConfig> = () => ({}),
  spare = 0,
  seamsOf: (index: number) => NodeSeams = () => ({}),
): Promise<TestCluster> {
  const dataDir = mkdtempSync(join(tmpdir(), `ringkv-${name}-`));
  const ports = await freePorts(3 + spare);
  const addresses = ports.slice(0, 3).map((port) => `127.0.0.1:${port}`);
  const nodes = await Promise.all(
    addresses.map((address, index) =>
      startNode(
        {
          ...nodeConfigDefaults,
          id: `n${index + 1}`,
          port: ports[index] as number,
          seeds: addresses.filter((other) => other !== address),
          replicas: 3,
          storage: 'memory',
          dataDir: join(dataDir, `n${index + 1}`),
          clusterSecret: `${name}-test-secret-0123456789`,
          probeIntervalMs: 200,
          readRepairChance: 0,
          ...configOf(index),
        },
        pino({ level: 'silent' }),
        seamsOf(index),
      ),
    ),
  );
  const close = async () => {
    await Promise.all(nodes.map((running) => running.close()));
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + clusterFormTimeoutMs;
  while (!formed(nodes)) {
    if (Date.now() > deadline) {
      await close();
      throw new Error(`the 3-node cluster did not form within ${clusterFormTimeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { nodes, sparePorts: ports.slice(3), close };
}

function formed(nodes: readonly RunningNode[]): boolean {
  const fingerprint = nodes[0]?.node.placement.read.fingerprint;
  return nodes.every(
    (running) =>
      running.node.admitClients() &&
      running.node.placement.writes.length === 1 &&
      running.node.placement.read.fingerprint === fingerprint &&
      nodes.every((other) => other === running || running.node.membership.stateOf(other.nodeId) === 'up'),
  );
}
