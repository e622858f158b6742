// The simulator's history and linearizability checker (sim/history.ts, sim/linearizability.ts),
// loaded from its build so that the real-process test judges its history with the very code
// the simulator's cas profile uses. The import is by path at run time because the compiled
// test (test/dist/...) sits one folder deeper than its source: a static relative import
// could not be right for both; the types come from the same files.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { History as HistoryClass } from '../../sim/dist/history.js';
import type { Violation } from '../../sim/dist/violations.js';

export type { Operation, ReadValue, Version } from '../../sim/dist/history.js';
export type { Violation };
export type History = HistoryClass;

const simDist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'sim', 'dist');

async function loadSimModule<Module>(file: string): Promise<Module> {
  try {
    return (await import(pathToFileURL(join(simDist, file)).href)) as Module;
  } catch (error) {
    throw new Error(`cannot load the simulator's ${file} from sim/dist: build it first (npx tsc -b): ${error instanceof Error ? error.message : String(error)}`);
  }
}

const historyModule = await loadSimModule<typeof import('../../sim/dist/history.js')>('history.js');
const linearizabilityModule = await loadSimModule<typeof import('../../sim/dist/linearizability.js')>('linearizability.js');
const traceModule = await loadSimModule<typeof import('../../sim/dist/trace.js')>('trace.js');

export function createHistory(): History {
  return new historyModule.History();
}

/**
 * Runs the simulator's checker over a real history. Every node is a replica of every key
 * (N = nodes), and no replica lost its disk: LMDB keeps the acceptors' promises across kill -9.
 */
export function checkLinearizable(history: History, nodeIds: readonly string[]): Violation[] {
  const context = { replicasOf: () => nodeIds, dataLosses: [], trace: new traceModule.Trace(0) };
  return linearizabilityModule.checkLinearizable(history, context);
}
