// Scripted scenarios: a run whose faults and client operations are written out, step by
// step, instead of drawn from a seed. A seed's plan changes whenever the simulator draws
// differently (a new fault kind, a workload tweak, a timing change in the core), and an
// old failing seed then replays some other, passing run; a script keeps the failure it was
// written from: the same operations on the same keys through the same nodes, and the same
// crashes, joins, removals and disk losses, at the same virtual times. Only the network's
// own draws (delays, duplicates) still come from the script's seed.
import { parseVersion } from '@ringkv/core';
import type { Operation } from './history.js';
import { runPlanned, type IssueContext, type RunResult } from './run.js';
import type { TimedFault } from './faults.js';
import { scenarioFor, type Convergence, type Profile } from './scenario.js';

/**
 * One client operation: virtual ms after the workload starts, client, what, key, R or W
 * as a replica count, coordinator, and for a put its value (unique in the run) and, for
 * one that expires, its ttl in seconds. The cas profile's operations: a serial read, and a
 * conditional put whose condition is `absent` (If-None-Match: *) or the version it must
 * match, as formatVersion writes it (the version the client had learned in the run).
 */
export type ScriptedOperation =
  | [atMs: number, client: string, kind: 'read' | 'delete' | 'serial-read', key: string, level: number, node: string]
  | [atMs: number, client: string, kind: 'put', key: string, level: number, node: string, value: string, ttlSeconds?: number]
  | [atMs: number, client: string, kind: 'put-if', key: string, level: number, node: string, value: string, condition: string];

export interface Script {
  /** How `npm run sim -- --script NAME` finds it (sim/regressions/index.ts). */
  name: string;
  /** What the script reproduces, and where it came from. */
  title: string;
  /** Set while the bug it shows is still open: why it still fails (the test reports it as to do). */
  openBug?: string;
  /** Seed of the network's and phase two's draws (the run's plan does not come from it). */
  seed: number;
  /** Limits and defaults of this profile (its workload length, its settle waits). */
  profile: Profile;
  nodes: number;
  convergence: Convergence;
  /** Faults by virtual ms after the workload starts, in order. */
  faults: TimedFault[];
  /** Operations in invoke order. */
  operations: ScriptedOperation[];
}

/** Runs a script through the same phases and checkers as a seeded run. */
export function runScript(script: Script): Promise<RunResult> {
  const drawn = scenarioFor(script.seed, { profile: script.profile, nodes: script.nodes });
  const clients = new Set(script.operations.map((operation) => operation[1])).size;
  const scenario = { ...drawn, clients, routing: 'any-node' as const, convergence: script.convergence, script: script.name };
  return runPlanned(scenario, {
    faults: () => script.faults.map((timed) => ({ ...timed })),
    operations: (context) => replay(context, script.operations),
  });
}

/**
 * Starts each scripted operation once its time has come. An operation whose coordinator
 * is not running at that moment (the run took another turn) is skipped, and the trace
 * says so: the checkers judge what was actually asked.
 */
function replay(context: IssueContext, operations: readonly ScriptedOperation[]): (elapsedMs: number, budget: number) => number {
  let next = 0;
  return (elapsedMs, budget) => {
    let started = 0;
    while (next < operations.length && started < budget && (operations[next] as ScriptedOperation)[0] <= elapsedMs) {
      const operation = operations[next++] as ScriptedOperation;
      const [, client, kind, key, level, node] = operation;
      const member = context.cluster.members.find((item) => item.nodeId === node);
      if (member === undefined || !member.up) {
        context.trace.add({ atMs: context.nowMs(), kind: 'phase', keys: [key], text: `scripted ${kind} of ${key} by ${client} skipped: ${node} is not running` });
        continue;
      }
      context.clients.submit({ client, phase: 'workload', node, key, level, ...requestOf(operation) });
      started++;
    }
    return started;
  };
}

/** What the client asks for a scripted operation, beyond who, where, which key and R or W. */
function requestOf(operation: ScriptedOperation): Pick<Operation, 'kind'> & Partial<Pick<Operation, 'value' | 'ttlSeconds' | 'condition' | 'serial'>> {
  switch (operation[2]) {
    case 'serial-read':
      return { kind: 'read', serial: true };
    case 'put-if': {
      const condition = operation[7];
      if (condition === 'absent') return { kind: 'put', value: operation[6], condition: { ifNoneMatch: true } };
      const version = parseVersion(condition);
      if (version === undefined) throw new Error(`a scripted condition is absent or a version, not ${JSON.stringify(condition)}`);
      return { kind: 'put', value: operation[6], condition: { ifMatch: version } };
    }
    case 'put':
      return { kind: 'put', value: operation[6], ...(operation[7] === undefined ? {} : { ttlSeconds: operation[7] }) };
    default:
      return { kind: operation[2] };
  }
}
