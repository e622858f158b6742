#!/usr/bin/env node
// The process entry of every ringkv command (bin/ringkv.js, `npm start`, the local
// cluster's nodes). It turns on Node's on-disk compile cache (Node 22.1 and later; Node 20
// has none and goes on without), then loads the commands (cli-program.ts): a start then
// reads its modules' compiled code back instead of compiling them again. On Node 24 a
// node's start to ready took 1.00-1.27 s of CPU with the cache against 1.11-1.45 s without
// it, in alternating runs: about an eighth less.
//
// The commands come from their bundle (scripts/bundle-server.mjs) when `npm run build`
// made one after the last compile, and from the compiled files otherwise.
import module from 'node:module';
import { bundledCommands } from './cli-bundle.js';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import(bundledCommands(import.meta.url) ?? './cli-program.js');
