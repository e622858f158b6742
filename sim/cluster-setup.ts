// Builds the in-process cluster of one run: real ClusterNodes with the scenario's settings,
// the planted bugs switched on for the run, and a network observer that writes every data
// message into the trace and reports request handlers that failed outright.
import { InvariantError, type ClusterNodeOptions, type KeyHasher, type MemoryNetworkObserver } from '@ringkv/core';
import { InProcessCluster, inProcessNodeDefaults } from '@ringkv/core/testing';
import { streamFor, type Scenario } from './scenario.js';
import { Trace } from './trace.js';
import type { Violation } from './violations.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * With read-repair convergence the background repairs are off, so phase two shows what
 * read repair alone achieves; with anti-entropy convergence they run all along (also
 * during the faults), at a shorter interval than production's so a run stays short.
 */
function nodeOptionsFor(scenario: Scenario): Partial<ClusterNodeOptions> {
  const backgroundMs = scenario.convergence === 'anti-entropy' ? scenario.limits.antiEntropyIntervalMs : 0;
  return {
    replicas: scenario.replicas,
    vnodes: 32,
    coordinator: { ...inProcessNodeDefaults.coordinator, readRepairChance: 0.1 },
    antiEntropyIntervalMs: backgroundMs,
    // Production waits 5 s for a peer; one lost message would then stall a node's rounds
    // for longer than a whole simulated run.
    antiEntropy: { requestTimeoutMs: 400 },
    // Likewise for a transfer batch; small batches make a transfer take many of them, so
    // faults land between batches and transfers resume from their checkpoints.
    transfer: { requestTimeoutMs: 400, recordsPerBatch: 20 },
    hintDeliveryIntervalMs: backgroundMs,
    // Production keeps a minute between the repair horizon and the purge cutoff; a run
    // lasts seconds, so a shorter margin lets tombstones be purged within it (it still
    // covers the simulated message delays and clock skews).
    tombstones: { marginMs: 500 },
  };
}

/** `crashed`: a node's process stopped (its clients lose their connections). */
export function buildCluster(
  scenario: Scenario,
  hash: KeyHasher,
  report: (violation: Violation) => void,
  crashed: (nodeId: string) => void,
): { cluster: InProcessCluster; trace: Trace } {
  const holder: { trace?: Trace; cluster?: InProcessCluster } = {};
  // Looked up each time: nodes that join later are named in the trace too.
  const nameOf = (address: string) => holder.cluster?.members.find((member) => member.address === address)?.nodeId ?? address;
  const nowMs = () => (holder.cluster as InProcessCluster).clock.nowMs() - (holder.trace as Trace).originMs;
  const observer: MemoryNetworkObserver = {
    messageSent: (event) => {
      const trace = holder.trace as Trace;
      const described = trace.describeMessage(event, nameOf);
      if (described !== undefined) trace.add({ atMs: nowMs(), kind: 'message', keys: described.keys, text: described.text });
    },
    handlerFailed: (address, request, error) => {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const key = request.type === 'put' || request.type === 'get' ? request.key : undefined;
      report({
        kind: error instanceof InvariantError ? 'invariant' : 'unexpected-error',
        atMs: nowMs(),
        ...(key !== undefined ? { key } : {}),
        message: `${nameOf(address)} failed to handle a ${request.type} request: ${message}`,
        operationIds: [],
      });
    },
  };
  const cluster = new InProcessCluster({
    nodes: scenario.nodes,
    seed: streamFor(scenario.seed, 'cluster').nextInt(2 ** 32),
    hash,
    yieldToEventLoop,
    node: nodeOptionsFor(scenario),
    plantedBugs: scenario.plantedBugs,
    networkObserver: observer,
    crashed,
  });
  holder.cluster = cluster;
  holder.trace = new Trace(cluster.clock.nowMs());
  return { cluster, trace: holder.trace };
}
