// How a failed run is told: the seed and scenario, each violation in a sentence, the
// part of the trace that explains the first one (the operations on its key, every fault,
// and the key's messages while the operations involved were in flight), and the command
// that replays the run exactly.
import type { RunResult } from './run.js';
import { describeScenario } from './run.js';
import type { Violation } from './violations.js';

export interface ReportOptions {
  /** Violations described one by one; the rest are counted. */
  violationsShownMax: number;
  /** Lines of focused trace shown at most. */
  traceLinesMax: number;
}

export const reportDefaults: ReportOptions = { violationsShownMax: 3, traceLinesMax: 150 };

export function describeFailure(result: RunResult, options: ReportOptions = reportDefaults): string {
  const { violations, trace } = result;
  const lines = [`FAIL ${describeScenario(result.scenario)}`, `  ${violations.length} violation${violations.length === 1 ? '' : 's'}: ${countByKind(violations)}`];
  for (const violation of violations.slice(0, options.violationsShownMax)) lines.push(`  - ${violation.kind}${violation.key ? ` on ${violation.key}` : ''}: ${violation.message}`);
  if (violations.length > options.violationsShownMax) lines.push(`  - … and ${violations.length - options.violationsShownMax} more`);
  const first = violations.find((violation) => violation.key !== undefined);
  if (first?.key !== undefined) {
    const window = windowOf(result, first);
    const focused = trace.lines(trace.focus({ key: first.key, ...window }));
    lines.push(`  trace for ${first.key} (its operations, all faults, its messages from t=${window.fromMs} to t=${window.toMs}):`);
    for (const line of focused.slice(0, options.traceLinesMax)) lines.push(`    ${line}`);
    if (focused.length > options.traceLinesMax) lines.push(`    … ${focused.length - options.traceLinesMax} more lines (--trace prints the whole trace)`);
  }
  lines.push(`  replay: ${replayCommand(result)}`);
  return lines.join('\n');
}

export function replayCommand(result: RunResult): string {
  const { scenario } = result;
  if (scenario.script !== undefined) return `npm run sim -- --script ${scenario.script}`;
  const flags = [`--seed ${result.seed}`];
  if (scenario.profile !== 'standard') flags.push(`--profile ${scenario.profile}`);
  for (const [name, on] of Object.entries(scenario.plantedBugs)) if (on) flags.push(`--bug ${name}`);
  return `npm run sim -- ${flags.join(' ')}`;
}

function countByKind(violations: readonly Violation[]): string {
  const counts = new Map<string, number>();
  for (const violation of violations) counts.set(violation.kind, (counts.get(violation.kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${kind} ×${count}`).join(', ');
}

/** From the first invoke to the last completion of the operations involved; the whole run when none are named. */
function windowOf(result: RunResult, violation: Violation): { fromMs: number; toMs: number } {
  const involved = result.history.operations.filter((operation) => violation.operationIds.includes(operation.id));
  if (involved.length === 0) return { fromMs: 0, toMs: result.virtualMs };
  return {
    fromMs: Math.min(...involved.map((operation) => operation.invokeMs)),
    toMs: Math.max(...involved.map((operation) => operation.completeMs ?? operation.invokeMs)),
  };
}
