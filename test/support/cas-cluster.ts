// The real cluster of the conditional-write test: three LMDB node processes started the
// secure way (mutual TLS between peers, a token on every request; off loopback, protected
// mode asks for it), each in its own network namespace where namespaces can be made, else
// all on loopback. The nodes and the network come from the chaos harness
// (test/support/chaos-nodes.ts, chaos-network.ts), so kill -9, restarts and partitions
// behave exactly as in the chaos run. Whatever happens, close() stops the nodes and deletes
// the namespaces, and an exit or signal handler does the same if the test dies first.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTrusting } from '@ringkv/server';
import { createLoopbackNetwork, createNamespaceNetwork, namespacesUnavailableReason, type ChaosNetwork } from './chaos-network.js';
import type { ChaosNode } from './chaos-nodes.js';
import { createSecuredNodes } from './chaos-scenario.js';

export interface CasClusterOptions {
  nodeCount: number;
  /** The nodes' replica timeouts; shorter than the test client's request timeout. */
  replicaTimeoutMs: number;
  clientTimeoutMs: number;
  nodeReadyTimeoutMs: number;
  /** Run on loopback even where namespaces can be made (to exercise the fallback). */
  loopbackOnly: boolean;
}

export interface CasCluster {
  nodes: ChaosNode[];
  network: ChaosNetwork;
  /** Why the run is on loopback without partitions; undefined in namespaces. */
  fallbackReason: string | undefined;
  /** Fetch that trusts the cluster's CA. */
  fetch: typeof fetch;
  token: string;
  runDir: string;
  close(options: { keepRunDir: boolean }): Promise<void>;
}

export async function startCasCluster(options: CasClusterOptions): Promise<CasCluster> {
  const runDir = mkdtempSync(join(tmpdir(), 'ringkv-cas-'));
  const fallbackReason = options.loopbackOnly ? 'loopback was asked for (CAS_NETWORK=loopback)' : await namespacesUnavailableReason();
  let network: ChaosNetwork;
  try {
    network = fallbackReason === undefined ? await createNamespaceNetwork(options.nodeCount) : await createLoopbackNetwork(options.nodeCount);
  } catch (error) {
    rmSync(runDir, { recursive: true, force: true });
    throw error;
  }
  const { nodes, caPem, token } = createSecuredNodes(network, runDir, { ...options, replicas: options.nodeCount, probeIntervalMs: 250, tokenName: 'cas-test' });
  const cleanUpNow = () => {
    for (const node of nodes) node.killSync();
    network.destroySync();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUpNow();
    process.stderr.write(`cas test: ${signal}: nodes killed, network deleted; logs left in ${runDir}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', cleanUpNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cluster: CasCluster = {
    nodes,
    network,
    fallbackReason,
    fetch: fetchTrusting(caPem),
    token,
    runDir,
    async close({ keepRunDir }) {
      await Promise.all(nodes.map((node) => node.stop().catch(() => node.killSync())));
      await network.destroy();
      process.off('exit', cleanUpNow);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (!keepRunDir) rmSync(runDir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((node) => node.start(options.nodeReadyTimeoutMs)));
  } catch (error) {
    await cluster.close({ keepRunDir: true });
    throw error;
  }
  return cluster;
}
