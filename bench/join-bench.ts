// The join benchmark: how long a fourth node takes to join a 3-node LMDB cluster holding
// `keyCount` keys (100-byte values), how fast the data moves into it, and what the join
// costs the requests served meanwhile, against the same load on the steady cluster.
//
// Steps: bulk-load the keys; warm up, then run the load for `seconds` (steady state); start
// n4 (a new node finding a cluster that holds data, so it joins) and run the same load until
// n4 is normal and no node reports a ring change under way (the join: start-up and ring
// settle, n4's transfer, then the completion, during which the other nodes usually also run
// their cleanup jobs, dropping the keys they gave up to n4); if a cleanup is still running
// then, keep the load on until every one is done. The load is quorum reads and writes of
// keys that exist, spread over the three founding nodes only: clients of a real cluster do
// not move to a node the moment it appears. Per-second response counts show what an
// average hides (nodes that stop answering for seconds).
// Lastly, every key must be on exactly N=3 of the 4 nodes: the key counts must add up to
// 3 x keyCount.
import { RingkvClient, type ClusterInfo, type Job, type JobList } from '@ringkv/client';
import { sleep, startCluster, type BenchCluster } from './cluster.js';
import { bulkLoad, round, runLoad, startLoad, type BulkLoadResult, type LoadResult, type LoadSpec } from './load.js';

export interface JoinBenchOptions {
  basePort: number;
  keyCount: number;
  connections: number;
  /** Length of the steady-state measurement. */
  seconds: number;
  /** Share of PUTs in the load (the rest are GETs). */
  writeShare: number;
  /** Bound on the join, and again on the cleanup. */
  timeoutMs: number;
}

export interface JoinPhase extends LoadResult {
  phase: 'steady' | 'join' | 'cleanup';
  /** requestsPerSecond / the steady state's. */
  ratio: number;
  /** Fewest responses in one whole second of the phase (the first and last seconds are partial). */
  worstSecond: number | null;
}

export interface JoinResult {
  keyCount: number;
  valueBytes: number;
  writeShare: number;
  connections: number;
  bulkLoad: BulkLoadResult;
  /** From starting n4 to n4 normal with no ring change under way (wall clock, polled every 250 ms). */
  joinSeconds: number;
  /** From starting n4 to the start of its transfer: start-up, gossip, then the ring settle period. */
  settleSeconds: number;
  /** n4's transfer job, startedAtMs to finishedAtMs. */
  transferSeconds: number;
  /** Records stored by n4 (job.recordsMoved), and per second of transfer. */
  recordsMoved: number;
  recordsPerSecond: number;
  /** Records the sources scanned to find them (job.keysDone), and per second. */
  keysScanned: number;
  keysScannedPerSecond: number;
  /** From the end of n4's transfer to the end of the join (n4 normal, no ring change under way). */
  completionSeconds: number;
  /** From the end of the join until every node's cleanup job is done (0 when they were done before). */
  cleanupSeconds: number;
  /**
   * Each node's cleanup of the keys it gave up: records dropped (its live keys before the
   * join less those after), and when its cleanup passes ran, in seconds after n4 started.
   * A node runs another pass if keys arrived outside its ranges meanwhile; a pass that ran
   * entirely while the polls went unanswered is not seen.
   */
  cleanups: Array<{ node: string; dropped: number; passes: Array<{ fromSeconds: number; toSeconds: number; dropped: number }> }>;
  /** Measured: steady state, the join, and what remained of the cleanups after it. */
  phases: JoinPhase[];
  /** Parts of the join, from the per-second counts: during n4's transfer, and from its end to the end of the join. */
  joinParts: Array<{ part: 'transfer' | 'after the transfer'; seconds: number; requestsPerSecond: number | null; worstSecond: number | null }>;
  /** Whole seconds, from n4's start to the end of the cleanups, in which fewer than a tenth of the steady state's requests were answered. */
  stallSeconds: number;
  /** Live keys per node (GET /status keyCount) at the end, their sum, and the expected sum (N x keyCount). */
  keysStored: Record<string, number>;
  keysStoredSum: number;
  keysExpected: number;
  /** Polls (of GET /cluster and /cluster/jobs on n1) that failed or timed out. */
  pollFailures: number;
  /** What the polls saw, about once a second: n4's ring status, members n1 did not see up (suspect or down), n4's join job. */
  timeline: Array<{ atMs: number; n4: string; rebalancing: boolean | null; notUp: string[]; keysDone: number; keysTotal: number; recordsMoved: number }>;
}

const replicas = 3;
const pollMs = 250;
const warmUpSeconds = 5;

export async function runJoinBench(options: JoinBenchOptions): Promise<JoinResult> {
  const cluster = await startCluster('lmdb', options.basePort);
  try {
    return await measureJoin(cluster, options);
  } finally {
    await cluster.stop();
  }
}

async function measureJoin(cluster: BenchCluster, options: JoinBenchOptions): Promise<JoinResult> {
  const { keyCount } = options;
  const say = (line: string) => process.stdout.write(`join: ${line}\n`);
  say(`bulk-loading ${keyCount} keys (100-byte values, w=one)...`);
  // Bound: fails if slower than 500 writes/s, far below what a cluster that works does.
  const loaded = await bulkLoad(cluster.urls, keyCount, 60_000 + keyCount * 2);
  say(`loaded ${keyCount} keys in ${loaded.seconds} s (${loaded.keysPerSecond} keys/s, ${loaded.errors} failed writes)`);
  // At w=one the other replicas' writes may still be in flight: wait for them, bounded.
  const afterLoad = await waitForKeyCount(cluster.nodes.map((node) => node.url), replicas * keyCount, 30_000);
  if (afterLoad.sum !== replicas * keyCount) say(`after the load the nodes hold ${afterLoad.sum} records, not ${replicas * keyCount}`);

  const spec = (seconds: number): LoadSpec => ({
    urls: cluster.urls,
    operation: 'mixed',
    keyCount,
    connections: options.connections,
    writeShare: options.writeShare,
    seconds,
  });
  // Throughput right after the bulk load climbs for several seconds: a warm-up keeps that
  // transient out of the steady state the join is compared with.
  await runLoad(spec(warmUpSeconds));
  const steady = await runLoad(spec(options.seconds));
  say(`steady state: ${steady.requestsPerSecond} req/s, p99 ${steady.p99Ms} ms`);

  const seed = new RingkvClient({ baseUrl: cluster.urls[0] as string, timeoutMs: 5000 });
  // Every cleanup pass seen, per node and start time (a job's view only shows the last pass).
  const passes = new Map<string, Job>();
  const collect = (jobs: JobList | undefined) => {
    for (const job of jobs?.jobs ?? []) if (job.kind === 'cleanup') passes.set(`${job.node} ${job.startedAtMs}`, job);
  };
  const timeline: JoinResult['timeline'] = [];
  let pollFailures = 0;
  const n4Port = options.basePort + 3;
  const joinStartMs = Date.now();
  const n4 = cluster.addNode('n4', n4Port);
  const joinLoad = startLoad(spec(Math.ceil(options.timeoutMs / 1000) + 60));
  let joinJob: Job | undefined;
  let joinEndMs: number;
  try {
    say('n4 started');
    for (;;) {
      const pollStartMs = Date.now();
      if (n4.child.exitCode !== null || n4.child.signalCode !== null) throw new Error(`n4 exited during the join (${n4.child.signalCode ?? `code ${n4.child.exitCode}`})`);
      const [view, jobs] = await Promise.all([seed.cluster().catch(() => undefined), seed.clusterJobs().catch(() => undefined)]);
      if (view === undefined || jobs === undefined) pollFailures++;
      collect(jobs);
      joinJob = jobs?.jobs.find((job) => job.node === 'n4' && job.kind === 'join') ?? joinJob;
      const ring = view?.members.find((member) => member.nodeId === 'n4')?.ringStatus ?? 'unknown';
      note(timeline, ring, view, joinJob);
      if (ring === 'normal' && view?.rebalancing === false) break;
      if (Date.now() - joinStartMs > options.timeoutMs) {
        throw new Error(`the join did not complete within ${options.timeoutMs / 1000} s: n4 ${ring}, ${describeJob(joinJob)}`);
      }
      await sleep(Math.max(0, pollMs - (Date.now() - pollStartMs)));
    }
    joinEndMs = Date.now();
  } catch (error) {
    // The load must end too; its own failure would only hide this one.
    await joinLoad.stop().catch(() => undefined);
    throw error;
  }
  const joinMeasured = await joinLoad.stop();
  say(`n4 normal after ${round((joinEndMs - joinStartMs) / 1000)} s; ${joinMeasured.requestsPerSecond} req/s, p99 ${joinMeasured.p99Ms} ms during the join`);

  const cleanupLoad = startLoad(spec(Math.ceil(options.timeoutMs / 1000) + 60));
  let cleanups: Job[];
  let cleanupEndMs: number;
  try {
    // The poll that saw n4 normal may have read the jobs a moment before the transfer's end.
    joinJob = (await finalJoinJob(n4.url)) ?? joinJob;
    const transferEndMs = joinJob?.finishedAtMs ?? joinEndMs;
    const ids = cluster.nodes.map((node) => node.id);
    for (;;) {
      const pollStartMs = Date.now();
      const jobs: JobList | undefined = await seed.clusterJobs().catch(() => undefined);
      if (jobs === undefined) pollFailures++;
      collect(jobs);
      // A cleanup for the new ring starts on each node once it sees the ring stable; older ones are from before the join.
      cleanups = ids.map((id) => jobs?.jobs.find((job) => job.node === id && job.kind === 'cleanup' && job.startedAtMs >= transferEndMs)).filter((job) => job !== undefined);
      if (cleanups.length === ids.length && cleanups.every((job) => job.state === 'done')) break;
      if (Date.now() - joinEndMs > options.timeoutMs) {
        throw new Error(`the cleanup did not complete within ${options.timeoutMs / 1000} s: ${cleanups.map((job) => `${job.node} ${job.state} ${job.keysDone}/${job.keysTotal}`).join(', ')}`);
      }
      await sleep(Math.max(0, pollMs - (Date.now() - pollStartMs)));
    }
    cleanupEndMs = Math.max(joinEndMs, ...cleanups.map((job) => job.finishedAtMs ?? Date.now()));
  } catch (error) {
    await cleanupLoad.stop().catch(() => undefined);
    throw error;
  }
  const cleanupMeasured = await cleanupLoad.stop();
  const sinceStart = (ms: number) => round((ms - joinStartMs) / 1000);
  const cleanupPasses = (node: string) =>
    [...passes.values()]
      .filter((pass) => pass.node === node && pass.startedAtMs >= (joinJob?.finishedAtMs ?? joinEndMs))
      .sort((a, b) => a.startedAtMs - b.startedAtMs)
      .map((pass) => ({ fromSeconds: sinceStart(pass.startedAtMs), toSeconds: sinceStart(pass.finishedAtMs ?? cleanupEndMs), dropped: pass.recordsMoved }));
  say(`cleanups done ${round((cleanupEndMs - joinStartMs) / 1000)} s after n4 started`);

  const stored = await waitForKeyCount(cluster.nodes.map((node) => node.url), replicas * keyCount, 30_000);
  const job = joinJob;
  if (job === undefined || job.finishedAtMs === null) throw new Error(`n4 is normal but its join job was not seen finished: ${describeJob(job)}`);
  const transferSeconds = (job.finishedAtMs - job.startedAtMs) / 1000;
  const phase = (name: JoinPhase['phase'], measured: LoadResult): JoinPhase => ({
    phase: name,
    ...measured,
    ratio: round(measured.requestsPerSecond / Math.max(1, steady.requestsPerSecond)),
    worstSecond: worstSecond(measured.perSecond.slice(1, -1)),
  });
  const part = (name: JoinResult['joinParts'][number]['part'], fromMs: number, toMs: number) => {
    const inside = joinMeasured.perSecond.filter((point) => point.second * 1000 >= fromMs && (point.second + 1) * 1000 <= toMs);
    const mean = inside.length === 0 ? null : Math.round(inside.reduce((sum, point) => sum + point.requests, 0) / inside.length);
    return { part: name, seconds: round((toMs - fromMs) / 1000), requestsPerSecond: mean, worstSecond: worstSecond(inside) };
  };
  // Cleanups over before the join, or within a second of its end (the usual case), leave nothing to measure.
  const cleanupMeasurable = cleanupEndMs - joinEndMs >= 1000;
  const afterStart = [...joinMeasured.perSecond.slice(1, -1), ...(cleanupMeasurable ? cleanupMeasured.perSecond : [])].filter(
    (point) => (point.second + 1) * 1000 <= cleanupEndMs,
  );
  return {
    keyCount,
    valueBytes: 100,
    writeShare: options.writeShare,
    connections: options.connections,
    bulkLoad: loaded,
    joinSeconds: round((joinEndMs - joinStartMs) / 1000),
    settleSeconds: round((job.startedAtMs - joinStartMs) / 1000),
    transferSeconds: round(transferSeconds),
    recordsMoved: job.recordsMoved,
    recordsPerSecond: Math.round(job.recordsMoved / Math.max(0.001, transferSeconds)),
    keysScanned: job.keysDone,
    keysScannedPerSecond: Math.round(job.keysDone / Math.max(0.001, transferSeconds)),
    completionSeconds: round((joinEndMs - job.finishedAtMs) / 1000),
    cleanupSeconds: round((cleanupEndMs - joinEndMs) / 1000),
    cleanups: cluster.nodes.map(({ id }) => {
      const seen = cleanupPasses(id);
      // A founding node held every key before the join (N=3 of 3), and the load only rewrites existing keys.
      const before = afterLoad.perNode[id];
      const dropped = before === undefined ? seen.reduce((sum, pass) => sum + pass.dropped, 0) : before - (stored.perNode[id] ?? before);
      return { node: id, dropped, passes: seen };
    }),
    phases: [phase('steady', steady), phase('join', joinMeasured), ...(cleanupMeasurable ? [phase('cleanup', cleanupMeasured)] : [])],
    joinParts: [part('transfer', job.startedAtMs, job.finishedAtMs), part('after the transfer', job.finishedAtMs, joinEndMs)],
    stallSeconds: afterStart.filter((point) => point.requests < steady.requestsPerSecond / 10).length,
    keysStored: stored.perNode,
    keysStoredSum: stored.sum,
    keysExpected: replicas * keyCount,
    pollFailures,
    timeline,
  };
}

/** Keeps about one point a second, and every change of n4's ring status or of who is up. */
function note(timeline: JoinResult['timeline'], n4: string, view: ClusterInfo | undefined, job: Job | undefined): void {
  const last = timeline[timeline.length - 1];
  const atMs = Date.now();
  const notUp = (view?.members ?? []).filter((member) => member.state !== 'up').map((member) => `${member.nodeId} ${member.state}`);
  if (last !== undefined && last.n4 === n4 && last.notUp.join() === notUp.join() && atMs - last.atMs < 1000) return;
  timeline.push({ atMs, n4, rebalancing: view?.rebalancing ?? null, notUp, keysDone: job?.keysDone ?? 0, keysTotal: job?.keysTotal ?? 0, recordsMoved: job?.recordsMoved ?? 0 });
}

async function finalJoinJob(url: string): Promise<Job | undefined> {
  const client = new RingkvClient({ baseUrl: url, timeoutMs: 5000 });
  for (let attempt = 0; attempt < 20; attempt++) {
    const job = (await client.jobs().catch(() => undefined))?.jobs.find((item) => item.kind === 'join');
    if (job?.finishedAtMs != null) return job;
    await sleep(pollMs);
  }
  return undefined;
}

/**
 * Live keys on each node. GET /status reads the engine's count directly (the same figure as
 * /node-info keys.total, which is cached for seconds): polled until the sum is `expected`, or the time is up.
 */
async function waitForKeyCount(urls: string[], expected: number, timeoutMs: number): Promise<{ perNode: Record<string, number>; sum: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(urls.map((url) => new RingkvClient({ baseUrl: url, timeoutMs: 5000 }).status().catch(() => undefined)));
    const perNode: Record<string, number> = Object.fromEntries(statuses.map((status, i) => [status?.nodeId ?? urls[i], status?.keyCount ?? NaN]));
    const sum = Object.values(perNode).reduce((total, count) => total + count, 0);
    if (sum === expected || Date.now() > deadline) return { perNode, sum };
    await sleep(500);
  }
}

function worstSecond(points: LoadResult['perSecond']): number | null {
  return points.length === 0 ? null : Math.min(...points.map((point) => point.requests));
}

function describeJob(job: Job | undefined): string {
  if (job === undefined) return 'no join job seen';
  return `join job ${job.state}, ${job.keysDone}/${job.keysTotal} keys scanned, ${job.recordsMoved} records moved`;
}

export function reportJoin(result: JoinResult): string[] {
  const steady = result.phases[0]?.requestsPerSecond ?? 0;
  const ratio = (rps: number | null) => (rps === null || steady === 0 ? '-' : (rps / steady).toFixed(2));
  const phaseName = { steady: 'steady state', join: 'join (n4 started to n4 normal)', cleanup: 'after the join, until the cleanups are done' };
  const stored = Object.entries(result.keysStored).map(([node, count]) => `${node} ${count}`).join(', ');
  return [
    '',
    `ringkv join benchmark: a 4th node joins 3 LMDB nodes (N=3) holding ${result.keyCount} keys (${result.valueBytes}-byte values),`,
    `under quorum load (${Math.round(result.writeShare * 100)}% PUT, ${Math.round((1 - result.writeShare) * 100)}% GET) from ${result.connections} connections spread over the 3 founding nodes.`,
    '',
    `bulk load: ${result.bulkLoad.keys} keys in ${result.bulkLoad.seconds} s (${result.bulkLoad.keysPerSecond} keys/s at w=one, ${result.bulkLoad.errors} failed)`,
    `join: ${result.joinSeconds} s from starting n4 to n4 normal: ${result.settleSeconds} s start-up and ring settle, ${result.transferSeconds} s transfer, ${result.completionSeconds} s to complete`,
    `transfer: ${result.recordsMoved} records into n4, ${result.recordsPerSecond} records/s (the sources scanned ${result.keysScanned} records, ${result.keysScannedPerSecond}/s)`,
    `cleanups: ${result.cleanups.map((job) => `${job.node} dropped ${job.dropped} (${job.passes.map((pass) => `+${pass.fromSeconds}..+${pass.toSeconds} s`).join(', ')})`).join(', ')}` +
      (result.cleanupSeconds > 0 ? `; the last done ${result.cleanupSeconds} s after the join` : '; all done before the join completed'),
    `keys stored: ${stored}; sum ${result.keysStoredSum}, expected ${result.keysExpected} (${result.keysStoredSum === result.keysExpected ? 'ok' : 'MISMATCH'})`,
    `seconds with under a tenth of the steady throughput: ${result.stallSeconds}` + (result.pollFailures > 0 ? `; ${result.pollFailures} status polls failed or timed out` : ''),
    ...result.phases
      .filter((p) => p.errors + p.non2xx > 0)
      .map((p) => `errors ${phaseName[p.phase]}: ${p.errors} connection errors or timeouts, non-2xx ${JSON.stringify(p.statuses)}`),
    '',
    '| phase | seconds | requests/s | vs steady | worst second | p50 ms | p99 ms | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.phases.flatMap((p) => [
      `| ${phaseName[p.phase]} | ${p.seconds} | ${p.requestsPerSecond} | ${p.ratio.toFixed(2)} | ${p.worstSecond ?? '-'} | ${p.p50Ms} | ${p.p99Ms} | ${p.errors + p.non2xx} |`,
      ...(p.phase === 'join'
        ? result.joinParts.map((part) => `| - ${part.part} | ${part.seconds} | ${part.requestsPerSecond ?? '-'} | ${ratio(part.requestsPerSecond)} | ${part.worstSecond ?? '-'} | | | |`)
        : []),
    ]),
    '',
  ];
}
