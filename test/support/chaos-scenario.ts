// One chaos run from start to finish: build the network (namespaces when possible, else
// loopback), start real LMDB nodes, run the workload while the seeded fault plan kills,
// freezes, restarts and cuts nodes, heal everything, then check the history and the
// replicas' convergence. Whatever happens, nodes are stopped and the network deleted
// (in `finally`, and on process exit or SIGINT/SIGTERM).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistory, type Violation } from './chaos-checker.js';
import { convergeAndCheck, type ConvergenceResult } from './chaos-convergence.js';
import { FaultInjector, networkFaultKinds, planFaults, processFaultKinds, type FaultEvent, type FaultKind } from './chaos-faults.js';
import { createLoopbackNetwork, createNamespaceNetwork, namespacesUnavailableReason, type ChaosNetwork, type NetworkKind } from './chaos-network.js';
import { ChaosNode } from './chaos-nodes.js';
import { createCertificates, createToken, ensureClusterSecretFile } from '@ringkv/server';
import { SeededRandom } from './chaos-random.js';
import { RunClock, Workload, type OperationRecord } from './chaos-workload.js';

export interface ChaosOptions {
  seed: number;
  /** auto: namespaces where they can be made, loopback (no partitions) elsewhere. */
  network: 'auto' | NetworkKind;
  nodeCount: number;
  replicas: number;
  /** How long the workload runs; faults happen inside it after a quiet warm-up. */
  workloadMs: number;
  warmupMs: number;
  workers: number;
  keysPerWorker: number;
  thinkMsMax: number;
  faultHoldMsMin: number;
  faultHoldMsMax: number;
  faultGapMsMin: number;
  faultGapMsMax: number;
  faultsMax: number;
  /** Client-side timeout of every request; longer than the nodes' replica timeouts. */
  clientTimeoutMs: number;
  replicaTimeoutMs: number;
  probeIntervalMs: number;
  /** Keep the run folder (node logs, data, history) even when the run passed. */
  keepRunDir: boolean;
  /** Progress lines (the report is returned, not printed). */
  log: (line: string) => void;
}

export const chaosDefaults: Omit<ChaosOptions, 'seed' | 'log'> = {
  network: 'auto',
  nodeCount: 3,
  replicas: 3,
  workloadMs: 20_000,
  warmupMs: 1500,
  workers: 6,
  keysPerWorker: 6,
  thinkMsMax: 20,
  faultHoldMsMin: 1500,
  // Longer than the client timeout at times, so that frozen or cut-off coordinators leave
  // requests without any answer (the 'unknown' outcome).
  faultHoldMsMax: 4500,
  faultGapMsMin: 500,
  faultGapMsMax: 1500,
  faultsMax: 50,
  clientTimeoutMs: 3000,
  replicaTimeoutMs: 1000,
  probeIntervalMs: 250,
  keepRunDir: false,
};

const nodeReadyTimeoutMs = 20_000;
const membershipTimeoutMs = 30_000;
const repairTimeoutMs = 30_000;
const repairRoundsMax = 20;

export interface ChaosResult {
  options: Omit<ChaosOptions, 'log'>;
  network: { kind: NetworkKind; description: string; fallbackReason?: string };
  faultKinds: readonly FaultKind[];
  operations: OperationRecord[];
  faults: FaultEvent[];
  /** Planned faults that never began (slow restarts pushed them past the end). */
  faultsSkipped: number;
  convergence?: ConvergenceResult;
  /** Healing finished (run clock, ms): every fault undone, every node running. */
  healedAtMs?: number;
  violations: Violation[];
  /** Harness-level failures: a node that would not restart, members not up again... */
  problems: string[];
  timingsMs: { setup: number; workload: number; heal: number; converge: number; teardown: number; total: number };
  runDir: string;
  keptRunDir: boolean;
  nodeLogs: Array<{ id: string; path: string; tail: string }>;
  passed: boolean;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = performance.now();
  const runDir = mkdtempSync(join(tmpdir(), 'ringkv-chaos-'));
  const { network, fallbackReason } = await chooseNetwork(options).catch((error: unknown) => {
    rmSync(runDir, { recursive: true, force: true });
    throw error;
  });
  const faultKinds = network.canPartition ? [...processFaultKinds, ...networkFaultKinds] : [...processFaultKinds];
  const { nodes } = createSecuredNodes(network, runDir, { ...options, tokenName: 'chaos' });
  const { log: _log, ...recordedOptions } = options;
  const result: ChaosResult = {
    options: recordedOptions,
    network: { kind: network.kind, description: network.describe(), fallbackReason },
    faultKinds,
    operations: [],
    faults: [],
    faultsSkipped: 0,
    violations: [],
    problems: [],
    timingsMs: { setup: 0, workload: 0, heal: 0, converge: 0, teardown: 0, total: 0 },
    runDir,
    keptRunDir: false,
    nodeLogs: [],
    passed: false,
  };
  const emergency = installEmergencyCleanup(nodes, network, runDir);
  try {
    await runPhases(result, nodes, network, options, started);
  } catch (error) {
    result.problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    const teardownStarted = performance.now();
    await Promise.all(nodes.map((node) => node.stop().catch(() => node.killSync())));
    await network.destroy();
    emergency.remove();
    result.timingsMs.teardown = performance.now() - teardownStarted;
  }
  result.passed = result.violations.length === 0 && result.problems.length === 0;
  result.nodeLogs = nodes.map((node) => ({ id: node.id, path: node.logPath, tail: node.logTail(2500) }));
  result.keptRunDir = !result.passed || options.keepRunDir;
  if (result.keptRunDir) writeFileSync(join(runDir, 'history.json'), JSON.stringify({ ...result, nodeLogs: undefined }, null, 1));
  else rmSync(runDir, { recursive: true, force: true });
  result.timingsMs.total = performance.now() - started;
  return result;
}

async function runPhases(result: ChaosResult, nodes: ChaosNode[], network: ChaosNetwork, options: ChaosOptions, started: number): Promise<void> {
  options.log(`chaos: seed ${options.seed}; ${network.describe()}`);
  await Promise.all(nodes.map((node) => node.start(nodeReadyTimeoutMs)));
  const clock = new RunClock();
  result.timingsMs.setup = performance.now() - started;
  const workload = new Workload(nodes, workloadOptions(options), clock);
  result.operations = workload.operations;
  const injector = await runWorkloadUnderFaults(result, nodes, network, workload, clock, options);
  const healStarted = clock.nowMs();
  await injector.healEverything();
  result.healedAtMs = clock.nowMs();
  result.timingsMs.heal = result.healedAtMs - healStarted;
  options.log(`chaos: ${workload.operations.length} operations; every fault healed at ${Math.round(result.healedAtMs)} ms; checking`);
  try {
    result.convergence = await convergeAndCheck(nodes, workload, clock, { membershipTimeoutMs, repairTimeoutMs, repairRoundsMax });
  } finally {
    // The history is checked even when convergence could not be: its reads still count.
    result.timingsMs.converge = clock.nowMs() - result.healedAtMs;
    result.violations = [...checkHistory(workload.operations), ...(result.convergence?.violations ?? [])];
    for (const node of nodes) result.problems.push(...node.unexpectedExits);
  }
  for (const read of result.convergence.finalReads) {
    if (read.outcome !== 'ok') result.problems.push(`final quorum read of ${read.key} failed with every node up: ${read.outcome} ${read.status ?? ''} ${read.detail ?? ''}`);
  }
  if (result.convergence.unconverged.length > 0) {
    result.problems.push(`${result.convergence.unconverged.length} keys' replicas still disagree after ${result.convergence.repairRounds} read-repair rounds`);
  }
}

/** The workload and the seeded fault plan, side by side until the workload's end. */
async function runWorkloadUnderFaults(
  result: ChaosResult,
  nodes: ChaosNode[],
  network: ChaosNetwork,
  workload: Workload,
  clock: RunClock,
  options: ChaosOptions,
): Promise<FaultInjector> {
  const random = new SeededRandom(options.seed);
  const lastEndMs = options.workloadMs - 500;
  const plans = planFaults(random.fork(), {
    nodeCount: options.nodeCount,
    kinds: result.faultKinds,
    firstAtMs: options.warmupMs,
    lastEndMs,
    holdMsMin: options.faultHoldMsMin,
    holdMsMax: options.faultHoldMsMax,
    gapMsMin: options.faultGapMsMin,
    gapMsMax: options.faultGapMsMax,
    faultsMax: options.faultsMax,
  });
  options.log(`chaos: ${nodes.length} nodes up in ${Math.round(result.timingsMs.setup)} ms; ${plans.length} faults planned over ${options.workloadMs} ms`);
  const injector = new FaultInjector({ nodes, network, clock, nodeReadyTimeoutMs, lastEndMs });
  result.faults = injector.events;
  await Promise.all([workload.run(random.fork()), injector.run(plans)]);
  result.faultsSkipped = injector.skippedPlans;
  result.timingsMs.workload = clock.nowMs();
  for (const event of injector.events) if (event.error) result.problems.push(`fault "${event.description}" at ${event.plan.startMs} ms: ${event.error}`);
  return injector;
}

function workloadOptions(options: ChaosOptions) {
  return {
    workers: options.workers,
    keysPerWorker: options.keysPerWorker,
    stopAtMs: options.workloadMs,
    operationsPerWorkerMax: Math.ceil(options.workloadMs / 2) + 100,
    thinkMsMax: options.thinkMsMax,
    writeShare: 0.7,
    deleteShare: 0.15,
  };
}

async function chooseNetwork(options: ChaosOptions): Promise<{ network: ChaosNetwork; fallbackReason?: string }> {
  if (options.network === 'loopback') return { network: await createLoopbackNetwork(options.nodeCount) };
  const reason = await namespacesUnavailableReason();
  if (reason === undefined) return { network: await createNamespaceNetwork(options.nodeCount) };
  if (options.network === 'namespaces') throw new Error(`network namespaces were required but are unavailable: ${reason}`);
  return { network: await createLoopbackNetwork(options.nodeCount), fallbackReason: reason };
}

/** What varies between the real-process tests that start secured LMDB nodes. */
export interface SecuredNodeSettings {
  nodeCount: number;
  replicas: number;
  probeIntervalMs: number;
  replicaTimeoutMs: number;
  clientTimeoutMs: number;
  /** Names the admin token the test's clients use. */
  tokenName: string;
}

/**
 * The nodes run off loopback in their namespaces, so protected mode holds them to the
 * secure way: a cluster secret file, mutual TLS and an auth file. Security runs under
 * every fault the chaos run injects (and the conditional-write test's, test/cas.test.ts).
 */
export function createSecuredNodes(network: ChaosNetwork, runDir: string, settings: SecuredNodeSettings): { nodes: ChaosNode[]; caPem: string; token: string } {
  const addresses = Array.from({ length: settings.nodeCount }, (_, index) => `${network.hostOf(index)}:${network.portOf(index)}`);
  const ids = addresses.map((_, index) => `n${index + 1}`);
  const secretFile = join(runDir, 'cluster-secret');
  ensureClusterSecretFile(secretFile);
  const authFile = join(runDir, 'auth.json');
  const { token } = createToken(authFile, { role: 'admin', name: settings.tokenName }, Date.now());
  const hosts = [...new Set([...addresses.map((_, index) => network.hostOf(index)), '127.0.0.1'])];
  const certificates = createCertificates({ outDir: join(runDir, 'certs'), nodeIds: ids, hosts, days: 2 });
  const caPem = readFileSync(certificates.caCertFile, 'utf8');
  const nodes = addresses.map(
    (address, index) =>
      new ChaosNode({
        index,
        network,
        logPath: join(runDir, `n${index + 1}.log`),
        clientTimeoutMs: settings.clientTimeoutMs,
        credentials: { caPem, token },
        args: [
          '--seeds', addresses.filter((other) => other !== address).join(','),
          '--cluster-secret-file', secretFile,
          '--auth-file', authFile,
          '--tls-cert', certificates.nodes[index]?.certFile ?? '',
          '--tls-key', certificates.nodes[index]?.keyFile ?? '',
          '--tls-ca', certificates.caCertFile,
          '--replicas', String(settings.replicas),
          '--storage', 'lmdb',
          '--data-dir', join(runDir, `n${index + 1}`),
          '--probe-interval-ms', String(settings.probeIntervalMs),
          '--write-timeout-ms', String(settings.replicaTimeoutMs),
          '--read-timeout-ms', String(settings.replicaTimeoutMs),
          '--log-level', 'info',
        ],
      }),
  );
  return { nodes, caPem, token };
}

/** If the process exits or is interrupted mid-run, kill the nodes and delete the namespaces. */
function installEmergencyCleanup(nodes: readonly ChaosNode[], network: ChaosNetwork, runDir: string): { remove(): void } {
  const cleanUp = () => {
    for (const node of nodes) node.killSync();
    network.destroySync();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.stderr.write(`chaos: ${signal}: nodes killed, network deleted; logs and data left in ${runDir}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', cleanUp);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    remove() {
      process.off('exit', cleanUp);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
