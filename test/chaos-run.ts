// `npm run chaos`: a longer, larger chaos run than the one in `npm test`, sized by
// environment variables, printing the full report; exits 1 when a check failed.
//   CHAOS_SECONDS  workload duration (default 60)      CHAOS_NODES    nodes (default 5)
//   CHAOS_SEED     replay a run (default: fresh)        CHAOS_NETWORK  auto | namespaces | loopback
//   CHAOS_WORKERS  concurrent writers (default 8)       CHAOS_KEYS     keys per worker (default 8)
//   CHAOS_REPLICAS N (default 3)                        CHAOS_KEEP=1   keep the run folder
import { formatChaosReport } from './support/chaos-report.js';
import { parseSeed, SeededRandom } from './support/chaos-random.js';
import { chaosDefaults, runChaos, type ChaosOptions } from './support/chaos-scenario.js';

function integerFromEnv(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  return value;
}

function networkFromEnv(): ChaosOptions['network'] {
  const text = process.env.CHAOS_NETWORK ?? 'auto';
  if (text === 'auto' || text === 'namespaces' || text === 'loopback') return text;
  throw new Error(`CHAOS_NETWORK must be auto, namespaces or loopback, got "${text}"`);
}

const nodeCount = integerFromEnv('CHAOS_NODES', 5, 1, 15);
const workloadSeconds = integerFromEnv('CHAOS_SECONDS', 60, 5, 3600);
const options: ChaosOptions = {
  ...chaosDefaults,
  seed: parseSeed(process.env.CHAOS_SEED) ?? SeededRandom.freshSeed(),
  network: networkFromEnv(),
  nodeCount,
  replicas: integerFromEnv('CHAOS_REPLICAS', Math.min(3, nodeCount), 1, nodeCount),
  workloadMs: workloadSeconds * 1000,
  workers: integerFromEnv('CHAOS_WORKERS', 8, 1, 64),
  keysPerWorker: integerFromEnv('CHAOS_KEYS', 8, 1, 1000),
  faultsMax: 1000,
  keepRunDir: process.env.CHAOS_KEEP === '1',
  log: (line) => console.log(line),
};
const replay = `CHAOS_SEED=${options.seed} CHAOS_NODES=${nodeCount} CHAOS_SECONDS=${workloadSeconds} CHAOS_WORKERS=${options.workers} CHAOS_KEYS=${options.keysPerWorker} CHAOS_NETWORK=${options.network} npm run chaos`;
const result = await runChaos(options);
console.log(formatChaosReport(result, replay));
process.exitCode = result.passed ? 0 : 1;
