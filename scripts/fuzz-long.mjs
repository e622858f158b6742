// A long fuzzing run of the HTTP API (packages/server/src/api/fuzz.test.ts), beyond the
// bounded run in `npm test`. Usage, after `npm run build`:
//   node scripts/fuzz-long.mjs [runs] [seed]     (default 20000 runs, a random seed)
// A failure prints fast-check's seed and counterexample; pass the seed to replay it.
import { spawnSync } from 'node:child_process';

const runs = process.argv[2] ?? '20000';
const seed = process.argv[3];
const env = { ...process.env, RINGKV_FUZZ_RUNS: runs, ...(seed === undefined ? {} : { RINGKV_FUZZ_SEED: seed }) };
const result = spawnSync(process.execPath, ['scripts/run-tests.mjs', 'dist/api/fuzz.test.js'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
