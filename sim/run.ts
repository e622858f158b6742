// One simulated run, from a seed: N real ClusterNodes in one process on a virtual clock.
// Phase one runs the workload while faults strike; phase two heals every fault, restarts
// crashed nodes, waits for membership to see everyone up, brings replicas back in step
// (by reading every written key at R=all, or by letting anti-entropy run), compares the
// replicas' engines, reads every key once more at quorum, and hands the history to the
// checkers. Everything is drawn from the seed; nothing reads the wall clock.
import { InvariantError, loadKeyHasher, type Ring, type SeededRng } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';
import { checkHistory, checkReplicas, checkScan } from './checkers.js';
import { checkWatch } from './watch-checker.js';
import { SimWatcher } from './watcher.js';
import { checkLinearizable } from './linearizability.js';
import { ClientDriver } from './clients.js';
import { buildCluster } from './cluster-setup.js';
import { describeFault, faultLimits, healAll, planFaults, strike, type Fault, type TimedFault } from './faults.js';
import { grayFailureLimits } from './gray-failure.js';
import { History, type Operation, type OperationPhase } from './history.js';
import { quorumOf, scenarioFor, streamFor, type Scenario, type ScenarioChoices } from './scenario.js';
import { Trace } from './trace.js';
import type { Violation } from './violations.js';
import { Workload } from './workload.js';

export interface RunResult {
  seed: number;
  /** The cluster as the run left it (stopped), for inspection. */
  cluster: InProcessCluster;
  scenario: Scenario;
  faults: TimedFault[];
  history: History;
  trace: Trace;
  /** The watching client and what it was told. */
  watcher: SimWatcher;
  violations: Violation[];
  /** Virtual ms the run took, start to last check. */
  virtualMs: number;
}

/** Reads of phase two run this many at a time. */
const sweepConcurrencyMax = 8;
/** A phase-two read that fails is retried this many times before it counts against recovery. */
const sweepAttemptsMax = 3;

/** Everything one run shares: built once per seed, passed to each phase. */
interface RunContext {
  scenario: Scenario;
  cluster: InProcessCluster;
  /** Key placement once every node knew every other (key-home routing sends writes to the first replica). */
  placement?: Ring;
  history: History;
  trace: Trace;
  clients: ClientDriver;
  violations: Violation[];
  /** Picks the node each phase-two read goes to. */
  sweepRng: SeededRng;
  /** The watching client (watcher.ts). */
  watcher: SimWatcher;
  /** Faults still to strike, by time since the workload started; refused operator requests come back here. */
  pending: Array<TimedFault & { attempts: number }>;
  /** Operator joins, leaves and removals a node accepted, to ask again should that node lose them (see operatorChangesLost). */
  accepted: TimedFault[];
  /** Nodes that started again under an id that had left (`rejoin` faults struck). */
  rejoins: number;
  /**
   * How long a request or disk call held by a gray failure may still be on its way after
   * the failure ends (0 without one): a write it carries lands that late, and a single
   * read-repair sweep converges only what has landed.
   */
  lateAnswersMsMax: number;
  /** When the workload started (run clock); faults are timed from it. Undefined before. */
  workloadStartMs?: number;
  nowMs(): number;
}

export async function runSimulation(seed: number, choices: ScenarioChoices = {}): Promise<RunResult> {
  const scenario = scenarioFor(seed, choices);
  return runPlanned(scenario, {
    faults: (nodeIds) => planFaults(scenario, streamFor(seed, 'faults'), nodeIds),
    operations: (context) => {
      const workload = new Workload(scenario, streamFor(scenario.seed, 'workload'));
      return (elapsedMs, budget) => issueDue(context, workload, elapsedMs, budget);
    },
  });
}

/**
 * What phase one does: the faults (by time since the workload starts) and the source of the
 * clients' operations. A seed draws both (`runSimulation`); a scripted scenario replays
 * them as written (script.ts).
 */
export interface RunPlan {
  faults(nodeIds: readonly string[]): TimedFault[];
  /** Returns the function that starts the operations due `elapsedMs` into the workload (at most `budget`), returning how many it started. */
  operations(context: IssueContext): (elapsedMs: number, budget: number) => number;
}

/** What an operation source may use to start operations. */
export type IssueContext = Pick<RunContext, 'cluster' | 'clients' | 'trace' | 'placement' | 'nowMs'>;

/** Runs one scenario with the faults and operations of `plan`, then heals and checks. */
export async function runPlanned(scenario: Scenario, plan: RunPlan): Promise<RunResult> {
  const seed = scenario.seed;
  const hash = await loadKeyHasher();
  const violations: Violation[] = [];
  const report = (violation: Violation) => {
    violations.push(violation);
    trace.add({ atMs: violation.atMs, kind: 'problem', ...(violation.key ? { keys: [violation.key] } : {}), text: `${violation.kind}: ${violation.message}` });
  };
  const holder: { clients?: ClientDriver } = {};
  const { cluster, trace } = buildCluster(scenario, hash, report, (nodeId) => {
    // A node that has left stops by itself once the settle period has passed (the shell's rule).
    const member = cluster.member(nodeId);
    if (member.node.membership.ringOf(nodeId) === 'left') trace.add({ atMs: nowMs(), kind: 'fault', text: `${nodeId} has left the ring: its process stops` });
    holder.clients?.coordinatorCrashed(nodeId);
  });
  const nowMs = () => cluster.clock.nowMs() - trace.originMs;
  const history = new History();
  const clients = new ClientDriver({ cluster, history, trace, nowMs, report });
  holder.clients = clients;
  const faults = plan.faults(cluster.members.map((member) => member.nodeId));
  const context: RunContext = {
    scenario,
    cluster,
    history,
    trace,
    clients,
    violations,
    sweepRng: streamFor(seed, 'phase-two'),
    watcher: new SimWatcher(cluster, streamFor(seed, 'watch'), trace, nowMs),
    pending: faults.map((timed) => ({ ...timed, attempts: 0 })),
    accepted: [],
    rejoins: 0,
    lateAnswersMsMax: faults.some((timed) => timed.fault.kind === 'gray') ? grayFailureLimits.processDelayMsMax : 0,
    nowMs,
  };
  const stopWatching = watchUnhandledRejections(report, nowMs);
  try {
    await startCluster(context);
    await runWorkload(context, plan.operations(context));
    await healAndConverge(context);
    const finalRing = cluster.members.find((member) => member.up)?.node.ring;
    // With ring changes a key's replicas moved during the run: a disk lost on any of them counts.
    const replicasOf = (key: string) => [...new Set([...(context.placement?.preferenceList(key) ?? []), ...(finalRing?.preferenceList(key) ?? [])])];
    violations.push(...checkHistory(history, { replicas: scenario.replicas, replicasOf, dataLosses: history.dataLosses, trace }));
    violations.push(...checkLinearizable(history, { replicasOf, dataLosses: history.dataLosses, trace }));
    if (!violations.some((violation) => violation.kind === 'no-recovery')) {
      await catchUpWatch(context);
      violations.push(...checkWatch(context.watcher, history, { replicas: scenario.replicas, replicasOf, dataLosses: history.dataLosses, atMs: nowMs() }));
    }
  } catch (error) {
    report(thrownInCore(error, nowMs()));
  } finally {
    stopWatching();
    context.watcher.stop();
    cluster.stop();
  }
  return { seed, cluster, scenario, faults, history, trace, watcher: context.watcher, violations, virtualMs: nowMs() };
}

async function startCluster(context: RunContext): Promise<void> {
  const { cluster, trace } = context;
  trace.add({ atMs: context.nowMs(), kind: 'phase', text: `start ${describeScenario(context.scenario)}` });
  await cluster.start(0);
  // Forming the ring takes a few rebalancing rounds, and a settle period when the last
  // members become normal after a ring of N was already readable.
  const formingMsMax = context.scenario.limits.recoveryMsMax + 4000;
  if (!(await runUntil(context, () => cluster.allSeeAllUp() && cluster.ringFormed(), formingMsMax))) {
    context.violations.push({ kind: 'no-recovery', atMs: context.nowMs(), message: 'the nodes never all saw each other up with the ring formed at start', operationIds: [] });
  }
  context.placement = cluster.members[0]?.node.ring;
}

/** Phase one: clients issue operations while the planned faults strike. */
async function runWorkload(context: RunContext, issue: (elapsedMs: number, budget: number) => number): Promise<void> {
  const { scenario, cluster, trace, clients } = context;
  const startMs = context.nowMs();
  context.workloadStartMs = startMs;
  context.watcher.start();
  trace.add({ atMs: startMs, kind: 'phase', text: 'phase one: workload and faults' });
  let issued = 0;
  for (;;) {
    const elapsedMs = context.nowMs() - startMs;
    strikeDue(context);
    if (elapsedMs < scenario.limits.workloadMs) issued += issue(elapsedMs, scenario.limits.opsMax - issued);
    else {
      // Clients that are done send no more retries: what is in flight must end on its own.
      clients.stopRetrying();
      if (clients.inflightCount === 0) return;
    }
    if (elapsedMs >= scenario.limits.workloadMs + scenario.limits.drainMsMax) {
      clients.abandonInflight(`still in flight ${scenario.limits.drainMsMax} ms after the workload ended`);
      return;
    }
    await cluster.tick();
  }
}

/**
 * Strikes the faults that are due. An operator request that is refused is asked again a
 * little later (a bounded number of times); it may still be pending in phase two, whose
 * waits keep striking it, but a fault of phase one proper is dropped once phase two heals.
 */
function strikeDue(context: RunContext): void {
  if (context.workloadStartMs === undefined) return;
  const elapsedMs = context.nowMs() - context.workloadStartMs;
  while (context.pending.length > 0 && (context.pending[0] as TimedFault).atMs <= elapsedMs) {
    const due = context.pending.shift() as TimedFault & { attempts: number };
    const outcome = strike(context.cluster, due.fault, context.history, context.nowMs());
    const text = describeFault(due.fault);
    if (!outcome.refused) {
      context.trace.add({ atMs: context.nowMs(), kind: 'fault', text: due.attempts > 0 ? `${text} (accepted on attempt ${due.attempts + 1})` : text });
      if (due.fault.kind === 'leave' || due.fault.kind === 'remove' || due.fault.kind === 'join-ring') context.accepted.push(due);
      // The old life's leave or removal is done with: the id is a new member now.
      if (due.fault.kind === 'rejoin') {
        context.rejoins++;
        const nodeId = due.fault.nodeId;
        context.accepted = context.accepted.filter((timed) => (timed.fault as { nodeId: string }).nodeId !== nodeId);
      }
      continue;
    }
    if (due.attempts === 0) context.trace.add({ atMs: context.nowMs(), kind: 'fault', text: `${text}: refused (${outcome.message}); asking again every ${faultLimits.operatorRetryMs} ms` });
    if (due.attempts + 1 >= faultLimits.operatorAttemptsMax) {
      context.trace.add({ atMs: context.nowMs(), kind: 'fault', text: `${text}: given up after ${faultLimits.operatorAttemptsMax} refusals (${outcome.message})` });
      continue;
    }
    const retry = { ...due, atMs: elapsedMs + faultLimits.operatorRetryMs, attempts: due.attempts + 1 };
    const at = context.pending.findIndex((timed) => timed.atMs > retry.atMs);
    context.pending.splice(at === -1 ? context.pending.length : at, 0, retry);
  }
}

/** Starts the next operation of every idle client whose pause is over; returns how many started. */
function issueDue(context: IssueContext, workload: Workload, elapsedMs: number, budget: number): number {
  const { cluster, clients } = context;
  const startMs = context.nowMs() - elapsedMs;
  const running = cluster.members.filter((member) => member.up).map((member) => member.nodeId);
  const homeOf = (key: string) => context.placement?.preferenceList(key)[0] ?? '';
  let started = 0;
  for (const client of workload.clients) {
    if (started >= budget || client.busy || client.nextAtMs > elapsedMs) continue;
    const planned = workload.next(client);
    const node = workload.coordinatorFor(planned, running, homeOf);
    const thinkMs = workload.thinkMs();
    if (node === undefined) {
      client.nextAtMs = elapsedMs + 1 + thinkMs;
      continue;
    }
    client.busy = true;
    started++;
    clients.submit({ client: client.name, phase: 'workload', node, ...planned }, (operation) => {
      workload.learn(client, operation);
      client.busy = false;
      client.nextAtMs = context.nowMs() - startMs + thinkMs;
    });
  }
  return started;
}

/** Phase two: heal, restart, wait for membership, converge, compare replicas, read every key. */
async function healAndConverge(context: RunContext): Promise<void> {
  const { scenario, cluster, history, trace } = context;
  // Faults of phase one not yet struck are dropped: phase two heals. Operators' requests
  // stay, and so do the ends of gossip starvation: a window runs its whole length, into
  // phase two, which must still converge (slow-gossip.ts).
  const outlasting = new Set<Fault['kind']>(['join-ring', 'leave', 'remove', 'rejoin', 'starve-gossip', 'gossip-restored']);
  context.pending = context.pending.filter((timed) => outlasting.has(timed.fault.kind));
  const restarted = healAll(cluster);
  trace.add({ atMs: context.nowMs(), kind: 'phase', text: `phase two: heal all faults${restarted.length ? `, restart ${restarted.join(', ')}` : ''}` });
  // A node that lost its disk rejoins by receiving its ranges, and the ring settles after.
  // Starved gossip is not healed: its window runs out first, then the usual allowance.
  // A node that leaves hands on what it still holds before it stops (rebalancer.ts): one settle period more.
  const settleMsMax = scenario.limits.recoveryMsMax + 8000 + starvedMsLeft(context);
  // Settled means nothing is left to strike either: an operator's leave or removal still
  // being asked again would change the ring after the check, and a starved node's gossip
  // still to come back holds ring changes (the barrier).
  const settled = () => !operatorChangesLost(context) && context.pending.length === 0 && cluster.allSeeAllUp() && cluster.ringSettled();
  const rejoinsBefore = context.rejoins;
  let recovered = await runUntil(context, settled, settleMsMax);
  // A node that started again late in the wait (its old life left only then) joins from scratch: it gets the usual allowance.
  if (!recovered && context.rejoins > rejoinsBefore) recovered = await runUntil(context, settled, scenario.limits.recoveryMsMax + 6000);
  if (!recovered) {
    context.violations.push({ kind: 'no-recovery', atMs: context.nowMs(), message: `the healed cluster did not see every node up with its ring settled within ${settleMsMax} ms`, operationIds: [] });
    return;
  }
  const keys = history.keysWritten();
  if (scenario.convergence === 'read-repair') {
    if (context.lateAnswersMsMax > 0) {
      trace.add({ atMs: context.nowMs(), kind: 'phase', text: `let writes held by the gray failure land (${context.lateAnswersMsMax} ms)` });
      await cluster.run(context.lateAnswersMsMax);
    }
    trace.add({ atMs: context.nowMs(), kind: 'phase', text: `repair: read each of ${keys.length} keys at r=all` });
    await sweep(context, keys, 'repair', scenario.replicas);
    await cluster.run(50);
  } else {
    const waitMs = scenario.limits.antiEntropyRounds * scenario.limits.antiEntropyIntervalMs;
    trace.add({ atMs: context.nowMs(), kind: 'phase', text: `repair: let anti-entropy run for ${waitMs} ms` });
    await cluster.run(waitMs);
  }
  trace.add({ atMs: context.nowMs(), kind: 'phase', text: 'check: compare replicas, read each key at quorum, then scan the cluster' });
  for (const violation of await checkReplicas(cluster, keys, trace, context.nowMs())) context.violations.push(violation);
  await sweep(context, keys, 'final', quorumOf(scenario.replicas));
  for (const violation of await checkScan(cluster, keys, context.nowMs())) context.violations.push(violation);
}

/** After healing: lets the watch catch up with the newest acknowledged write (bounded). */
async function catchUpWatch(context: RunContext): Promise<void> {
  const newest = Math.max(0, ...context.history.operations.filter((operation) => operation.outcome === 'ok' && operation.version !== undefined).map((operation) => operation.version?.hlc ?? 0));
  context.trace.add({ atMs: context.nowMs(), kind: 'phase', text: 'check: let the watch catch up, then judge what it delivered' });
  await runUntil(context, () => context.watcher.resolvedAt() >= newest, context.scenario.limits.recoveryMsMax + 4000);
}

/**
 * An operator checks that a removal took: one accepted by a node that lost its disk before
 * it could tell anyone (it was cut off then) is gone with it, and the operator asks again.
 * True when it did so now.
 */
function operatorChangesLost(context: RunContext): boolean {
  const running = context.cluster.members.filter((member) => member.up);
  const lost = context.accepted.filter((timed) => {
    const target = (timed.fault as { nodeId: string }).nodeId;
    // The status each running node would hold had the change never been accepted.
    const before = timed.fault.kind === 'join-ring' ? ['standby'] : ['joining', 'normal'];
    return running.every((member) => before.includes(member.node.membership.ringOf(target) ?? (before[0] as string)));
  });
  if (lost.length === 0) return false;
  const elapsedMs = context.nowMs() - (context.workloadStartMs ?? context.nowMs());
  for (const timed of lost) {
    context.accepted.splice(context.accepted.indexOf(timed), 1);
    context.trace.add({ atMs: context.nowMs(), kind: 'fault', text: `${describeFault(timed.fault)}: no running node holds it (the node that accepted it lost it); asking again` });
    context.pending.push({ ...timed, atMs: elapsedMs, attempts: 0 });
  }
  return true;
}

/** How long the last window of starved gossip still lasts (0 when none is open or planned). */
function starvedMsLeft(context: RunContext): number {
  const elapsedMs = context.nowMs() - (context.workloadStartMs ?? context.nowMs());
  const endsMs = context.pending.filter((timed) => timed.fault.kind === 'gossip-restored').map((timed) => timed.atMs - elapsedMs);
  return Math.max(0, ...endsMs);
}

/** Reads every key from a random running node, a few at a time, retrying failures. */
async function sweep(context: RunContext, keys: readonly string[], phase: OperationPhase, level: number): Promise<void> {
  const { cluster, clients } = context;
  const rng = context.sweepRng;
  const queue = keys.map((key) => ({ key, attempts: 0 }));
  let inflight = 0;
  const launch = () => {
    // Picked at each launch: a node that has left stops during the sweep.
    const running = cluster.members.filter((member) => member.up).map((member) => member.nodeId);
    while (inflight < sweepConcurrencyMax && queue.length > 0 && running.length > 0) {
      const item = queue.shift() as { key: string; attempts: number };
      const node = running[rng.nextInt(running.length)] as string;
      inflight++;
      item.attempts++;
      clients.submit({ client: 'checker', kind: 'read', key: item.key, level, node, phase }, (operation: Operation) => {
        inflight--;
        if (operation.outcome === 'ok') return;
        if (item.attempts < sweepAttemptsMax) queue.push(item);
        else context.violations.push({ kind: 'no-recovery', atMs: context.nowMs(), key: item.key, message: `a ${phase} read of ${item.key} at r=${level} failed ${sweepAttemptsMax} times on the healed cluster: ${operation.reason ?? ''}`, operationIds: [operation.id] });
      });
    }
  };
  launch();
  const limitMs = context.scenario.limits.drainMsMax * 4;
  const done = await runUntil(context, () => {
    launch();
    return inflight === 0 && queue.length === 0;
  }, limitMs);
  if (!done) clients.abandonInflight(`phase-two ${phase} reads still in flight after ${limitMs} ms`);
}

/** Ticks until `condition` holds (checked before each tick), at most `limitMs`; returns whether it held. */
async function runUntil(context: RunContext, condition: () => boolean, limitMs: number): Promise<boolean> {
  for (let elapsed = 0; elapsed < limitMs; elapsed++) {
    strikeDue(context);
    if (condition()) return true;
    await context.cluster.tick();
  }
  return condition();
}

/** Rejections nobody handled inside the core are bugs; they are reported, not lost. */
function watchUnhandledRejections(report: (violation: Violation) => void, nowMs: () => number): () => void {
  const listener = (reason: unknown) => report(thrownInCore(reason, nowMs()));
  process.on('unhandledRejection', listener);
  return () => process.off('unhandledRejection', listener);
}

function thrownInCore(error: unknown, atMs: number): Violation {
  const invariant = error instanceof InvariantError;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: invariant ? 'invariant' : 'unexpected-error', atMs, message: `thrown inside the core: ${message}`, operationIds: [] };
}

export function describeScenario(scenario: Scenario): string {
  const bugs = Object.entries(scenario.plantedBugs).filter(([, on]) => on).map(([name]) => name);
  return (
    `seed ${scenario.seed}: ${scenario.profile} profile, ${scenario.nodes} nodes, N=${scenario.replicas}, ${scenario.clients} clients, ` +
    `${scenario.routing} routing, convergence by ${scenario.convergence}${bugs.length ? `, planted bugs: ${bugs.join(', ')}` : ''}`
  );
}
