// After the faults are healed: wait until every node sees every member up, count the keys
// whose replicas disagree (GET /cluster/replicas/{key}, which neither repairs nor needs a
// quorum), read every key at quorum for the history checker, then run read repair
// (GET ?r=all makes the coordinator ask all N replicas and repair the stale ones) until
// every replica holds the same version. That agreed copy must not be older than the final
// read, and it joins the key's history as its very last read, judged by the same rules.
// Every loop is bounded in rounds and time; requests go a few at a time.
import type { KeyReplicas, ReplicaCopy } from '@ringkv/client';
import type { ChaosNode } from './chaos-nodes.js';
import { sleep } from './chaos-nodes.js';
import type { Violation } from './chaos-checker.js';
import type { OperationRecord, RunClock, Workload } from './chaos-workload.js';

const requestsInFlightMax = 8;
const pollIntervalMs = 200;
const finalReadAttemptsMax = 3;

export interface ConvergenceOptions {
  /** Bound on waiting for every node to see every member up. */
  membershipTimeoutMs: number;
  /** Bound on the read-repair pass. */
  repairTimeoutMs: number;
  repairRoundsMax: number;
}

export interface ConvergenceResult {
  /** Run-clock ms when every node saw every member up again. */
  allUpAtMs: number;
  /** Keys whose replicas disagreed before any repair (the system has no anti-entropy yet). */
  divergentBeforeRepair: string[];
  /** Run-clock ms when every replica of every key agreed after read repair; undefined if never. */
  convergedAtMs: number | undefined;
  repairRounds: number;
  /** The last final quorum read of each key (failed ones included). */
  finalReads: OperationRecord[];
  violations: Violation[];
  /** Last replica listing of each key that did not converge. */
  unconverged: KeyReplicas[];
}

export async function convergeAndCheck(nodes: readonly ChaosNode[], workload: Workload, clock: RunClock, options: ConvergenceOptions): Promise<ConvergenceResult> {
  const allUpAtMs = await waitUntilAllUp(nodes, clock, options.membershipTimeoutMs);
  const keys = workload.keys();
  const before = await inBatches(keys, (key, index) => nodeFor(nodes, index).client.replicas(key).catch(() => undefined));
  const divergentBeforeRepair = keys.filter((_, index) => {
    const listing = before[index];
    return listing === undefined || !replicasAgree(listing.replicas);
  });
  const finalReads = await inBatches(keys, (key, index) => finalRead(workload, nodes, key, index));
  const repair = await repairUntilConverged(nodes, keys, clock, options);
  const violations = compareWithFinalReads(repair.listings, finalReads);
  for (const key of keys) {
    const listing = repair.listings.get(key);
    if (!listing || !replicasAgree(listing.replicas)) continue;
    const copy = listing.replicas[0] as ReplicaCopy;
    workload.appendObservation(key, 'all replicas', copy.version === null || copy.tombstone ? undefined : { value: copy.value, version: copy.version });
  }
  return { allUpAtMs, divergentBeforeRepair, convergedAtMs: repair.convergedAtMs, repairRounds: repair.rounds, finalReads, violations, unconverged: repair.unconverged };
}

/**
 * A quorum read of `key` after healing, through the workload so that it is recorded and
 * checked like the workers' reads. With every node up it should succeed; a few bounded
 * retries on other nodes cover a connection that a restart left half-open.
 */
async function finalRead(workload: Workload, nodes: readonly ChaosNode[], key: string, index: number): Promise<OperationRecord> {
  let read = await workload.perform(-1, key, 'get', nodeFor(nodes, index));
  for (let attempt = 1; attempt < finalReadAttemptsMax && read.outcome !== 'ok'; attempt++) {
    await sleep(pollIntervalMs);
    read = await workload.perform(-1, key, 'get', nodeFor(nodes, index + attempt));
  }
  return read;
}

async function waitUntilAllUp(nodes: readonly ChaosNode[], clock: RunClock, timeoutMs: number): Promise<number> {
  const deadline = clock.nowMs() + timeoutMs;
  let last = '';
  while (clock.nowMs() < deadline) {
    const views = await Promise.all(nodes.map((node) => node.client.cluster().catch((error: Error) => error)));
    const lagging = views.flatMap((view, index) => {
      if (view instanceof Error) return [`${nodes[index]?.id}: ${view.message}`];
      const notUp = view.members.filter((member) => member.state !== 'up').map((member) => `${member.nodeId}=${member.state}`);
      return view.members.length < nodes.length || notUp.length > 0 ? [`${nodes[index]?.id} sees ${view.members.length} members, ${notUp.join(' ') || 'all up'}`] : [];
    });
    if (lagging.length === 0) return clock.nowMs();
    last = lagging.join('; ');
    await sleep(pollIntervalMs);
  }
  throw new Error(`members not all up within ${timeoutMs} ms after healing: ${last}`);
}

async function repairUntilConverged(
  nodes: readonly ChaosNode[],
  keys: readonly string[],
  clock: RunClock,
  options: ConvergenceOptions,
): Promise<{ convergedAtMs: number | undefined; rounds: number; listings: Map<string, KeyReplicas>; unconverged: KeyReplicas[] }> {
  const deadline = clock.nowMs() + options.repairTimeoutMs;
  const listings = new Map<string, KeyReplicas>();
  let pending = [...keys];
  let rounds = 0;
  while (pending.length > 0 && rounds < options.repairRoundsMax && clock.nowMs() < deadline) {
    rounds += 1;
    // r=all: every replica answers and the stale ones are repaired (in the background).
    await inBatches(pending, (key, index) => nodeFor(nodes, index + rounds).client.get(key, 'all').catch(() => undefined));
    await sleep(pollIntervalMs);
    const fresh = await inBatches(pending, (key, index) => nodeFor(nodes, index + rounds + 1).client.replicas(key).catch(() => undefined));
    for (const listing of fresh) if (listing) listings.set(listing.key, listing);
    pending = pending.filter((key) => {
      const listing = listings.get(key);
      return listing === undefined || !replicasAgree(listing.replicas);
    });
  }
  const unconverged = pending.map((key) => listings.get(key) ?? { key, owners: [], replicas: [] });
  return { convergedAtMs: pending.length === 0 ? clock.nowMs() : undefined, rounds, listings, unconverged };
}

/** Every replica answered and all hold the same version (or all hold nothing). */
export function replicasAgree(replicas: readonly ReplicaCopy[]): boolean {
  if (replicas.length === 0 || replicas.some((copy) => copy.status === 'unreachable')) return false;
  const first = replicas[0] as ReplicaCopy;
  return replicas.every((copy) => copy.version === first.version && copy.tombstone === first.tombstone);
}

/**
 * Repair may only move a key forward: the copy every replica agrees on must not be older
 * than what the final quorum read returned. (Whether a newer copy is allowed is judged by
 * the history checker, which sees the converged copy as the key's last read.)
 */
function compareWithFinalReads(listings: Map<string, KeyReplicas>, finalReads: readonly OperationRecord[]): Violation[] {
  const violations: Violation[] = [];
  for (const read of finalReads) {
    const listing = listings.get(read.key);
    if (read.outcome !== 'ok' || read.version === undefined || !listing || !replicasAgree(listing.replicas)) continue;
    const copy = listing.replicas[0] as ReplicaCopy;
    if (copy.version !== null && compareVersionText(copy.version, read.version) >= 0) continue;
    violations.push({
      key: read.key,
      kind: 'replicas-diverge',
      message: `after repair every replica holds ${describeCopy(copy)}, older than version ${read.version} that the final quorum read #${read.id} returned`,
      operationIds: [read.id],
    });
  }
  return violations;
}

function describeCopy(copy: ReplicaCopy): string {
  if (copy.version === null) return 'nothing';
  return `${copy.tombstone ? 'a tombstone' : 'a value'} at version ${copy.version}`;
}

/** Versions are `<hlc>-<nodeId>`: the larger timestamp wins, then the larger node id. */
export function compareVersionText(a: string, b: string): number {
  const [hlcA, nodeA] = splitVersion(a);
  const [hlcB, nodeB] = splitVersion(b);
  if (hlcA !== hlcB) return hlcA < hlcB ? -1 : 1;
  if (nodeA === nodeB) return 0;
  return nodeA < nodeB ? -1 : 1;
}

function splitVersion(version: string): [number, string] {
  const dash = version.indexOf('-');
  if (dash <= 0) throw new Error(`not a version: ${version}`);
  return [Number(version.slice(0, dash)), version.slice(dash + 1)];
}

function nodeFor(nodes: readonly ChaosNode[], index: number): ChaosNode {
  return nodes[index % nodes.length] as ChaosNode;
}

/** Runs `task` for every item, at most `requestsInFlightMax` at a time, keeping order. */
async function inBatches<T, R>(items: readonly T[], task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += requestsInFlightMax) {
    const batch = items.slice(start, start + requestsInFlightMax);
    results.push(...(await Promise.all(batch.map((item, offset) => task(item, start + offset)))));
  }
  return results;
}
