// ringkv's command line: `ringkv node` runs one node, `ringkv cluster` a local cluster;
// `ringkv join`, `ringkv leave`, `ringkv remove <node>` and `ringkv jobs` change the ring of a running
// cluster and watch the data move; `get`, `put`, `del`, `ls` and `status` read and write
// data (cli-data.ts). Every flag has an environment variable twin (shown in --help), and
// `ringkv node --config FILE` reads the same settings from a YAML file. Every command
// ends with one of the exit codes of exit-codes.ts.
import type { PaceUpdate } from '@ringkv/client';
import { Command, CommanderError, Option } from 'commander';
import { addDataCommands, readCa } from './cli-data.js';
import { addBackupCommands } from './cli-backup.js';
import { addWatchCommand } from './cli-watch.js';
import { configProblems, nodeConfigDefaults, type NodeConfig } from './config.js';
import { applyConfigEntries, describeSettings, readConfigFile, sourceOf } from './config-file.js';
import { CommandFailure, exitCodeOf, exitCodes, exitCodesHelp } from './exit-codes.js';
import { runLocalCluster } from './local-cluster.js';
import type { RunningNode } from './node.js';
import { integer, logLevels, nodeOptions, readSwitchEnvironment, sharedOptions, clusterPassThroughExcluded } from './node-options.js';
import { addSecurityCommands } from './security-commands.js';
import { failureMessage, jobControlCommand, jobsCommand, joinCommand, leaveCommand, paceCommand, removeCommand, type ApiTarget } from './ring-commands.js';
import { ringkvVersion } from './version.js';

const program = new Command('ringkv')
  .description('ringkv: a Dynamo-style distributed key-value store')
  .version(ringkvVersion)
  .showHelpAfterError()
  // Options belong to the command they follow: `jobs pause ID --node X` gives X to `pause`.
  .enablePositionalOptions()
  // Usage errors end with exit code 2 like every other bad input (exit-codes.ts), not commander's 1.
  .exitOverride()
  .addHelpText('after', `\n${exitCodesHelp}\n`);

const nodeCommand = program
  .command('node')
  .description('run one node')
  .addHelpText(
    'after',
    `
Settings come from flags, then environment variables, then --config FILE, then defaults.
The file is YAML with the flag names as keys, for example:
  id: n1
  port: 8000
  seeds: [ringkv-1.ringkv-peers:8000, ringkv-2.ringkv-peers:8000]
  write-timeout-ms: 5000
\`ringkv node --config FILE --print-config\` shows the effective settings and where each came from.
Bad settings are refused with exit code 2.`,
  );
for (const option of nodeOptions()) nodeCommand.addOption(option);
nodeCommand.action(async (_flags: unknown, command: Command) => {
  await runNode(command);
});

/** The NodeConfig a node runs with, from the parsed flags (the file's values already applied). */
function nodeConfigOf(flags: Record<string, unknown>): NodeConfig {
  const { config: _config, printConfig: _printConfig, tlsCert, tlsKey, tlsCa, idempotencyRetentionS, ...settings } = flags;
  return {
    ...nodeConfigDefaults,
    ...settings,
    idempotencyRetentionSeconds: idempotencyRetentionS ?? nodeConfigDefaults.idempotencyRetentionSeconds,
    tlsCertFile: tlsCert,
    tlsKeyFile: tlsKey,
    tlsCaFile: tlsCa,
    dataDir: (flags.dataDir as string | undefined) ?? `./data/${String(flags.id)}`,
  } as NodeConfig;
}

/** Each problem with a note on where the flag it names got its value, when not from a default. */
function withSources(problems: string[], command: Command, configPath: string | undefined): string[] {
  return problems.map((problem) => {
    const flag = /--[a-z0-9-]+/.exec(problem)?.[0];
    const option = command.options.find((candidate) => candidate.long === flag);
    if (option === undefined) return problem;
    const source = sourceOf(command, option, configPath);
    return source === 'default' || source.startsWith('flag') ? problem : `${problem} (set by ${source})`;
  });
}

async function runNode(command: Command): Promise<void> {
  const configPath = command.getOptionValue('config') as string | undefined;
  const problems: string[] = [];
  if (configPath !== undefined) {
    try {
      problems.push(...applyConfigEntries(command, readConfigFile(configPath), configPath));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const flags = command.opts();
  const config = nodeConfigOf(flags);
  if (problems.length === 0) {
    if (typeof flags.id !== 'string') problems.push('--id is required: give it as a flag, as RINGKV_ID, or as "id" in the --config file');
    else {
      // node-security.js is loaded here, not at the top: `token` and `certs` should not pay for it.
      const { protectedModeProblems } = await import('./node-security.js');
      problems.push(...withSources([...configProblems(config), ...protectedModeProblems(config)], command, configPath));
    }
  }
  if (flags.printConfig === true) process.stdout.write(describeSettings(command, configPath, { dataDir: config.dataDir }));
  if (problems.length > 0) {
    process.stderr.write(`ringkv node: invalid configuration:\n  ${problems.join('\n  ')}\n`);
    process.exitCode = exitCodes.usage;
    return;
  }
  if (flags.printConfig === true) return;
  await startAndServe(config);
}

async function startAndServe(config: NodeConfig): Promise<void> {
  let running: RunningNode;
  try {
    // Loaded here, not at the top: `token` and `certs` should not pay for Fastify and LMDB.
    const { startNode } = await import('./node.js');
    running = await startNode(config);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use; pick another with --port` : (error as Error).message;
    process.stderr.write(`ringkv node ${config.id}: ${message}\n`);
    process.exit(exitCodes.unavailable);
  }
  const stop = () => {
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // A node that has left the ring (decommissioned) stops by itself.
  running.left.then(stop, () => undefined);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const clusterCommand = program
  .command('cluster')
  .description('run a local cluster of node processes (Ctrl-C stops them all)')
  .addOption(new Option('--nodes <n>', 'how many nodes').env('RINGKV_NODES').default(3).argParser(integer))
  .addOption(new Option('--base-port <port>', 'port of the first node; the others follow').env('RINGKV_BASE_PORT').default(8000).argParser(integer))
  .addOption(new Option('--data-dir <dir>', 'parent folder; each node uses <dir>/<id>').env('RINGKV_DATA_DIR').default('./data'))
  .addOption(new Option('--log-level <level>', 'log level of the nodes').env('RINGKV_LOG_LEVEL').choices(logLevels).default('warn'))
  .addOption(new Option('--secure', 'TLS with a generated CA (<data-dir>/certs) and API tokens (<data-dir>/auth.json, admin token printed)').env('RINGKV_SECURE').default(false))
  .addOption(
    new Option('--cluster-secret-file <file>', 'cluster secret file the nodes share (default <data-dir>/cluster-secret, generated)').env('RINGKV_CLUSTER_SECRET_FILE'),
  );
const clusterShared = sharedOptions();
for (const option of clusterShared) clusterCommand.addOption(option);
clusterCommand.action(async (flags: Record<string, unknown>) => {
  const nodes = flags.nodes as number;
  if (nodes < 1 || nodes > 64) {
    process.stderr.write('ringkv cluster: --nodes must be 1..64\n');
    process.exitCode = exitCodes.usage;
    return;
  }
  // Every shared setting reaches each node as the same flag.
  const passThrough: string[] = [];
  for (const option of clusterShared) {
    const name = option.attributeName();
    if (!clusterPassThroughExcluded.has(name)) passThrough.push(option.long as string, String(flags[name]));
  }
  if (flags.durable === true) passThrough.push('--durable');
  if (flags.insecure === true) passThrough.push('--insecure');
  if ((flags.corsOrigins as string[]).length > 0) passThrough.push('--cors-origins', (flags.corsOrigins as string[]).join(','));
  await runLocalCluster({
    nodes,
    basePort: flags.basePort as number,
    host: flags.host as string,
    replicas: flags.replicas as number,
    vnodes: flags.vnodes as number,
    storage: flags.storage as 'lmdb' | 'memory',
    dataDir: flags.dataDir as string,
    logLevel: flags.logLevel as string,
    nodeArgs: passThrough,
    secure: flags.secure === true,
    ...(typeof flags.clusterSecretFile === 'string' ? { clusterSecretFile: flags.clusterSecretFile } : {}),
  });
});

/** Which node to ask, and how long to watch. */
function ringOptions(command: Command): Command {
  return command
    .addOption(new Option('--node <host:port>', 'the node to ask (host:port or a URL)').env('RINGKV_NODE').default('127.0.0.1:8000'))
    .addOption(new Option('--token <token>', 'API token (`ringkv token create`)').env('RINGKV_TOKEN'))
    .addOption(new Option('--ca <file>', "CA certificate (PEM) the nodes' certificates are signed by; implies https").env('RINGKV_CA'))
    .addOption(new Option('--timeout-s <s>', 'stop watching after this long (the change goes on; exit code 4)').default(3600).argParser(integer))
    .addHelpText('after', `\n${exitCodesHelp}\n`);
}

interface TargetFlags {
  node: string;
  token?: string;
  ca?: string;
}

/** Runs a ring command against the one node named, ending with the code of exit-codes.ts. */
async function runRingCommand(flags: TargetFlags, work: (target: ApiTarget) => Promise<number>): Promise<void> {
  try {
    if (flags.node.includes(',')) throw new CommandFailure(exitCodes.usage, `--node names one node for this command, not "${flags.node}"`);
    const caPem = flags.ca === undefined ? undefined : readCa(flags.ca);
    process.exitCode = await work({ node: flags.node, ...(flags.token ? { token: flags.token } : {}), ...(caPem ? { caPem } : {}) });
  } catch (error) {
    process.stderr.write(`ringkv: ${failureMessage(error, flags.node)}\n`);
    process.exitCode = exitCodeOf(error);
  }
}

ringOptions(
  program
    .command('join')
    .description('move a node started with --standby into the ring: its ranges stream to it, then it is normal (watches progress)')
    .option('--member <node-id>', 'the member to move in, asked through the node --node names (default: that node itself)')
    .option('--no-wait', 'return once the join has started'),
).action(async (flags: TargetFlags & { wait: boolean; timeoutS: number; member?: string }) => {
  await runRingCommand(flags, (target) => joinCommand(target, flags.wait, { timeoutMs: flags.timeoutS * 1000, out: process.stdout }, flags.member));
});

ringOptions(
  program
    .command('leave')
    .description('decommission a node: its ranges stream to their new owners, then it stops (watches progress)')
    .option('--member <node-id>', 'the member to decommission, asked through the node --node names (default: that node itself)')
    .option('--no-wait', 'return once the leave has started'),
).action(async (flags: TargetFlags & { wait: boolean; timeoutS: number; member?: string }) => {
  await runRingCommand(flags, (target) => leaveCommand(target, flags.wait, { timeoutMs: flags.timeoutS * 1000, out: process.stdout }, flags.member));
});

ringOptions(
  program
    .command('remove')
    .description('take out a dead node for good: the survivors re-replicate its ranges (watches progress)')
    .argument('<node-id>', 'id of the dead member')
    .option('--no-wait', 'return once the removal has started'),
).action(async (nodeId: string, flags: TargetFlags & { wait: boolean; timeoutS: number }) => {
  await runRingCommand(flags, (target) => removeCommand(target, nodeId, flags.wait, { timeoutMs: flags.timeoutS * 1000, out: process.stdout }));
});

const jobs = ringOptions(program.command('jobs').description("list every member's data-movement jobs").option('--watch', 'draw a progress bar until the ring is stable')).enablePositionalOptions();
jobs.action(async (flags: TargetFlags & { watch?: boolean; timeoutS: number }) => {
  await runRingCommand(flags, (target) => jobsCommand(target, flags.watch === true, { timeoutMs: flags.timeoutS * 1000, out: process.stdout }));
});
for (const action of ['pause', 'resume'] as const) {
  ringOptions(jobs.command(action).description(`${action} a transfer job (on the node that runs it)`).argument('<job-id>', 'as listed by `ringkv jobs`')).action(
    async (id: string, flags: TargetFlags) => {
      await runRingCommand(flags, (target) => jobControlCommand(target, id, action, process.stdout));
    },
  );
}

ringOptions(
  jobs
    .command('pace')
    .description(
      'cap the megabytes per second a node receives in transfers (join, leave, removal; 0 lifts the cap), set the smallest share of time its background jobs keep under client load, or both; lasts until the node restarts',
    )
    .argument('[mb-per-s]', 'the cap, 0 for none; unchanged when absent')
    .option('--background-share-min <share>', 'the floor, 0.01 to 1: higher ends a ring change sooner, clients wait longer meanwhile')
    .option('--member <node-id>', 'the member whose pace to set (default: the node --node names)'),
).action(async (cap: string | undefined, flags: TargetFlags & { member?: string; backgroundShareMin?: string }) => {
  const update: PaceUpdate = {};
  if (cap !== undefined) update.transferMbPerSecond = Number(cap);
  if (flags.backgroundShareMin !== undefined) update.backgroundShareMin = Number(flags.backgroundShareMin);
  await runRingCommand(flags, (target) => paceCommand(target, update, flags.member, process.stdout));
});

addDataCommands(program);
addBackupCommands(program);
addWatchCommand(program);
addSecurityCommands(program);
const switchProblems = readSwitchEnvironment(process.env, nodeOptions());
if (switchProblems.length > 0) {
  process.stderr.write(`ringkv: ${switchProblems.join('\nringkv: ')}\n`);
  process.exitCode = exitCodes.usage;
} else {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    // Commander has printed its message; --help and --version end with 0, usage errors with 2.
    if (!(error instanceof CommanderError)) throw error;
    process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  }
}
