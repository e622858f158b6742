// Runs every compiled test file with node's test runner. Node 20 has no glob in
// `node --test` arguments, so the files are listed here: unit tests beside their
// subjects in packages/*/dist*, the simulator's in sim/dist, real-process tests in test/dist.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(directory) {
  if (!existsSync(directory)) return [];
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const roots = [
  ...readdirSync('packages').flatMap((name) =>
    readdirSync(join('packages', name))
      .filter((entry) => entry.startsWith('dist') && entry !== 'dist' || (entry === 'dist' && name !== 'dashboard'))
      .map((entry) => join('packages', name, entry)),
  ),
  join('sim', 'dist'),
  join('test', 'dist'),
];
const only = process.argv.slice(2);
const files = roots.flatMap(testFiles).filter((file) => only.length === 0 || only.some((part) => file.includes(part))).sort();
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
