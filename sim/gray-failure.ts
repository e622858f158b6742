// Gray failures: a replica that is alive but answers late, far beyond the speculative
// wait of rapid read protection and sometimes beyond the read timeout (docs/guarantees.md,
// "Slow and frozen replicas"). Two kinds, as machines show them:
// - `disk`: its disk crawls (a dying disk, a saturated volume); membership pings, which
//   touch no disk, are answered at once, so it is never marked down: the case where
//   only the coordinator's own measurements can route reads around it.
// - `process`: the whole process answers late (a long GC pause, a VM starved of CPU, a
//   SIGSTOP): every request it receives, pings too, waits before it is handled, so
//   membership may suspect it while its late answers keep arriving.
// Delays are drawn per request from the cluster's seeded Rng on the virtual clock, so a run
// replays exactly. Phase two (healAll) ends every gray failure.
import type { RequestHandler, SeededRng } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';

export type GrayScope = 'disk' | 'process';

export interface GrayFailure {
  kind: 'gray';
  nodeId: string;
  scope: GrayScope;
  /** Each request (or disk call) waits uniformly in [delayMinMs, delayMaxMs]; 0/0 ends the failure. */
  delayMinMs: number;
  delayMaxMs: number;
}

/** Bounds on gray failures (the simulated read timeout is 200 ms; these reach seconds). */
export const grayFailureLimits = {
  /** Chance that a run has a gray failure at all. */
  chance: 0.4,
  delayMinMsMax: 150,
  /** The slowest answer of a late process: well past the read timeout, into the drain after the workload. */
  processDelayMsMax: 1500,
  /**
   * The slowest call to a crawling disk: past the read timeout too. Lower, because a write at
   * W=all through the node itself waits for its own disk, with no timeout, maybe for a few
   * attempts: a longer wait would outlast the drain and count as a hung operation.
   */
  diskDelayMsMax: 300,
  durationMsMin: 100,
  durationMsMax: 500,
} as const;

/** At most one gray failure per run, on one node, struck inside the workload window and ended later. */
export function planGrayFailures(rng: SeededRng, windowMs: number, nodeIds: readonly string[]): Array<{ atMs: number; fault: GrayFailure }> {
  if (rng.next() >= grayFailureLimits.chance) return [];
  const nodeId = nodeIds[rng.nextInt(nodeIds.length)] as string;
  const scope: GrayScope = rng.next() < 0.5 ? 'disk' : 'process';
  const delayMinMs = 20 + rng.nextInt(grayFailureLimits.delayMinMsMax - 20 + 1);
  const slowestMs = scope === 'disk' ? grayFailureLimits.diskDelayMsMax : grayFailureLimits.processDelayMsMax;
  const delayMaxMs = delayMinMs + rng.nextInt(slowestMs - delayMinMs + 1);
  const atMs = rng.nextInt(windowMs);
  const durationMs = grayFailureLimits.durationMsMin + rng.nextInt(grayFailureLimits.durationMsMax - grayFailureLimits.durationMsMin + 1);
  return [
    { atMs, fault: { kind: 'gray', nodeId, scope, delayMinMs, delayMaxMs } },
    { atMs: atMs + durationMs, fault: { kind: 'gray', nodeId, scope, delayMinMs: 0, delayMaxMs: 0 } },
  ];
}

export function strikeGrayFailure(cluster: InProcessCluster, fault: GrayFailure): void {
  const member = cluster.member(fault.nodeId);
  if (fault.scope === 'disk') {
    Object.assign(member.disk, { delayMinMs: fault.delayMinMs, delayMaxMs: fault.delayMaxMs });
    return;
  }
  // The handler of the process running now; a restart attaches its own (the pause ends with the process).
  const handler = member.node.handleRequest;
  if (fault.delayMaxMs === 0) {
    cluster.network.replaceHandler(member.address, handler);
    return;
  }
  cluster.network.replaceHandler(member.address, lateHandler(cluster, handler, fault.delayMinMs, fault.delayMaxMs));
}

/** Phase two: every process answers at its own pace again (disk delays are reset with the slow disks). */
export function endGrayFailures(cluster: InProcessCluster): void {
  for (const member of cluster.members) cluster.network.replaceHandler(member.address, member.node.handleRequest);
}

export function describeGrayFailure(fault: GrayFailure): string {
  if (fault.delayMaxMs === 0) return `gray failure of ${fault.nodeId} (${fault.scope}) ends`;
  return `gray failure: ${fault.nodeId} ${fault.scope === 'disk' ? 'disk' : 'process'} answers after ${fault.delayMinMs}..${fault.delayMaxMs} ms`;
}

function lateHandler(cluster: InProcessCluster, handler: RequestHandler, delayMinMs: number, delayMaxMs: number): RequestHandler {
  return (body, from) => {
    const delayMs = delayMinMs + cluster.rng.nextInt(delayMaxMs - delayMinMs + 1);
    return new Promise<void>((resolve) => cluster.clock.setTimer(delayMs, resolve)).then(() => handler(body, from));
  };
}
