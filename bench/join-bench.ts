// The join benchmark (issue 14, "Targets"): how fast data moves when a fourth node joins a
// 3-node LMDB cluster holding `keyCount` keys (100-byte values) and when it leaves again, how
// long each change takes from its start until every cleanup is done, and what it costs the
// clients meanwhile.
//
// Steps: bulk-load the keys; measure the cluster's quorum-GET capacity with a closed loop
// (wrk, a few seconds), and the mixed closed-loop load of earlier versions for reference.
// Then start the open loop (open-loop.ts: quorum GETs on a fixed schedule at `openShare` of
// that capacity, latency counted from each request's due time, spread over the three founding
// nodes, as clients of a real cluster do not move to a node the moment it appears) and keep it
// running through: a baseline of `seconds`, the join of n4 (until it is normal, then until
// every node's cleanup is done), a second baseline, and the leave of n4 (POST /cluster/leave
// to n4 left, then the cleanups). With `standby` (the default) n4 is started with
// `--standby` before the first baseline, its start measured on its own, and the join runs
// from POST /cluster/join: as on a cluster of separate machines, where a new node's process
// start takes no core from the members, the start stays outside the change. The target is
// judged per second of each change: the worst second's p99 against its baseline's p99,
// and errors. Lastly, unless `closedLoop` is off, n5 joins under the closed loop, whose
// throughput against its steady state is reported (a closed loop that saturates both
// cores leaves no room for a transfer: not the target).
// After each change every key must be on exactly N=3 of the live nodes. Each change's CPU
// cost (process-cpu.ts) is the nodes' CPU time during it less their baseline's rate.
import { benchTarget, type BenchTarget } from './bench-target.js';
import { RingkvClient, type ClusterInfo, type Job, type JobList } from '@ringkv/client';
import { sleep, startCluster, type BenchCluster, type BenchNode } from './cluster.js';
import { bulkLoad, round, runLoad, startLoad, type BulkLoadResult, type LoadResult, type LoadSpec } from './load.js';
import { openLoopWindow, startOpenLoop, type OpenLoopSecond } from './open-loop.js';
import { changeCpu, CpuMeter, type ChangeCpu, type CpuReading } from './process-cpu.js';

export interface JoinBenchOptions {
  basePort: number;
  keyCount: number;
  connections: number;
  /** Length of each baseline and steady-state measurement. */
  seconds: number;
  /** Share of PUTs in the closed-loop mixed load (the rest are GETs). */
  writeShare: number;
  /** Bound on each ring change, and again on its cleanup. */
  timeoutMs: number;
  /** The open loop's rate, as a share of the measured quorum-GET capacity. */
  openShare: number;
  /** Also join a fifth node under the closed-loop load. */
  closedLoop: boolean;
  /** Start n4 on standby before the first baseline and join it by request (else it joins as it starts). */
  standby: boolean;
}

/** n4's start on standby, before the baseline: how long to ready, and what the open loop saw meanwhile. */
export interface StandbyStart {
  seconds: number;
  p99Ms: number | null;
  worstSecondP99Ms: number | null;
  errors: number;
}

/** What the open loop saw before and during one ring change. */
export interface OpenLoopImpact {
  baselineP50Ms: number | null;
  baselineP99Ms: number | null;
  baselineErrors: number;
  /** The baseline's p99 per second, to show whether it was settled. */
  baselinePerSecondP99Ms: Array<number | null>;
  p99Ms: number | null;
  /** The highest p99 of any second the change touched (of those with answers), and that over the baseline's p99. */
  worstSecondP99Ms: number | null;
  worstOverBaseline: number | null;
  /** Seconds in which no request was answered (all failed): no p99, but they count as errors. */
  secondsWithoutAnswers: number;
  errors: number;
  errorKinds: Record<string, number>;
  perSecond: OpenLoopSecond[];
}

/** What the closed loop saw: throughput against its steady state. */
export interface ClosedLoopImpact {
  steady: Pick<LoadResult, 'requestsPerSecond' | 'p50Ms' | 'p99Ms'>;
  requestsPerSecond: number;
  /** requestsPerSecond / the steady state's. */
  ratio: number;
  /** Fewest answers in one whole second of the change. */
  worstSecond: number | null;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface RingChangeResult {
  change: 'join' | 'leave';
  node: string;
  load: 'open loop' | 'closed loop';
  /** From the start (node started, or leave asked) until the ring is normal with no change under way. */
  ringSeconds: number;
  /** From the start to the first transfer's start: start-up, gossip, the ring settle period. */
  settleSeconds: number;
  /** From the first transfer job's start to the last one's end. */
  transferSeconds: number;
  recordsMoved: number;
  recordsPerSecond: number;
  /** Records the sources scanned to find them. */
  keysScanned: number;
  /** Records moved x (key bytes + value bytes); from the jobs when they report bytesMoved. */
  payloadBytes: number;
  payloadFrom: 'jobs' | 'key and value sizes';
  payloadMegabytesPerSecond: number;
  /** From the end of the ring change until every cleanup is done. */
  cleanupSeconds: number;
  /** From the start until every cleanup is done. */
  wholeSeconds: number;
  cleanups: Array<{ node: string; dropped: number; fromSeconds: number; toSeconds: number }>;
  keysStored: Record<string, number>;
  keysStoredSum: number;
  keysExpected: number;
  /** Polls (of GET /cluster and /cluster/jobs on n1) that failed or timed out. */
  pollFailures: number;
  openLoop?: OpenLoopImpact;
  /** What the change cost the nodes in CPU beyond their baseline (open loop only; Linux). */
  cpu?: ChangeCpu;
  closedLoop?: ClosedLoopImpact;
}

export type JoinTarget = BenchTarget;

export interface JoinResult {
  keyCount: number;
  valueBytes: number;
  /** Mean length of the keys written (key0 .. key(keyCount-1)). */
  keyBytesMean: number;
  connections: number;
  writeShare: number;
  bulkLoad: BulkLoadResult;
  /** Closed loop (wrk), quorum GETs: what the cluster serves at most. */
  capacity: Pick<LoadResult, 'requestsPerSecond' | 'p50Ms' | 'p99Ms' | 'errors' | 'non2xx'>;
  openShare: number;
  openRequestsPerSecond: number;
  /** The floor of the share of time the nodes' background jobs keep under client load, as n1 reports it. */
  backgroundShareMin: number;
  changes: RingChangeResult[];
  /** Present when n4 started on standby (JoinBenchOptions.standby). */
  standbyStart?: StandbyStart;
  targets: JoinTarget[];
}

const replicas = 3;
const valueBytes = 100;
const pollMs = 250;
const warmUpSeconds = 3;
/**
 * Before the first baseline: right after the bulk load the nodes are still busy (the last
 * replica of each write arriving, hints, repair), which would inflate the baseline the join
 * is judged by.
 */
const openWarmUpSeconds = 15;
const capacitySeconds = 5;
/** The README's 1,000,000-key join before issue 14: 40.5 s to normal, cleanups done 11.5 s later. */
const joinWholeSecondsBefore = 52;
const transferKinds = new Set(['join', 'leave', 'remove']);

export async function runJoinBench(options: JoinBenchOptions): Promise<JoinResult> {
  const cluster = await startCluster('lmdb', options.basePort);
  try {
    return await measureChanges(cluster, options);
  } finally {
    await cluster.stop();
  }
}

async function measureChanges(cluster: BenchCluster, options: JoinBenchOptions): Promise<JoinResult> {
  const { keyCount } = options;
  const say = (line: string) => process.stdout.write(`join: ${line}\n`);
  say(`bulk-loading ${keyCount} keys (100-byte values, w=quorum)...`);
  // At w=quorum every key is on a majority of its replicas, so a quorum GET's 404 during a
  // ring change is a real miss, not a write at w=one that reached one replica only.
  // Bound: fails if slower than 500 writes/s, far below what a cluster that works does.
  const loaded = await bulkLoad(cluster.urls, keyCount, 60_000 + keyCount * 2, 0, 'quorum');
  say(`loaded ${keyCount} keys in ${loaded.seconds} s (${loaded.keysPerSecond} keys/s, ${loaded.errors} failed writes)`);
  // The third replica's writes may still be in flight: wait for them, bounded.
  const afterLoad = await waitForKeyCount(cluster.urls, replicas * keyCount, 30_000);
  if (afterLoad.sum !== replicas * keyCount) say(`after the load the nodes hold ${afterLoad.sum} records, not ${replicas * keyCount}`);

  const closed = (operation: LoadSpec['operation'], seconds: number): LoadSpec => ({
    urls: cluster.urls,
    operation,
    keyCount,
    connections: options.connections,
    writeShare: options.writeShare,
    seconds,
  });
  // Throughput right after the bulk load climbs for a while: a warm-up keeps that out of the capacity.
  await runLoad(closed('GET', warmUpSeconds));
  const capacity = await runLoad(closed('GET', capacitySeconds));
  const openRate = Math.max(1, Math.round(capacity.requestsPerSecond * options.openShare));
  const backgroundShareMin = (await new RingkvClient({ baseUrl: cluster.urls[0] as string, timeoutMs: 10_000 }).jobs()).paces[0]?.backgroundShareMin ?? Number.NaN;
  say(`capacity (closed loop, quorum GET): ${capacity.requestsPerSecond} req/s, p99 ${capacity.p99Ms} ms; open loop at ${openRate} req/s`);

  const changes: TimedChange[] = [];
  const boundSeconds = 4 * (options.timeoutMs / 1000) + 4 * options.seconds + 120;
  const open = await startOpenLoop({ urls: cluster.urls, keyCount, requestsPerSecond: openRate, secondsMax: boundSeconds });
  const marks: Array<{ baselineFromMs: number; fromMs: number; toMs: number }> = [];
  // Readings at each baseline's start, at the change's request and once its cleanups are done.
  const meter = new CpuMeter(() => cluster.nodes.map((node) => ({ name: node.id, pid: node.child.pid })));
  const cpuReadings: Array<[CpuReading, CpuReading, CpuReading]> = [];
  let measured: Awaited<ReturnType<typeof open.stop>>;
  let standbyWindow: { fromMs: number; toMs: number } | undefined;
  try {
    await sleep(openWarmUpSeconds * 1000);
    let n4: BenchNode | undefined;
    if (options.standby) {
      const fromMs = Date.now();
      n4 = cluster.addNode('n4', options.basePort + 3, ['--standby']);
      await waitForStandby(cluster, n4, options.timeoutMs);
      standbyWindow = { fromMs, toMs: Date.now() };
      say(`n4 started on standby, ready after ${round((standbyWindow.toMs - fromMs) / 1000)} s`);
    }
    let baselineFromMs = Date.now();
    let baselineCpu = meter.read();
    await sleep(options.seconds * 1000);
    const joinAtMs = Date.now();
    let changeCpuFrom = meter.read();
    if (n4 === undefined) {
      n4 = cluster.addNode('n4', options.basePort + 3);
      say('n4 started');
    } else {
      await new RingkvClient({ baseUrl: n4.url, timeoutMs: 10_000 }).join();
      say('n4 asked to join');
    }
    const joined = await watchRingChange(cluster, { change: 'join', node: n4, load: 'open loop', keyCount, timeoutMs: options.timeoutMs, startMs: joinAtMs }, say);
    cpuReadings.push([baselineCpu, changeCpuFrom, meter.read()]);
    changes.push(joined);
    marks.push({ baselineFromMs, fromMs: joined.startMs, toMs: joined.endMs });

    baselineFromMs = Date.now();
    baselineCpu = meter.read();
    await sleep(options.seconds * 1000);
    const leaveAtMs = Date.now();
    changeCpuFrom = meter.read();
    await new RingkvClient({ baseUrl: n4.url, timeoutMs: 10_000 }).leave();
    say('n4 asked to leave');
    const left = await watchRingChange(cluster, { change: 'leave', node: n4, load: 'open loop', keyCount, timeoutMs: options.timeoutMs, startMs: leaveAtMs }, say);
    cpuReadings.push([baselineCpu, changeCpuFrom, meter.read()]);
    changes.push(left);
    marks.push({ baselineFromMs, fromMs: left.startMs, toMs: left.endMs });
  } finally {
    meter.stop();
    measured = await open.stop();
  }
  // A node that left stops by itself after the settle period; the next change must not count it.
  const n4 = cluster.nodes.find((node) => node.id === 'n4');
  if (n4 !== undefined) await pollUntil(60_000, pollMs, async () => n4.child.exitCode !== null || n4.child.signalCode !== null, () => 'n4 left the ring but did not stop within 60 s');
  for (const [i, mark] of marks.entries()) {
    const baseline = openLoopWindow(measured, mark.baselineFromMs, mark.fromMs, true);
    const during = openLoopWindow(measured, mark.fromMs, mark.toMs, false);
    const answered = during.perSecond.flatMap((second) => (second.p99Ms === null ? [] : [second.p99Ms]));
    const worst = answered.length === 0 ? null : Math.max(...answered);
    const change = changes[i];
    if (change === undefined) continue;
    const cpu = cpuReadings[i];
    if (cpu !== undefined) change.cpu = changeCpu([cpu[0], cpu[1]], [cpu[1], cpu[2]], change.recordsMoved);
    change.openLoop = {
      baselineP50Ms: baseline.p50Ms,
      baselineP99Ms: baseline.p99Ms,
      baselineErrors: baseline.errors,
      baselinePerSecondP99Ms: baseline.perSecond.map((second) => second.p99Ms),
      p99Ms: during.p99Ms,
      worstSecondP99Ms: worst,
      worstOverBaseline: worst !== null && baseline.p99Ms !== null && baseline.p99Ms > 0 ? round(worst / baseline.p99Ms) : null,
      secondsWithoutAnswers: during.perSecond.length - answered.length,
      errors: during.errors,
      errorKinds: during.errorKinds,
      perSecond: during.perSecond,
    };
  }
  if (options.closedLoop) changes.push(await closedLoopJoin(cluster, options, closed, say));
  let standbyStart: StandbyStart | undefined;
  if (standbyWindow !== undefined) {
    const during = openLoopWindow(measured, standbyWindow.fromMs, standbyWindow.toMs, false);
    const answered = during.perSecond.flatMap((second) => (second.p99Ms === null ? [] : [second.p99Ms]));
    standbyStart = {
      seconds: round((standbyWindow.toMs - standbyWindow.fromMs) / 1000),
      p99Ms: during.p99Ms,
      worstSecondP99Ms: answered.length === 0 ? null : Math.max(...answered),
      errors: during.errors,
    };
  }
  const result = {
    keyCount,
    valueBytes,
    keyBytesMean: round(keyBytesTotal(keyCount) / keyCount),
    connections: options.connections,
    writeShare: options.writeShare,
    bulkLoad: loaded,
    capacity: { requestsPerSecond: capacity.requestsPerSecond, p50Ms: capacity.p50Ms, p99Ms: capacity.p99Ms, errors: capacity.errors, non2xx: capacity.non2xx },
    openShare: options.openShare,
    openRequestsPerSecond: openRate,
    backgroundShareMin,
    changes: changes.map(({ startMs: _start, endMs: _end, ...change }) => change),
    ...(standbyStart !== undefined ? { standbyStart } : {}),
  };
  return { ...result, targets: judge(result) };
}

/** Until `node` answers /health and the first founder holds it on standby, with no ring change under way. */
async function waitForStandby(cluster: BenchCluster, node: BenchNode, timeoutMs: number): Promise<void> {
  const seed = new RingkvClient({ baseUrl: cluster.urls[0] as string, timeoutMs: 5000 });
  await pollUntil(timeoutMs, pollMs, async () => {
    if (node.child.exitCode !== null) throw new Error(`${node.id} exited while starting on standby (code ${node.child.exitCode})`);
    const ready = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(2000) }).then((response) => response.ok, () => false);
    const view = await seed.cluster().catch(() => undefined);
    return ready && view?.rebalancing === false && view.members.find((member) => member.nodeId === node.id)?.ringStatus === 'standby';
  }, () => `${node.id} was not ready on standby within ${timeoutMs / 1000} s`);
}

/** n5 joins under the closed-loop mixed load, after a steady-state measurement of it. */
async function closedLoopJoin(
  cluster: BenchCluster,
  options: JoinBenchOptions,
  closed: (operation: LoadSpec['operation'], seconds: number) => LoadSpec,
  say: (line: string) => void,
): Promise<TimedChange> {
  const steady = await runLoad(closed('mixed', options.seconds));
  say(`closed loop steady state: ${steady.requestsPerSecond} req/s, p99 ${steady.p99Ms} ms`);
  const load = startLoad(closed('mixed', 2 * Math.ceil(options.timeoutMs / 1000) + 60));
  let change: TimedChange;
  try {
    const n5 = cluster.addNode('n5', options.basePort + 4);
    say('n5 started');
    change = await watchRingChange(cluster, { change: 'join', node: n5, load: 'closed loop', keyCount: options.keyCount, timeoutMs: options.timeoutMs }, say);
  } catch (error) {
    // The load must end too; its own failure would only hide this one.
    await load.stop().catch(() => undefined);
    throw error;
  }
  const during = await load.stop();
  const inside = during.perSecond.filter((point) => point.second * 1000 >= change.startMs && (point.second + 1) * 1000 <= change.endMs);
  change.closedLoop = {
    steady: { requestsPerSecond: steady.requestsPerSecond, p50Ms: steady.p50Ms, p99Ms: steady.p99Ms },
    requestsPerSecond: during.requestsPerSecond,
    ratio: round(during.requestsPerSecond / Math.max(1, steady.requestsPerSecond)),
    worstSecond: inside.length === 0 ? null : Math.min(...inside.map((point) => point.requests)),
    p50Ms: during.p50Ms,
    p99Ms: during.p99Ms,
    errors: during.errors + during.non2xx,
  };
  return change;
}

/** A change with its wall-clock window (Unix ms), to cut the loads' measurements by. */
type TimedChange = RingChangeResult & { startMs: number; endMs: number };

interface ChangeSpec {
  change: 'join' | 'leave';
  node: BenchNode;
  load: RingChangeResult['load'];
  keyCount: number;
  timeoutMs: number;
  /** When the change was asked for (a leave); a join starts now, with its node. */
  startMs?: number;
}

/**
 * Polls n1 until the ring change is over (the node normal, or left, and nothing
 * rebalancing), then until every remaining node has run its cleanup for the new ring, and
 * checks that every key is on N of the remaining nodes.
 */
async function watchRingChange(cluster: BenchCluster, spec: ChangeSpec, say: (line: string) => void): Promise<TimedChange> {
  const startMs = spec.startMs ?? Date.now();
  const seed = new RingkvClient({ baseUrl: cluster.urls[0] as string, timeoutMs: 5000 });
  const subject = spec.node.id;
  const jobs = new Map<string, Job>();
  let pollFailures = 0;
  const poll = async (withView: boolean): Promise<ClusterInfo | undefined> => {
    const [view, list] = await Promise.all([withView ? seed.cluster().catch(() => undefined) : undefined, seed.clusterJobs().catch(() => undefined)]);
    if ((withView && view === undefined) || list === undefined) pollFailures++;
    collect(jobs, list, startMs);
    return view;
  };
  const wanted = spec.change === 'join' ? 'normal' : 'left';
  await pollUntil(spec.timeoutMs, pollMs, async () => {
    if (spec.change === 'join' && spec.node.child.exitCode !== null) throw new Error(`${subject} exited during its join (code ${spec.node.child.exitCode})`);
    const view = await poll(true);
    const status = view?.members.find((member) => member.nodeId === subject)?.ringStatus;
    return status === wanted && view?.rebalancing === false;
  }, () => `the ${spec.change} of ${subject} did not complete within ${spec.timeoutMs / 1000} s: ${describeJobs(jobs)}`);
  const ringEndMs = Date.now();
  say(`${spec.change} of ${subject}: ring settled after ${round((ringEndMs - startMs) / 1000)} s`);

  // Transfers run on the nodes that gain keys; a poll may have read them a moment before their end.
  const transfers = () => [...jobs.values()].filter((job) => transferKinds.has(job.kind));
  await pollUntil(30_000, pollMs, async () => {
    await poll(false);
    return transfers().length > 0 && transfers().every((job) => job.finishedAtMs !== null);
  }, () => `the ${spec.change} of ${subject} ended but its transfer jobs were not seen finished: ${describeJobs(jobs)}`);
  const transferStartMs = Math.min(...transfers().map((job) => job.startedAtMs));
  const transferEndMs = Math.max(...transfers().map((job) => job.finishedAtMs ?? 0));

  const remaining = cluster.nodes.filter((node) => node.child.exitCode === null && node.child.signalCode === null && !(spec.change === 'leave' && node === spec.node));
  // A cleanup for the new ring starts on each remaining node once it sees the ring stable.
  const cleanupsOf = () => remaining.map((node) => latestCleanup(jobs, node.id, transferEndMs));
  await pollUntil(spec.timeoutMs, pollMs, async () => {
    await poll(false);
    return cleanupsOf().every((job) => job?.state === 'done');
  }, () => `the cleanups after the ${spec.change} of ${subject} did not complete within ${spec.timeoutMs / 1000} s: ${describeJobs(jobs)}`);
  const cleanups = cleanupsOf().filter((job) => job !== undefined);
  const endMs = Math.max(ringEndMs, ...cleanups.map((job) => job.finishedAtMs ?? Date.now()));
  say(`${spec.change} of ${subject}: cleanups done ${round((endMs - startMs) / 1000)} s after the start`);

  const stored = await waitForKeyCount(remaining.map((node) => node.url), replicas * spec.keyCount, 30_000);
  const transferSeconds = Math.max(0.001, (transferEndMs - transferStartMs) / 1000);
  const recordsMoved = transfers().reduce((sum, job) => sum + job.recordsMoved, 0);
  const reported = transfers().map((job) => (job as Job & { bytesMoved?: unknown }).bytesMoved);
  const fromJobs = reported.every((bytes) => typeof bytes === 'number');
  const payloadBytes = fromJobs ? reported.reduce<number>((sum, bytes) => sum + (bytes as number), 0) : Math.round(recordsMoved * (keyBytesTotal(spec.keyCount) / spec.keyCount + valueBytes));
  const sinceStart = (ms: number) => round((ms - startMs) / 1000);
  return {
    change: spec.change,
    node: subject,
    load: spec.load,
    ringSeconds: round((ringEndMs - startMs) / 1000),
    settleSeconds: sinceStart(transferStartMs),
    transferSeconds: round(transferSeconds),
    recordsMoved,
    recordsPerSecond: Math.round(recordsMoved / transferSeconds),
    keysScanned: transfers().reduce((sum, job) => sum + job.keysDone, 0),
    payloadBytes,
    payloadFrom: fromJobs ? 'jobs' : 'key and value sizes',
    payloadMegabytesPerSecond: round(payloadBytes / 1e6 / transferSeconds),
    cleanupSeconds: round((endMs - ringEndMs) / 1000),
    wholeSeconds: round((endMs - startMs) / 1000),
    cleanups: cleanups.map((job) => ({ node: job.node, dropped: job.recordsMoved, fromSeconds: sinceStart(job.startedAtMs), toSeconds: sinceStart(job.finishedAtMs ?? endMs) })),
    keysStored: stored.perNode,
    keysStoredSum: stored.sum,
    keysExpected: replicas * spec.keyCount,
    pollFailures,
    startMs,
    endMs,
  };
}

/**
 * Keeps the latest view of every job of this change (started after `sinceMs`), by node and
 * id: a job's view changes as it goes from waiting to done, and a node's cleanup passes for
 * one ring share an id, so the pass kept is the last one seen.
 */
function collect(jobs: Map<string, Job>, list: JobList | undefined, sinceMs: number): void {
  for (const job of list?.jobs ?? []) if (job.startedAtMs >= sinceMs) jobs.set(`${job.node} ${job.id}`, job);
}

/** The node's last cleanup pass started after the transfers ended (a node runs another pass if keys arrived outside its ranges). */
function latestCleanup(jobs: Map<string, Job>, node: string, afterMs: number): Job | undefined {
  return [...jobs.values()].filter((job) => job.node === node && job.kind === 'cleanup' && job.startedAtMs >= afterMs).sort((a, b) => b.startedAtMs - a.startedAtMs)[0];
}

async function pollUntil(timeoutMs: number, everyMs: number, done: () => Promise<boolean>, failure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pollStartMs = Date.now();
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(failure());
    await sleep(Math.max(0, everyMs - (Date.now() - pollStartMs)));
  }
}

/** Bytes of the keys key0 .. key(count-1), counted by decimal length. */
function keyBytesTotal(count: number): number {
  let total = 0;
  for (let digits = 1, from = 0; from < count; digits++, from = 10 ** (digits - 1)) total += (Math.min(count, 10 ** digits) - from) * ('key'.length + digits);
  return total;
}

/**
 * Live keys on each node. GET /status reads the engine's count directly (the same figure as
 * /node-info keys.total, which is cached for seconds): polled until the sum is `expected`, or the time is up.
 */
export async function waitForKeyCount(urls: string[], expected: number, timeoutMs: number): Promise<{ perNode: Record<string, number>; sum: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(urls.map((url) => new RingkvClient({ baseUrl: url, timeoutMs: 5000 }).status().catch(() => undefined)));
    const perNode: Record<string, number> = Object.fromEntries(statuses.map((status, i) => [status?.nodeId ?? urls[i], status?.keyCount ?? NaN]));
    const sum = Object.values(perNode).reduce((total, count) => total + count, 0);
    if (sum === expected || Date.now() > deadline) return { perNode, sum };
    await sleep(500);
  }
}

function describeJobs(jobs: Map<string, Job>): string {
  if (jobs.size === 0) return 'no job seen';
  return [...jobs.values()].map((job) => `${job.node} ${job.kind} ${job.state} ${job.keysDone}/${job.keysTotal} scanned, ${job.recordsMoved} records`).join('; ');
}

function judge(result: Omit<JoinResult, 'targets'>): JoinTarget[] {
  const join = result.changes.find((change) => change.change === 'join' && change.load === 'open loop');
  const leave = result.changes.find((change) => change.change === 'leave');
  const atMillion = result.keyCount === 1_000_000;
  return [
    benchTarget('join: payload into n4', join?.payloadMegabytesPerSecond ?? null, 'min', 50, 'MB/s'),
    benchTarget(`join: start to cleanups done${atMillion ? '' : ' (judged at 1,000,000 keys only)'}`, atMillion ? (join?.wholeSeconds ?? null) : null, 'max', round(joinWholeSecondsBefore / 3), 's'),
    benchTarget('join: worst second p99 / baseline p99 (open loop)', join?.openLoop?.worstOverBaseline ?? null, 'max', 3, 'x'),
    benchTarget('join: errors (open loop)', join?.openLoop?.errors ?? null, 'max', 0, ''),
    benchTarget('leave: payload out of n4', leave?.payloadMegabytesPerSecond ?? null, 'min', 50, 'MB/s'),
    benchTarget('leave: worst second p99 / baseline p99 (open loop)', leave?.openLoop?.worstOverBaseline ?? null, 'max', 3, 'x'),
    benchTarget('leave: errors (open loop)', leave?.openLoop?.errors ?? null, 'max', 0, ''),
  ];
}

export function reportJoin(result: JoinResult): string[] {
  const describe = (change: RingChangeResult) => `${change.change} of ${change.node} (${change.load})`;
  const lines = [
    '',
    `ringkv join benchmark: a 4th node joins 3 LMDB nodes (N=3) holding ${result.keyCount} keys (${result.valueBytes}-byte values, keys of ${result.keyBytesMean} bytes on average), then leaves.`,
    `bulk load: ${result.bulkLoad.keys} keys in ${result.bulkLoad.seconds} s (${result.bulkLoad.keysPerSecond} keys/s at w=quorum, ${result.bulkLoad.errors} failed)`,
    `capacity (closed loop, wrk, ${result.connections} connections spread, quorum GET): ${result.capacity.requestsPerSecond} req/s, p50 ${result.capacity.p50Ms} ms, p99 ${result.capacity.p99Ms} ms`,
    `open loop: quorum GETs at ${result.openShare} of capacity = ${result.openRequestsPerSecond} req/s on a fixed schedule over the 3 founding nodes, latency from each request's due time`,
    `background jobs keep at least ${result.backgroundShareMin} of each node's time under client load (--background-share-min, RINGKV_BACKGROUND_SHARE_MIN)`,
    result.standbyStart === undefined
      ? 'n4 joined as it started: its process start counts in the join'
      : `n4 started on standby before the first baseline (ready in ${result.standbyStart.seconds} s; open loop meanwhile: p99 ${result.standbyStart.p99Ms ?? '-'} ms, worst second ${result.standbyStart.worstSecondP99Ms ?? '-'} ms, ${result.standbyStart.errors} errors); its join runs from POST /cluster/join`,
    '',
    '| ring change | start to cleanups done s | ring settled s | transfer s | records moved | records/s | payload MB/s | cleanup s | keys stored |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...result.changes.map(
      (c) =>
        `| ${describe(c)} | ${c.wholeSeconds} | ${c.ringSeconds} | ${c.transferSeconds} | ${c.recordsMoved} | ${c.recordsPerSecond} | ${c.payloadMegabytesPerSecond} | ${c.cleanupSeconds} | ${c.keysStoredSum}/${c.keysExpected} ${c.keysStoredSum === c.keysExpected ? 'ok' : 'MISMATCH'} |`,
    ),
    `(payload = records moved x (key + value bytes), ${result.changes[0]?.payloadFrom ?? 'key and value sizes'}; the sources scanned ${result.changes.map((c) => `${c.keysScanned} for the ${c.change} of ${c.node}`).join(', ')})`,
  ];
  const costed = result.changes.filter((change) => change.cpu !== undefined);
  if (costed.length > 0) {
    lines.push(
      '',
      "| ring change | nodes' CPU s | baseline, cores | the change's own CPU s (by node) | µs per record moved | machine busy, baseline / during | own CPU over all cores |",
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...costed.map((change) => {
        const c = change.cpu as ChangeCpu;
        const share = (value: number | null) => (value === null ? '-' : `${Math.round(value * 100)}%`);
        const byNode = Object.entries(c.changeSecondsByNode).map(([node, seconds]) => `${node} ${seconds}`).join(', ');
        return `| ${describe(change)} | ${c.nodesSeconds} | ${c.baselineCores} | ${c.changeSeconds} (${byNode}) | ${c.microsPerRecord} | ${share(c.baselineMachineBusyShare)} / ${share(c.machineBusyShare)} | ${round(c.changeSeconds / c.cores)} s |`;
      }),
      "(the nodes' CPU during the change, less their baseline rate over its length; the last column is the least time the change could take with every core of this machine given to it)",
    );
  }
  lines.push(
    '',
    '| open loop | baseline p50 ms | baseline p99 ms | p99 ms during | worst second p99 ms | worst / baseline | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const change of result.changes) {
    const o = change.openLoop;
    if (o === undefined) continue;
    const kinds = Object.entries(o.errorKinds).map(([kind, count]) => `${kind}: ${count}`).join(', ');
    lines.push(`| ${describe(change)} | ${o.baselineP50Ms ?? '-'} | ${o.baselineP99Ms ?? '-'} | ${o.p99Ms ?? '-'} | ${o.worstSecondP99Ms ?? '-'} | ${o.worstOverBaseline ?? '-'} | ${o.errors}${kinds === '' ? '' : ` (${kinds})`} |`);
  }
  for (const change of result.changes) {
    if (change.openLoop === undefined) continue;
    const seconds = change.openLoop.perSecond.map((s) => `${s.p99Ms ?? '-'}${s.errors > 0 ? `[${s.errors} errors]` : ''}`);
    const silent = change.openLoop.secondsWithoutAnswers;
    lines.push(`p99 ms per second, baseline before the ${describe(change)}: ${change.openLoop.baselinePerSecondP99Ms.map((p99) => p99 ?? '-').join(' ')}`);
    lines.push(`p99 ms per second, ${describe(change)}${silent > 0 ? ` (${silent} seconds without an answer: no p99)` : ''}: ${seconds.join(' ')}`);
  }
  const closed = result.changes.filter((change) => change.closedLoop !== undefined);
  if (closed.length > 0) {
    lines.push('', '| closed loop (wrk, mixed) | steady req/s | req/s during | vs steady | worst second | p99 ms steady | p99 ms during | errors |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const change of closed) {
      const c = change.closedLoop as ClosedLoopImpact;
      lines.push(`| ${describe(change)} | ${c.steady.requestsPerSecond} | ${c.requestsPerSecond} | ${c.ratio.toFixed(2)} | ${c.worstSecond ?? '-'} | ${c.steady.p99Ms} | ${c.p99Ms} | ${c.errors} |`);
    }
  }
  lines.push(
    '',
    '| target | measured | limit | |',
    '| --- | ---: | ---: | --- |',
    ...result.targets.map((t) => `| ${t.figure} | ${t.value ?? '-'} ${t.unit} | ${t.bound === 'min' ? '≥' : '≤'} ${t.target} ${t.unit} | ${t.pass === null ? 'not judged' : t.pass ? 'pass' : 'MISS'} |`),
    '',
  );
  return lines;
}
