// The simulator's command line (`npm run sim -- …`):
//   --seed S            run one seed and replay it exactly (prints its trace on failure)
//   --runs N [--start S] run seeds S, S+1, … (S defaults to 1) with a progress bar and a summary
//   --profile P         standard (default), skewed-clocks, ring-changes or slow-gossip
//   --bug NAME          plant a bug from PlantedBugs (repeatable)
//   --nodes K           fix the cluster size instead of drawing 3..5
//   --script NAME       replay a scripted regression scenario (sim/regressions/index.ts)
//   --trace             with --seed or --script: print the whole trace, not just the failure's part
// Exits 1 when a run failed. Wall-clock time is read here only, for the rate shown.
import { performance } from 'node:perf_hooks';
import { plantedBugNames, type PlantedBugs } from '@ringkv/core/testing';
import { ProgressBar } from '@ringkv/client';
import { describeFailure, replayCommand } from './report.js';
import { describeScenario, runSimulation, type RunResult } from './run.js';
import { regressionScripts } from './regressions/index.js';
import { profiles, type ScenarioChoices } from './scenario.js';
import { runScript } from './script.js';

interface CliOptions {
  seed?: number;
  script?: string;
  runs: number;
  start: number;
  trace: boolean;
  choices: ScenarioChoices;
}

const failedSeedsShownMax = 50;

function parseArguments(args: readonly string[]): CliOptions {
  const options: CliOptions = { runs: 100, start: 1, trace: false, choices: {} };
  const bugs: PlantedBugs = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] as string;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--seed') options.seed = integer(flag, value());
    else if (flag === '--runs') options.runs = integer(flag, value());
    else if (flag === '--start') options.start = integer(flag, value());
    else if (flag === '--nodes') options.choices.nodes = integer(flag, value());
    else if (flag === '--trace') options.trace = true;
    else if (flag === '--script') options.script = oneOf(flag, value(), Object.keys(regressionScripts));
    else if (flag === '--profile') options.choices.profile = oneOf(flag, value(), profiles);
    else if (flag === '--bug') bugs[oneOf(flag, value(), plantedBugNames)] = true;
    else throw new Error(`unknown argument ${flag}; see the top of sim/cli.ts`);
  }
  if (Object.keys(bugs).length > 0) options.choices.plantedBugs = bugs;
  return options;
}

function integer(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} takes a whole number, not ${JSON.stringify(text)}`);
  return value;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new Error(`${flag} takes one of ${allowed.join(', ')}, not ${JSON.stringify(text)}`);
}

async function runOne(seed: number | undefined, options: CliOptions): Promise<boolean> {
  const script = options.script === undefined ? undefined : regressionScripts[options.script];
  const result = script !== undefined ? await runScript(script) : await runSimulation(seed ?? 1, options.choices);
  if (options.trace) for (const line of result.trace.lines()) console.log(line);
  if (result.violations.length > 0) {
    console.log(describeFailure(result));
    return false;
  }
  const counts = result.history.outcomeCounts();
  console.log(`PASS ${describeScenario(result.scenario)}`);
  console.log(`  ${result.history.operations.length} operations (ok ${counts.ok}, failed ${counts.failed}, unknown ${counts.unknown}), ${result.faults.length} faults, ${result.virtualMs} virtual ms`);
  return true;
}

async function runMany(options: CliOptions): Promise<boolean> {
  const startedMs = performance.now();
  const bar = new ProgressBar(options.runs, process.stdout);
  const totals = { ok: 0, failed: 0, unknown: 0 };
  const violationKinds = new Map<string, number>();
  const failedSeeds: number[] = [];
  let firstFailure: RunResult | undefined;
  for (let done = 0; done < options.runs; done++) {
    const seed = options.start + done;
    const result = await runSimulation(seed, options.choices);
    const counts = result.history.outcomeCounts();
    totals.ok += counts.ok;
    totals.failed += counts.failed;
    totals.unknown += counts.unknown;
    if (result.violations.length > 0) {
      failedSeeds.push(seed);
      firstFailure ??= result;
      for (const violation of result.violations) violationKinds.set(violation.kind, (violationKinds.get(violation.kind) ?? 0) + 1);
      if (process.stdout.isTTY) process.stdout.write('\r\u001b[K');
      console.log(`FAIL seed ${seed}: ${result.violations[0]?.kind} — replay: ${replayCommand(result)}`);
    }
    const seconds = (performance.now() - startedMs) / 1000;
    bar.update(done + 1, `seed ${seed}, ${failedSeeds.length} failed, ${((done + 1) / seconds).toFixed(1)} runs/s`);
  }
  bar.finish();
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(`\n${options.runs} runs (seeds ${options.start}..${options.start + options.runs - 1}) in ${seconds.toFixed(1)} s, ${(options.runs / seconds).toFixed(1)} runs/s`);
  console.log(`operations: ok ${totals.ok}, failed ${totals.failed}, unknown ${totals.unknown}`);
  console.log(`failures: ${failedSeeds.length}${failedSeeds.length ? ` (${[...violationKinds].map(([kind, count]) => `${kind} ×${count}`).join(', ')})` : ''}`);
  if (failedSeeds.length > 0) {
    const shown = failedSeeds.slice(0, failedSeedsShownMax).join(', ');
    console.log(`failed seeds: ${shown}${failedSeeds.length > failedSeedsShownMax ? ', …' : ''}`);
    console.log(`\nfirst failure:\n${describeFailure(firstFailure as RunResult)}`);
  }
  return failedSeeds.length === 0;
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
    return;
  }
  const passed = options.seed !== undefined || options.script !== undefined ? await runOne(options.seed, options) : await runMany(options);
  process.exitCode = passed ? 0 : 1;
}

await main();
