// The CLI side of ring changes: `ringkv join`, `ringkv leave`, `ringkv remove <node>` and `ringkv jobs`.
// Each asks one node over its REST API, then (unless told not to) watches the data move
// with a progress bar over every member's jobs, until the ring is stable again.
import { ProgressBar, RingkvClient, RingkvError, type Job, type JobList, type Pace, type PaceUpdate, type RingChange, type RingStatus } from '@ringkv/client';
import { backgroundShareMinLowest, isBackgroundShareMin } from '@ringkv/core';
import { isTransferMbPerS, transferMbPerSMax } from './config.js';
import { CommandFailure, exitCodes } from './exit-codes.js';
import { fetchTrusting } from './security/trusted-fetch.js';

/** The node a command talks to, and how it proves itself (`--node`, `--token`, `--ca`). */
export interface ApiTarget {
  node: string;
  token?: string;
  /** PEM of the CA that signed the nodes' certificates; implies https. */
  caPem?: string;
  /** How long to wait for each answer (the client's default when absent). */
  timeoutMs?: number;
}

/** A client for `target`, or for another member at `address` with the same credentials. */
export function clientFor(target: ApiTarget, address?: string): RingkvClient {
  const https = target.caPem !== undefined;
  return new RingkvClient({
    baseUrl: nodeUrl(address ?? target.node, https),
    ...(target.token ? { token: target.token } : {}),
    ...(target.timeoutMs === undefined ? {} : { timeoutMs: target.timeoutMs }),
    fetch: fetchTrusting(target.caPem),
  });
}

export interface WatchOptions {
  /** Give up after this long (the change itself goes on). */
  timeoutMs: number;
  out: { isTTY?: boolean; write(text: string): unknown };
}

const pollMs = 500;

/** A node address as typed on the command line: host:port or a URL. */
export function nodeUrl(node: string, https = false): string {
  return /^https?:\/\//.test(node) ? node.replace(/\/+$/, '') : `${https ? 'https' : 'http'}://${node}`;
}

/** Sums the jobs still moving data (cleanups are bookkeeping, shown but not counted). */
export function movingTotals(jobs: readonly Job[]): { done: number; total: number; keysPerSecond: number; running: number } {
  const moving = jobs.filter((job) => job.kind !== 'cleanup' && job.state !== 'done');
  return {
    done: moving.reduce((sum, job) => sum + job.keysDone, 0),
    total: moving.reduce((sum, job) => sum + job.keysTotal, 0),
    keysPerSecond: moving.reduce((sum, job) => sum + job.keysPerSecond, 0),
    running: moving.length,
  };
}

export function describeJob(job: Job): string {
  const percent = job.keysTotal > 0 ? `${Math.floor((100 * job.keysDone) / job.keysTotal)}%` : '—';
  const eta = job.etaSeconds === null ? '—' : `${Math.ceil(job.etaSeconds)}s`;
  return `${job.id.padEnd(18)} ${job.node.padEnd(10)} ${job.kind.padEnd(8)} ${job.state.padEnd(8)} ${percent.padStart(5)} ${job.keysDone}/${job.keysTotal} keys, ${job.recordsMoved} records, ${Math.round(job.keysPerSecond)} keys/s, ETA ${eta}  ${job.description}`;
}

/**
 * Polls `watcher` until `finished` says the change is complete, drawing progress. Resolves
 * true when it finished, false on timeout.
 */
export async function watchRingChange(watcher: RingkvClient, finished: (members: Awaited<ReturnType<RingkvClient['cluster']>>) => boolean, options: WatchOptions): Promise<boolean> {
  const bar = new ProgressBar(1, options.out);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    let jobs: JobList = { jobs: [], unreachable: [], paces: [] };
    try {
      const cluster = await watcher.cluster();
      if (finished(cluster)) {
        bar.update(1, 'done: the ring is stable', 1);
        bar.finish();
        return true;
      }
      jobs = await watcher.clusterJobs();
    } catch {
      // The node watched may be busy or restarting; try again.
    }
    const totals = movingTotals(jobs.jobs);
    const note = totals.running === 0 ? 'waiting for the ring change to reach every node' : `keys, ${Math.round(totals.keysPerSecond)} keys/s, ${totals.running} transfer(s)`;
    bar.update(totals.done, note, Math.max(1, totals.total));
    if (Date.now() > deadline) {
      bar.finish();
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Another member to watch from, since a leaving node stops when it is done. */
async function otherMember(client: RingkvClient, nodeId: string, target: ApiTarget): Promise<RingkvClient> {
  const cluster = await client.cluster();
  const other = cluster.members.find((member) => member.nodeId !== nodeId && member.state === 'up' && member.ringStatus === 'normal');
  return other === undefined ? client : clientFor(target, other.address);
}

/** Moves the target node, or `member` asked through it, from standby into the ring. */
export async function joinCommand(target: ApiTarget, wait: boolean, options: WatchOptions, member?: string): Promise<number> {
  const client = clientFor(target);
  const nodeId = member ?? (await client.nodeInfo()).nodeId;
  return changeRing(client.join(member), wait, { watcher: client, nodeId, status: 'normal', done: `${nodeId} has joined: it is normal and holds its ranges` }, options);
}

/** Decommissions the target node, or `member` asked through it. */
export async function leaveCommand(target: ApiTarget, wait: boolean, options: WatchOptions, member?: string): Promise<number> {
  const client = clientFor(target);
  const served = (await client.nodeInfo()).nodeId;
  const nodeId = member ?? served;
  // The node asked through stays to be watched unless it is the one leaving.
  const watcher = nodeId === served ? await otherMember(client, nodeId, target) : client;
  return changeRing(client.leave(member), wait, { watcher, nodeId, status: 'left', done: `${nodeId} has left the cluster` }, options);
}

export async function removeCommand(target: ApiTarget, nodeId: string, wait: boolean, options: WatchOptions): Promise<number> {
  const client = clientFor(target);
  return changeRing(client.remove(nodeId), wait, { watcher: client, nodeId, status: 'left', done: `${nodeId} is removed; every key is back to its full replica count` }, options);
}

/**
 * Prints what the node said of a ring change it accepted, then (with `wait`) watches from
 * `watcher` until `nodeId` is `status` and nothing is moving, and says `done`.
 */
async function changeRing(
  asked: Promise<RingChange>,
  wait: boolean,
  until: { watcher: RingkvClient; nodeId: string; status: RingStatus; done: string },
  options: WatchOptions,
): Promise<number> {
  options.out.write(`${(await asked).message}\n`);
  if (!wait) return 0;
  const finished = await watchRingChange(until.watcher, (cluster) => !cluster.rebalancing && cluster.members.some((member) => member.nodeId === until.nodeId && member.ringStatus === until.status), options);
  options.out.write(finished ? `${until.done}\n` : 'still moving data; watch with `ringkv jobs --watch`\n');
  return finished ? exitCodes.ok : exitCodes.outcomeUnknown;
}

export async function jobsCommand(target: ApiTarget, watch: boolean, options: WatchOptions): Promise<number> {
  const client = clientFor(target);
  if (watch) {
    const done = await watchRingChange(client, (cluster) => !cluster.rebalancing, options);
    return done ? exitCodes.ok : exitCodes.outcomeUnknown;
  }
  const list = await client.clusterJobs();
  if (list.jobs.length === 0) options.out.write('no data movement: the ring is stable\n');
  for (const job of list.jobs) options.out.write(`${describeJob(job)}\n`);
  if (list.unreachable.length > 0) options.out.write(`unreachable: ${list.unreachable.join(', ')}\n`);
  for (const pace of list.paces) options.out.write(`${describePace(pace)}\n`);
  return 0;
}

/** One line for a node's pace: its transfer cap, what it has received, the share clients leave its background jobs and its floor, and the CPU pressure where measured. */
export function describePace(pace: Pace): string {
  const cap = pace.transferMbPerSecond === 0 ? 'no transfer cap' : `transfers capped at ${pace.transferMbPerSecond} MB/s`;
  const received = (pace.transferredBytes / 1_000_000).toFixed(1);
  const waited = (pace.transferWaitedMs / 1000).toFixed(1);
  const pressure = pace.cpuPressure === undefined ? '' : ` (CPU pressure ${pace.cpuPressure.toFixed(2)})`;
  return `pace ${pace.node.padEnd(10)} ${cap}; ${received} MB received, ${waited} s waited for the cap; background share now ${pace.backgroundShare.toFixed(2)}, floor ${pace.backgroundShareMin.toFixed(2)}${pressure}`;
}

/**
 * Sets the transfer cap of `member` (the target node when absent), e.g. to slow a join that
 * costs clients too much, its background floor, e.g. to end a join sooner, or both.
 */
export async function paceCommand(target: ApiTarget, update: PaceUpdate, member: string | undefined, out: WatchOptions['out']): Promise<number> {
  if (update.transferMbPerSecond === undefined && update.backgroundShareMin === undefined) {
    throw new CommandFailure(exitCodes.usage, 'give a transfer cap in MB/s, --background-share-min, or both');
  }
  if (update.transferMbPerSecond !== undefined && !isTransferMbPerS(update.transferMbPerSecond)) {
    throw new CommandFailure(exitCodes.usage, `the cap is megabytes per second from 0 (no cap) to ${transferMbPerSMax}, not ${update.transferMbPerSecond}`);
  }
  if (update.backgroundShareMin !== undefined && !isBackgroundShareMin(update.backgroundShareMin)) {
    throw new CommandFailure(exitCodes.usage, `the background share floor is from ${backgroundShareMinLowest} to 1 (1: background jobs never give way), not ${update.backgroundShareMin}`);
  }
  const pace = await clientFor(target).setPace(update, member);
  out.write(`${describePace(pace)}\n`);
  return 0;
}

export async function jobControlCommand(target: ApiTarget, id: string, action: 'pause' | 'resume', out: WatchOptions['out']): Promise<number> {
  const client = clientFor(target);
  const list = await client.clusterJobs();
  const job = list.jobs.find((item) => item.id === id);
  if (job === undefined) {
    throw new CommandFailure(exitCodes.notFound, `no job ${id}; \`ringkv jobs\` lists them`);
  }
  const result = action === 'pause' ? await client.pauseJob(id, job.node) : await client.resumeJob(id, job.node);
  out.write(`${describeJob(result.job)}${result.changed ? '' : ` (already ${result.job.state})`}\n`);
  return 0;
}

/** The message of a failed command: the node's problem detail, or why it could not be reached. */
export function failureMessage(error: unknown, node: string): string {
  if (error instanceof CommandFailure) return error.message;
  if (error instanceof RingkvError) return error.problem.detail;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `${node} did not answer in time; a change it was asked for may or may not have been made: check before repeating it`;
  }
  return `could not reach ${node} (${(error as Error).message}); is a node running there? Pass --node host:port`;
}
