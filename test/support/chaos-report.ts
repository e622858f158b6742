// The human report of a chaos run: what ran where, operations by outcome, every fault with
// its planned and real times, how long healing and convergence took, and for each
// violation the key's whole history and the nodes' log tails.
import { describeKeyHistory } from './chaos-checker.js';
import type { ChaosResult } from './chaos-scenario.js';
import type { OperationKind, Outcome } from './chaos-workload.js';

const outcomes: readonly Outcome[] = ['ok', 'failed', 'unknown'];
const kinds: readonly OperationKind[] = ['put', 'delete', 'get'];
const violationsShownMax = 10;

export function formatChaosReport(result: ChaosResult, replayCommand: string): string {
  const lines: string[] = [];
  const { options } = result;
  lines.push(`ringkv chaos run: ${result.passed ? 'PASSED' : 'FAILED'} (seed ${options.seed}; replay: ${replayCommand})`);
  lines.push(`network: ${result.network.kind} (${result.network.description})`);
  if (result.network.fallbackReason) lines.push(`  namespaces unavailable (${result.network.fallbackReason}): loopback, so no partitions or isolation, only process faults`);
  lines.push(`cluster: ${options.nodeCount} nodes, N=${options.replicas}, LMDB, reads and writes at quorum; replica timeout ${options.replicaTimeoutMs} ms, client timeout ${options.clientTimeoutMs} ms`);
  lines.push(`workload: ${options.workers} workers x ${options.keysPerWorker} keys (one writer per key) for ${seconds(options.workloadMs)}; fault kinds: ${result.faultKinds.join(', ')}`);
  lines.push(...operationTable(result));
  lines.push(...faultLines(result));
  lines.push(...convergenceLines(result));
  const t = result.timingsMs;
  lines.push(`timings: setup ${seconds(t.setup)}, workload ${seconds(t.workload)}, heal ${seconds(t.heal)}, converge ${seconds(t.converge)}, teardown ${seconds(t.teardown)}, total ${seconds(t.total)}`);
  const byKind = new Map<string, number>();
  for (const violation of result.violations) byKind.set(violation.kind, (byKind.get(violation.kind) ?? 0) + 1);
  const kindsText = byKind.size > 0 ? ` (${[...byKind].map(([kind, count]) => `${kind} x${count}`).join(', ')})` : '';
  const keysText = byKind.size > 0 ? ` on ${new Set(result.violations.map((violation) => violation.key)).size} keys` : '';
  lines.push(`checks: ${result.violations.length} violations${kindsText}${keysText}, ${result.problems.length} problems`);
  for (const problem of result.problems) lines.push(`  problem: ${problem}`);
  lines.push(...violationLines(result));
  if (result.keptRunDir) lines.push(`run folder kept (node logs, LMDB data, history.json): ${result.runDir}`);
  return lines.join('\n');
}

function operationTable(result: ChaosResult): string[] {
  const lines = [`operations: ${result.operations.length} (unknown = 504, timeout or lost connection; failed = 503, 4xx or refused connection)`];
  lines.push(`  ${'kind'.padEnd(8)}${outcomes.map((outcome) => outcome.padStart(9)).join('')}`);
  for (const kind of kinds) {
    const ofKind = result.operations.filter((op) => op.kind === kind);
    lines.push(`  ${kind.padEnd(8)}${outcomes.map((outcome) => String(ofKind.filter((op) => op.outcome === outcome).length).padStart(9)).join('')}`);
  }
  const statuses = new Map<string, number>();
  for (const op of result.operations) {
    if (op.outcome === 'ok') continue;
    const label = `${op.kind} ${op.status ?? op.detail ?? '?'}`;
    statuses.set(label, (statuses.get(label) ?? 0) + 1);
  }
  if (statuses.size > 0) lines.push(`  not ok by cause: ${[...statuses].map(([label, count]) => `${label} x${count}`).join(', ')}`);
  return lines;
}

function faultLines(result: ChaosResult): string[] {
  const skipped = result.faultsSkipped > 0 ? `, ${result.faultsSkipped} more planned but not begun before the end` : '';
  const lines = [`faults: ${result.faults.length} injected${skipped} (run clock; planned start..end, then when each really took effect and was undone)`];
  for (const event of result.faults) {
    const actual = `in ${event.injectedAtMs === undefined ? '-' : seconds(event.injectedAtMs)}, out ${event.healedAtMs === undefined ? '-' : seconds(event.healedAtMs)}`;
    const error = event.error ? `  ERROR: ${event.error.split('\n')[0]}` : '';
    lines.push(`  ${seconds(event.plan.startMs).padStart(7)} ..${seconds(event.plan.endMs).padStart(7)}  ${event.description}  (${actual})${error}`);
  }
  return lines;
}

function convergenceLines(result: ChaosResult): string[] {
  const convergence = result.convergence;
  if (!convergence || result.healedAtMs === undefined) return ['convergence: not reached (see problems)'];
  const healed = result.healedAtMs;
  const keys = result.options.workers * result.options.keysPerWorker;
  const converged = convergence.convergedAtMs === undefined ? 'NOT converged' : `converged at ${seconds(convergence.convergedAtMs)} (+${seconds(convergence.convergedAtMs - healed)})`;
  return [
    `healing: every fault undone at ${seconds(healed)}; every member up at ${seconds(convergence.allUpAtMs)} (+${seconds(convergence.allUpAtMs - healed)}); replicas ${converged} after ${convergence.repairRounds} read-repair rounds (GET ?r=all)`,
    `  keys whose replicas disagreed once healed, before the read-repair pass: ${convergence.divergentBeforeRepair.length} of ${keys}` +
      (convergence.divergentBeforeRepair.length > 0 ? ` (${convergence.divergentBeforeRepair.slice(0, 8).join(', ')}${convergence.divergentBeforeRepair.length > 8 ? ', ...' : ''})` : ''),
    `  time to converge (faults healed -> every replica of every key agrees): ${convergence.convergedAtMs === undefined ? 'never, within the bound' : seconds(convergence.convergedAtMs - healed)}`,
  ];
}

function violationLines(result: ChaosResult): string[] {
  if (result.violations.length === 0 && result.convergence?.unconverged.length === 0) return [];
  const lines: string[] = [];
  for (const violation of result.violations.slice(0, violationsShownMax)) {
    lines.push(`VIOLATION ${violation.kind} on ${violation.key}: ${violation.message}`);
    lines.push(`  history of ${violation.key} around ops ${violation.operationIds.map((id) => `#${id}`).join(', ')}:`);
    lines.push(describeKeyHistory(result.operations, violation.key, violation.operationIds));
  }
  if (result.violations.length > violationsShownMax) lines.push(`... and ${result.violations.length - violationsShownMax} more violations`);
  for (const listing of result.convergence?.unconverged.slice(0, violationsShownMax) ?? []) {
    const copies = listing.replicas.map((copy) => `${copy.nodeId}:${copy.status}:${copy.version ?? '-'}${copy.tombstone ? ':tombstone' : ''}`).join(' ');
    lines.push(`NOT CONVERGED ${listing.key}: ${copies}`);
  }
  if (!result.passed) {
    for (const log of result.nodeLogs) lines.push(`--- log tail of ${log.id} (${log.path}) ---\n${log.tail}`);
  }
  return lines;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
