// The `ringkv watch [prefix]` command: the cluster's change feed (GET /watch) as NDJSON on
// stdout, one line per put or delete, each with the cursor to resume after it. It uses the
// SDK's cluster client, which learns the members from the --node given and, when the node
// serving the watch fails, resumes on another with the last cursor (docs/client.md,
// "Watching changes"). Ctrl-C ends it with exit code 0 and the last cursor on stderr, to
// resume with --since; a cursor older than the nodes keep changes for exits 3.
import { Option, type Command } from 'commander';
import { RingkvClusterClient, RingkvError, WatchCursorExpiredError, type WatchEvent, type WatchStatus } from '@ringkv/client';
import { collectNodes, readCa } from './cli-data.js';
import { CommandFailure, exitCodeOfStatus, exitCodes, exitCodesHelp, type ExitCode } from './exit-codes.js';
import { failureMessage, nodeUrl } from './ring-commands.js';
import { fetchTrusting } from './security/trusted-fetch.js';

export interface WatchTarget {
  nodes: readonly string[];
  token?: string;
  /** PEM of the CA that signed the nodes' certificates; implies https. */
  caPem?: string;
}

export interface WatchCommandOptions {
  prefix: string;
  /** Resume after this cursor (printed by an earlier watch). */
  since?: string;
  /** Heartbeats and connections on stderr too. */
  verbose: boolean;
  /** Ends the watch (Ctrl-C): the command then returns 0. */
  signal: AbortSignal;
  /** The SDK's watch options the tests shorten (waits, idle timeout). */
  retry?: { retryDelayMsMin?: number; retryDelayMsMax?: number; idleTimeoutMs?: number; reconnectsMax?: number };
}

export interface WatchOutput {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** The stdout line of a put or delete; null for the events that only go to stderr. */
export function changeLine(event: WatchEvent): string | null {
  if (event.type === 'put') {
    const expiry = event.expiresAt === undefined ? {} : { expiresAt: event.expiresAt };
    return JSON.stringify({ event: 'put', key: event.key, value: event.value, version: event.version, ...expiry, cursor: event.cursor });
  }
  if (event.type === 'delete') {
    return JSON.stringify({ event: 'delete', key: event.key, deleted: true, ...(event.expired ? { expired: true } : {}), version: event.version, cursor: event.cursor });
  }
  return null;
}

/**
 * Prints the changes under `options.prefix` until the signal aborts (exit 0), then the last
 * cursor on stderr (also when no node can be reached any more). Failures are thrown for the
 * caller to print (watchFailure).
 */
export async function watchCommand(target: WatchTarget, options: WatchCommandOptions, io: WatchOutput): Promise<ExitCode> {
  if (target.nodes.length === 0) throw new CommandFailure(exitCodes.usage, 'no node to ask: pass --node host:port');
  const https = target.caPem !== undefined;
  const client = new RingkvClusterClient({
    nodes: target.nodes.map((node) => nodeUrl(node, https)),
    // A watch names no key, so the ring is not needed to pick a node: any member serves any prefix.
    routing: false,
    fetch: fetchTrusting(target.caPem),
    ...(target.token ? { token: target.token } : {}),
  });
  let cursor = options.since ?? null;
  try {
    const changes = client.watch({
      prefix: options.prefix,
      ...(options.since === undefined ? {} : { since: options.since }),
      signal: options.signal,
      onStatus: (status) => reportStatus(status, options.verbose, io),
      ...options.retry,
    });
    for await (const event of changes) {
      cursor = event.cursor;
      const line = changeLine(event);
      if (line !== null) io.out.write(`${line}\n`);
      else if (options.verbose) io.err.write(event.type === 'ready' ? `ringkv: watching from cursor ${event.cursor}\n` : `ringkv: progress ${event.cursor}\n`);
    }
  } catch (error) {
    // A refusal (a 410 most of all) is not resumed by the same command; losing the nodes is.
    if (!(error instanceof RingkvError)) io.err.write(`${resumeHint(options.prefix, cursor)}\n`);
    throw error;
  }
  io.err.write(`${resumeHint(options.prefix, cursor)}\n`);
  return exitCodes.ok;
}

/** Reconnections always go to stderr (they explain a pause in the output); connections only with --verbose. */
function reportStatus(status: WatchStatus, verbose: boolean, io: WatchOutput): void {
  if (status.state === 'reconnecting') {
    const wait = status.waitMs > 0 ? ` in ${(status.waitMs / 1000).toFixed(1)} s` : '';
    io.err.write(`ringkv: the watch broke (${status.reason}); resuming after ${status.cursor ?? 'the start'} on ${status.url}${wait}\n`);
  } else if (verbose && status.state === 'connected') io.err.write(`ringkv: connected to ${status.url}\n`);
}

/** The last line on stderr: the cursor to pass to --since, as a command to copy. */
export function resumeHint(prefix: string, cursor: string | null): string {
  if (cursor === null) return 'ringkv: no cursor yet (the watch had not begun); start again without --since';
  const prefixArgument = prefix === '' ? '' : ` ${shellQuoted(prefix)}`;
  return `ringkv: last cursor ${cursor}; resume with: ringkv watch${prefixArgument} --since ${cursor}`;
}

function shellQuoted(text: string): string {
  return /^[A-Za-z0-9._~/:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The exit code and message of a watch that failed: 410 says to start fresh, a read that found no node is 3 (nothing was done). */
export function watchFailure(error: unknown, nodes: readonly string[]): { exitCode: ExitCode; message: string } {
  if (error instanceof WatchCursorExpiredError) {
    return {
      exitCode: exitCodes.unavailable,
      message: `the cursor is older than the nodes keep changes for (${error.problem.detail}). List the keys again (ringkv ls --cluster) and start a fresh watch without --since`,
    };
  }
  const message = failureMessage(error, nodes.join(', '));
  if (error instanceof CommandFailure) return { exitCode: error.exitCode, message };
  if (error instanceof RingkvError) return { exitCode: exitCodeOfStatus(error.status), message };
  return { exitCode: exitCodes.unavailable, message: error instanceof Error ? error.message : message };
}

interface WatchFlags {
  node?: string[];
  token?: string;
  ca?: string;
  since?: string;
  verbose?: boolean;
}

export function addWatchCommand(program: Command): void {
  program
    .command('watch')
    .description(
      'print every change (put, delete, expiry) under a prefix as it happens, one JSON line each with its cursor, until Ctrl-C; ' +
        'the last cursor is printed on stderr, to resume with --since (nothing missed, nothing repeated)',
    )
    .argument('[prefix]', "only keys that start with this (default: every key; keys may contain '/')", '')
    .addOption(new Option('--since <cursor>', 'resume after this cursor (one a watch printed): every change after it is printed once'))
    .addOption(
      new Option('--node <host:port>', 'a node to start with (host:port or a URL); repeat it or separate with commas. The others are learned from it, and the watch moves to another when one fails')
        .env('RINGKV_NODE')
        .argParser(collectNodes),
    )
    .addOption(new Option('--token <token>', 'API token (`ringkv token create`); role read is enough').env('RINGKV_TOKEN'))
    .addOption(new Option('--ca <file>', "CA certificate (PEM) the nodes' certificates are signed by; implies https").env('RINGKV_CA'))
    .option('--verbose', 'print connections and heartbeats (with their cursor) on stderr too')
    .addHelpText(
      'after',
      `
Each line: {"event":"put","key":...,"value":...,"version":...,"cursor":...} (and "expiresAt" for a value with a ttl)
      or {"event":"delete","key":...,"deleted":true,"version":...,"cursor":...} ("expired":true for an expiry).
Per key, changes come in version order; across keys no order is promised.

Examples:
  ringkv watch users/
  ringkv watch users/ --since 'CURSOR'            # resume where a watch stopped (it printed the command)
  ringkv watch --node 10.0.0.1:8000 --node 10.0.0.2:8000 | jq -c 'select(.event == "delete")'

A cursor older than the nodes keep changes for (--watch-retention-s) exits 3: list the keys again and watch without --since.

${exitCodesHelp}
`,
    )
    .action(async (prefix: string, flags: WatchFlags) => {
      process.exitCode = await runWatch(prefix, flags);
    });
}

/** Runs the command as the CLI does: Ctrl-C, SIGTERM or a closed stdout (`| head`) end it with 0. */
async function runWatch(prefix: string, flags: WatchFlags): Promise<ExitCode> {
  const nodes = flags.node === undefined || flags.node.length === 0 ? ['127.0.0.1:8000'] : flags.node;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.once('error', stop);
  try {
    const caPem = flags.ca === undefined ? undefined : readCa(flags.ca);
    const target: WatchTarget = { nodes, ...(flags.token ? { token: flags.token } : {}), ...(caPem ? { caPem } : {}) };
    const options: WatchCommandOptions = { prefix, verbose: flags.verbose === true, signal: controller.signal, ...(flags.since === undefined ? {} : { since: flags.since }) };
    return await watchCommand(target, options, { out: process.stdout, err: process.stderr });
  } catch (error) {
    const { exitCode, message } = watchFailure(error, nodes);
    process.stderr.write(`ringkv: ${message}\n`);
    return exitCode;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', stop);
  }
}
