// The `ringkv backup`, `restore`, `export` and `import` commands: their flags, help with
// examples, and the exit code each outcome ends with. What they do is in backup/.
import { Option, type Command } from 'commander';
import { readCa } from './cli-data.js';
import { CommandFailure, exitCodeOf, exitCodes, exitCodesHelp } from './exit-codes.js';
import { failureMessage, type ApiTarget } from './ring-commands.js';
import { backupCommand, restoreCommand, type CommandOutput } from './backup/backup-commands.js';
import { exportCommand, importCommand } from './backup/ndjson-commands.js';

interface TransferFlags {
  node: string;
  token?: string;
  ca?: string;
  tlsCa?: string;
}

function transferOptions(command: Command, examples: string): Command {
  return command
    .addOption(new Option('--node <host:port>', 'the node to ask (host:port or a URL)').env('RINGKV_NODE').default('127.0.0.1:8000'))
    .addOption(new Option('--token <token>', 'API token (`ringkv token create`); backup and restore need role admin').env('RINGKV_TOKEN'))
    .addOption(new Option('--tls-ca <file>', "CA certificate (PEM) the nodes' certificates are signed by; implies https").env('RINGKV_CA'))
    .addOption(new Option('--ca <file>', 'same as --tls-ca').hideHelp())
    .addHelpText('after', `\nExamples:\n${examples}\n\n${exitCodesHelp}\n`);
}

/** Runs one command against the node named, printing a failure and ending with its exit code. */
async function runTransfer(flags: TransferFlags, work: (target: ApiTarget, io: CommandOutput) => Promise<number>): Promise<void> {
  const io: CommandOutput = { out: process.stdout, err: process.stderr };
  try {
    if (flags.node.includes(',')) throw new CommandFailure(exitCodes.usage, `--node names one node for this command, not "${flags.node}"`);
    const caFile = flags.tlsCa ?? flags.ca;
    const caPem = caFile === undefined ? undefined : readCa(caFile);
    process.exitCode = await work({ node: flags.node, timeoutMs: 60_000, ...(flags.token ? { token: flags.token } : {}), ...(caPem ? { caPem } : {}) }, io);
  } catch (error) {
    process.stderr.write(`ringkv: ${failureMessage(error, flags.node)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}

export function addBackupCommands(program: Command): void {
  transferOptions(
    program
      .command('backup')
      .description("write every key's newest version (tombstones and TTLs too) of the whole cluster to a backup file, with a checksum")
      .requiredOption('--out <file>', 'the backup file to write (written as <file>.partial, renamed when complete)'),
    `  ringkv backup --node 10.0.0.1:8000 --out ringkv-2026-11-29.backup
  Every write acknowledged before the backup began is in the file (the cut, printed at the end);
  writes made while it runs may be in it too, each with its own version.`,
  ).action(async (flags: TransferFlags & { out: string }) => {
    await runTransfer(flags, (target, io) => backupCommand(target, flags.out, io));
  });

  transferOptions(
    program
      .command('restore')
      .description('check a backup file whole (checksum, count, every record), then write its records to the cluster, keeping their versions')
      .argument('<file>', 'a file written by `ringkv backup`'),
    `  ringkv restore --node 10.0.0.1:8000 ringkv-2026-11-29.backup
  Each key keeps the larger version: restoring twice changes nothing and newer data stays. Into a live
  cluster a restore merges by version, so a key deleted after the backup whose tombstone has since been
  purged comes back. A truncated or altered file is refused (exit 2) with nothing written.`,
  ).action(async (file: string, flags: TransferFlags) => {
    await runTransfer(flags, (target, io) => restoreCommand(target, file, io));
  });

  transferOptions(
    program
      .command('export')
      .description('write every live key and its value as NDJSON ({"key","value"} per line), without versions')
      .option('--out <file>', 'write here instead of stdout')
      .option('--prefix <prefix>', 'only keys starting with this', ''),
    `  ringkv export --node 10.0.0.1:8000 --out data.ndjson
  ringkv export --prefix users/ | jq -c .value`,
  ).action(async (flags: TransferFlags & { out?: string; prefix: string }) => {
    await runTransfer(flags, (target, io) => exportCommand(target, flags.out, flags.prefix, io));
  });

  transferOptions(
    program
      .command('import')
      .description('store each {"key","value"} line of an NDJSON file (- for stdin); bad lines are reported by number and skipped')
      .argument('<file>', 'NDJSON file, or - for stdin'),
    `  ringkv import --node 10.0.0.1:8000 data.ndjson
  Each key gets a new version (as a put does). Exit 2 when some lines were bad (the others are stored).`,
  ).action(async (file: string, flags: TransferFlags) => {
    await runTransfer(flags, (target, io) => importCommand(target, file, io));
  });
}
