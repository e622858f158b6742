// Bundles the ringkv command (packages/server/dist/cli-program.js and everything it
// imports, ringkv's packages and their dependencies) into a few files beside it, so a node
// starts without resolving and loading some 1,100 small modules one by one (160 from the
// bundle). A node's start to ready took 1.31-1.37 s of CPU from the compiled files and
// 0.72-0.82 s from the bundle (docs/design.md, "Starting a node").
//
// Run after `tsc -b` (`npm run build` does both). The entry (packages/server/src/cli.ts)
// loads the bundle only while it is newer than every compiled package, so a `tsc -b` on
// its own never leaves a node running stale code: it runs the compiled files instead.
//
// Left out of the bundle, loaded from node_modules as before:
// - lmdb and msgpackr-extract, whose native addons are found beside their own package;
// - @fastify/swagger-ui, which serves the Swagger page's files from its own directory.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

const dist = join('packages', 'server', 'dist');
for (const name of readdirSync(dist)) {
  if (name === 'cli-program.bundle.js' || name.startsWith('bundle-')) rmSync(join(dist, name));
}

await build({
  input: { 'cli-program.bundle': join(dist, 'cli-program.js') },
  platform: 'node',
  external: [/^node:/, /^lmdb(\/|$)/, /^msgpackr-extract(\/|$)/, /^@fastify\/swagger-ui(\/|$)/],
  logLevel: 'warn',
  output: {
    dir: dist,
    format: 'esm',
    // The chunks sit in dist/ itself: code that finds files relative to its own module
    // (the package's version, the dashboard's files, the CLI for the local cluster's
    // nodes) then finds them from a chunk as from the compiled file.
    entryFileNames: '[name].js',
    chunkFileNames: 'bundle-[name]-[hash].js',
  },
});
