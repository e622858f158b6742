// The data commands of the `ringkv` CLI (`get`, `put`, `delete`/`del`, `ls`/`keys` [--cluster],
// `status`): their flags, help with examples, and the exit code each outcome ends with.
// What they do is in data-commands.ts.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { deleteCommand, getCommand, listCommand, putCommand, readStdinText, statusCommand, valueFrom, type DataOutput, type DataTarget, type ListScope, type PutFlags } from './data-commands.js';
import { CommandFailure, exitCodeOf, exitCodes, exitCodesHelp } from './exit-codes.js';
import { integer } from './node-options.js';
import { failureMessage } from './ring-commands.js';
import { RingkvError, RingkvPreconditionFailedError } from '@ringkv/client';

interface DataFlags {
  node: string[];
  token?: string;
  ca?: string;
  json?: boolean;
  timeoutMs: number;
}

/** `--node` may be repeated or hold a comma-separated list (RINGKV_NODE=a:8000,b:8000). */
export function collectNodes(value: string, previous: string[] | undefined): string[] {
  const given = value.split(',').map((node) => node.trim()).filter((node) => node.length > 0);
  return [...(previous ?? []), ...given];
}

export function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CommandFailure(exitCodes.usage, `cannot read the CA certificate ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check --ca`);
  }
}

function dataOptions(command: Command, examples: string): Command {
  return command
    .addOption(
      new Option('--node <host:port>', 'a node to ask (host:port or a URL); repeat it, or separate with commas, and the next is asked when one is down or answers 503')
        .env('RINGKV_NODE')
        .argParser(collectNodes),
    )
    .addOption(new Option('--token <token>', 'API token (`ringkv token create`)').env('RINGKV_TOKEN'))
    .addOption(new Option('--ca <file>', "CA certificate (PEM) the nodes' certificates are signed by; implies https").env('RINGKV_CA'))
    .addOption(new Option('--timeout-ms <ms>', "how long to wait for a node's answer (a write not answered in time: exit code 4)").env('RINGKV_TIMEOUT_MS').default(10_000).argParser(integer))
    .option('--json', 'print one JSON document on stdout (errors as JSON on stderr), for scripts')
    .addHelpText('after', `\nExamples:\n${examples}\n\n${exitCodesHelp}\n`);
}

/** Runs a data command, printing a failure as text or JSON and ending with its exit code. */
async function runDataCommand(flags: DataFlags, work: (target: DataTarget, io: DataOutput) => Promise<number>): Promise<void> {
  const nodes = flags.node === undefined || flags.node.length === 0 ? ['127.0.0.1:8000'] : flags.node;
  const io: DataOutput = { out: process.stdout, err: process.stderr, json: flags.json === true };
  try {
    const caPem = flags.ca === undefined ? undefined : readCa(flags.ca);
    process.exitCode = await work({ nodes, timeoutMs: flags.timeoutMs, ...(flags.token ? { token: flags.token } : {}), ...(caPem ? { caPem } : {}) }, io);
  } catch (error) {
    const exitCode = exitCodeOf(error);
    const message = failureMessage(error, nodes.join(', '));
    if (io.json) {
      const status = error instanceof RingkvError ? error.status : error instanceof CommandFailure ? error.status : undefined;
      // A refused condition tells a script the version the key holds now, to re-read and decide.
      const current = error instanceof RingkvPreconditionFailedError ? { currentVersion: error.currentVersion, ...(error.deleted ? { deleted: true } : {}) } : {};
      process.stderr.write(`${JSON.stringify({ error: { message, ...(status === undefined ? {} : { status }), ...current }, exitCode })}\n`);
    } else process.stderr.write(`ringkv: ${message}\n`);
    process.exitCode = exitCode;
  }
}

const levelHelp = 'one, quorum (the default), all, or a count of replicas';
const idempotencyKeyHelp =
  'a key you make up for this write (1..255 visible ASCII characters, e.g. a UUID): running the same command again with it answers ' +
  'the first outcome and writes nothing new, so a write whose outcome is unknown (exit 4) can be repeated safely; ' +
  'the same key with another value or flags exits 3. The next --node is asked after no answer in time too. Not with --w';
const ifMatchHelp = "write only if the key's current version is exactly VERSION (as get or put printed it); else exit 3 and print the version it holds";

export function addDataCommands(program: Command): void {
  dataOptions(
    program.command('get').description("print a key's value (JSON) on stdout and its version (and when it expires, if it does) on stderr; exit 1 if absent").argument('<key>'),
    `  ringkv get app/config
  ringkv get app/config --r all --node 10.0.0.1:8000 --node 10.0.0.2:8000
  ringkv get app/config --json | jq .value
  ringkv get counter --r serial                # linearizable with conditional writes`,
  )
    .option('--r <level>', `${levelHelp}; or serial: sees every conditional write answered before it`)
    .action(async (key: string, flags: DataFlags & { r?: string }) => {
      await runDataCommand(flags, (target, io) => getCommand(target, key, flags.r, io));
    });

  dataOptions(
    program
      .command('put')
      .description('store a value: JSON when it parses as JSON, else a string (--string forces a string); prints the version')
      .argument('<key>')
      .argument('[value]', 'the value; `-` reads it from stdin'),
    `  ringkv put app/config '{"retries": 3}'     # stored as JSON
  ringkv put greeting 'hello world'           # not JSON: stored as a string
  ringkv put zip 02134 --string               # "02134", not the number 2134
  ringkv put app/config --file config.json --w all
  some-command | ringkv put report -          # from stdin, taken exactly (a final newline included)
  ringkv put counter 8 --if-match 1718000000000-n1   # only over that version: exit 3 if it changed
  ringkv put lock/job '"worker-2"' --if-none-match   # only if absent or deleted: exit 3 if it exists
  ringkv put session/42 '{"user": 7}' --ttl 3600     # expires in an hour (get prints when)
  ringkv put order/17 '"paid"' --idempotency-key 6f1c0e52-order-17   # safe to repeat after exit 4`,
  )
    .option('--w <level>', `${levelHelp}; not with --if-match, --if-none-match or --idempotency-key`)
    .addOption(new Option('--ttl <seconds>', 'the key expires this many seconds from now (1..630720000); a later put without --ttl makes it permanent again').argParser(integer))
    .option('--idempotency-key <key>', idempotencyKeyHelp)
    .option('--file <file>', 'read the value from this file')
    .option('--string', 'store the text as a string even if it parses as JSON')
    .option('--if-match <version>', ifMatchHelp)
    .option('--if-none-match', 'create the key only if it is absent or deleted; else exit 3 and print the version it holds')
    .action(async (key: string, value: string | undefined, flags: DataFlags & PutFlags & { w?: string; file?: string; string?: boolean }) => {
      await runDataCommand(flags, (target, io) =>
        putCommand(target, key, valueFrom({ argument: value, file: flags.file, forceString: flags.string === true, readStdin: readStdinText }), flags.w, io, {
          ...(flags.ifMatch !== undefined ? { ifMatch: flags.ifMatch } : {}),
          ...(flags.ifNoneMatch === true ? { ifNoneMatch: true } : {}),
          ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}),
          ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
        }),
      );
    });

  dataOptions(
    program.command('delete').alias('del').description('delete a key (writes a tombstone); prints its version').argument('<key>'),
    `  ringkv del app/config
  ringkv delete app/config --w all --json
  ringkv del lock/job --if-match 1718000000000-n1    # only if still at that version: exit 3 if it changed
  ringkv del order/17 --idempotency-key 0b9d-cancel-17   # safe to repeat after exit 4`,
  )
    .option('--w <level>', `${levelHelp}; not with --if-match or --idempotency-key`)
    .option('--if-match <version>', ifMatchHelp.replace('write', 'delete'))
    .option('--idempotency-key <key>', idempotencyKeyHelp.replace('another value or flags', 'other flags'))
    .action(async (key: string, flags: DataFlags & { w?: string; ifMatch?: string; idempotencyKey?: string }) => {
      await runDataCommand(flags, (target, io) =>
        deleteCommand(target, key, flags.w, io, {
          ...(flags.ifMatch !== undefined ? { ifMatch: flags.ifMatch } : {}),
          ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}),
        }),
      );
    });

  dataOptions(
    program
      .command('ls')
      .alias('keys')
      .description(
        'list live keys, one per line. By default the keys ONE node stores (its own replicas: the node asked, GET /keys); ' +
          'with --cluster every live key of the whole cluster, each once, in key order (GET /cluster/keys, page by page)',
      ),
    `  ringkv keys --cluster --prefix users/      # the whole cluster, under users/
  ringkv ls --cluster --json | jq '.keys | length'
  ringkv ls --prefix app/                     # only the keys the asked node holds
  ringkv ls --local --node 10.0.0.2:8000 --json`,
  )
    .option('--prefix <prefix>', 'only keys that start with this', '')
    .addOption(new Option('--cluster', 'list the whole cluster (any --node answers for all; the next is asked if one fails midway)').conflicts('local'))
    .addOption(new Option('--local', "list the asked node's own keys (the default)").conflicts('cluster'))
    .action(async (flags: DataFlags & { prefix: string; cluster?: boolean }) => {
      const scope: ListScope = flags.cluster === true ? 'cluster' : 'node';
      await runDataCommand(flags, (target, io) => listCommand(target, flags.prefix, io, scope));
    });

  dataOptions(
    program.command('status').description('the members, their state (up, suspect, down), ring status and ring share, as a table'),
    `  ringkv status
  ringkv status --json --node 10.0.0.1:8000,10.0.0.2:8000`,
  ).action(async (flags: DataFlags) => {
    await runDataCommand(flags, (target, io) => statusCommand(target, io));
  });
}
