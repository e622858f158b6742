#!/usr/bin/env node
// The `ringkv` command: runs the compiled CLI. It is a plain JavaScript file so npm can
// link it at install time, before TypeScript has been compiled.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('ringkv is not built yet: run `npm run build` in the ringkv checkout, then try again.');
  process.exit(1);
}
await import(cli.href);
