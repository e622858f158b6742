// One run of the conditional-write test from start to finish: start the cluster, run the
// counter workload while one node is killed with SIGKILL and restarted on its LMDB files and
// (in namespaces) another is cut off from its peers for a few seconds, heal, read the
// counter at r=serial, then judge the history with the simulator's linearizability checker
// and the counter's bounds. Nodes are stopped and the network deleted whatever happens; the
// run folder (node logs, history.json) is kept when the run failed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCasCluster, type CasCluster } from './cas-cluster.js';
import { checkLinearizable, createHistory, type History, type Violation } from './cas-linearizability.js';
import { countOf, counterProblem, CounterWorkload, type CounterTarget } from './cas-workload.js';
import { SeededRandom } from './chaos-random.js';
import { RunClock } from './chaos-workload.js';

export interface CounterScenarioOptions {
  seed: number;
  clients: number;
  key: string;
  workloadMs: number;
  /** When the victim is killed, and how long it stays dead before its restart. */
  killAtMs: number;
  killHoldMs: number;
  /** When a node is cut off from its peers (namespaces only), and for how long. */
  partitionAtMs: number;
  partitionHoldMs: number;
  requestTimeoutMs: number;
  replicaTimeoutMs: number;
  /** Kill and restart only, on loopback, even where namespaces can be made. */
  loopbackOnly: boolean;
  log: (line: string) => void;
}

export interface CounterScenarioResult {
  network: 'namespaces' | 'loopback';
  /** Why there was no partition (namespaces could not be made). */
  fallbackReason: string | undefined;
  history: History;
  violations: Violation[];
  /** The counter read at r=serial after healing; undefined when no serial read succeeded. */
  finalCount: number | undefined;
  counterProblem: string | undefined;
  answers: Map<string, number>;
  unexpected: string[];
  /** What the harness did, with run-clock times. */
  faults: string[];
  /** Harness failures: a node that would not restart, died on its own, no final read... */
  problems: string[];
  runDir: string;
  passed: boolean;
}

const nodeCount = 3;
const nodeReadyTimeoutMs = 20_000;
const failurePauseMs = 50;
const finalReadAttemptsMax = 60;
const finalReadPauseMs = 250;

export async function runCounterScenario(options: CounterScenarioOptions): Promise<CounterScenarioResult> {
  const cluster = await startCasCluster({ nodeCount, replicaTimeoutMs: options.replicaTimeoutMs, clientTimeoutMs: options.requestTimeoutMs, nodeReadyTimeoutMs, loopbackOnly: options.loopbackOnly });
  const history = createHistory();
  const result: CounterScenarioResult = {
    network: cluster.network.kind,
    fallbackReason: cluster.fallbackReason,
    history,
    violations: [],
    finalCount: undefined,
    counterProblem: undefined,
    answers: new Map(),
    unexpected: [],
    faults: [],
    problems: [],
    runDir: cluster.runDir,
    passed: false,
  };
  try {
    options.log(`cas: seed ${options.seed}; ${cluster.network.describe()}`);
    await runAndCheck(cluster, history, result, options);
  } catch (error) {
    result.problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    for (const node of cluster.nodes) result.problems.push(...node.unexpectedExits);
    result.passed = result.violations.length === 0 && result.counterProblem === undefined && result.unexpected.length === 0 && result.problems.length === 0;
    if (!result.passed) writeFileSync(join(cluster.runDir, 'history.json'), JSON.stringify({ ...result, history: history.operations, answers: [...result.answers] }, null, 1));
    await cluster.close({ keepRunDir: !result.passed });
  }
  return result;
}

async function runAndCheck(cluster: CasCluster, history: History, result: CounterScenarioResult, options: CounterScenarioOptions): Promise<void> {
  const clock = new RunClock();
  const targets: CounterTarget[] = cluster.nodes.map((node) => ({ id: node.id, url: node.url }));
  const workload = new CounterWorkload(
    { targets, fetch: cluster.fetch, token: cluster.token, clock, history },
    {
      clients: options.clients,
      key: options.key,
      stopAtMs: options.workloadMs,
      requestTimeoutMs: options.requestTimeoutMs,
      requestsPerClientMax: Math.ceil(options.workloadMs / 2) + 100,
      failurePauseMs,
    },
  );
  result.answers = workload.answers;
  result.unexpected = workload.unexpected;
  const random = new SeededRandom(options.seed);
  // Settled, not all: a fault that fails must not end the run while clients still send.
  const [, faults] = await Promise.allSettled([workload.run(random.fork()), injectFaults(cluster, workload, clock, options, result.faults)]);
  await cluster.network.heal();
  if (faults.status === 'rejected') result.problems.push(`fault injection failed: ${faults.reason instanceof Error ? faults.reason.message : String(faults.reason)}`);
  const final = await finalSerialRead(workload, targets, clock);
  if (final === undefined) {
    result.problems.push(`no serial read of ${options.key} succeeded in ${finalReadAttemptsMax} attempts with every node up and the network healed`);
  } else {
    result.finalCount = final.found ? countOf(final.value) : 0;
    result.counterProblem = counterProblem(history, result.finalCount);
  }
  result.violations = checkLinearizable(history, cluster.nodes.map((node) => node.id));
  options.log(`cas: ${history.operations.length} operations by ${clock.nowMs()} ms; counter at ${result.finalCount ?? '?'}; answers ${[...workload.answers].map(([label, count]) => `${label}: ${count}`).join(', ')}`);
}

/** SIGKILL one node and restart it; then (in namespaces) cut another off from its peers, and heal. */
async function injectFaults(cluster: CasCluster, workload: CounterWorkload, clock: RunClock, options: CounterScenarioOptions, events: string[]): Promise<void> {
  const note = (text: string) => {
    events.push(`t=${Math.round(clock.nowMs())} ms ${text}`);
    options.log(`cas: ${events[events.length - 1] ?? ''}`);
  };
  const victim = cluster.nodes[1];
  const isolated = cluster.nodes[2];
  if (victim === undefined || isolated === undefined) throw new Error('the scenario needs three nodes');
  await sleepUntil(clock, options.killAtMs);
  await victim.kill();
  note(`kill -9 ${victim.id} (pid gone)`);
  await sleepUntil(clock, options.killAtMs + options.killHoldMs);
  workload.noteRestart(victim.id);
  await victim.start(nodeReadyTimeoutMs);
  note(`${victim.id} restarted on its LMDB files and healthy`);
  if (!cluster.network.canPartition) return;
  await sleepUntil(clock, options.partitionAtMs);
  const others = cluster.nodes.filter((node) => node !== isolated).map((node) => node.index);
  await cluster.network.partition([isolated.index], others);
  note(`${isolated.id} cut off from its peers (clients still reach it)`);
  await sleepUntil(clock, options.partitionAtMs + options.partitionHoldMs);
  await cluster.network.heal();
  note('partition healed');
}

/** The counter at r=serial once everything is healed, recorded in the history like any read. */
async function finalSerialRead(workload: CounterWorkload, targets: readonly CounterTarget[], clock: RunClock): Promise<{ found: false } | { found: true; value: unknown } | undefined> {
  for (let attempt = 0; attempt < finalReadAttemptsMax; attempt++) {
    const target = targets[attempt % targets.length] as CounterTarget;
    const read = await workload.serialRead('final', target, 'final');
    if (read.outcome === 'ok' && read.read !== undefined) return read.read;
    await sleepUntil(clock, clock.nowMs() + finalReadPauseMs);
  }
  return undefined;
}

function sleepUntil(clock: RunClock, atMs: number): Promise<void> {
  const waitMs = Math.max(0, atMs - clock.nowMs());
  return new Promise((resolve) => setTimeout(resolve, waitMs));
}
