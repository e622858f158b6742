#!/usr/bin/env node
// ringkv's command line: `ringkv node` runs one node, `ringkv cluster` a local cluster;
// `ringkv leave`, `ringkv remove <node>` and `ringkv jobs` change the ring of a running
// cluster and watch the data move. Every flag has an environment variable twin (shown in --help).
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { nodeConfigDefaults, type NodeConfig } from './config.js';
import { deleteCommand, getCommand, keysCommand, putCommand } from './data-commands.js';
import { runLocalCluster } from './local-cluster.js';
import type { RunningNode } from './node.js';
import { addSecurityCommands } from './security-commands.js';
import { failureMessage, jobControlCommand, jobsCommand, leaveCommand, removeCommand, type ApiTarget } from './ring-commands.js';
import { ringkvVersion } from './version.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('expected a whole number');
  return parsed;
}

function fraction(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return parsed;
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

const defaults = nodeConfigDefaults;

/** Flags shared by `node` and `cluster`. */
function sharedOptions(): Option[] {
  return [
    new Option('--host <host>', 'address to bind and advertise to peers').env('RINGKV_HOST').default(defaults.host),
    new Option('--replicas <n>', 'replicas per key (N)').env('RINGKV_REPLICAS').default(defaults.replicas).argParser(integer),
    new Option('--vnodes <n>', 'virtual nodes per member on the ring').env('RINGKV_VNODES').default(defaults.vnodes).argParser(integer),
    new Option('--storage <engine>', 'storage engine').env('RINGKV_STORAGE').choices(['lmdb', 'memory']).default(defaults.storage),
    new Option('--cluster-name <name>', 'cluster name; peers with another name are refused').env('RINGKV_CLUSTER_NAME').default(defaults.clusterName),
    new Option('--cors-origins <origin,...>', 'browser origins (scheme://host:port) allowed to call the API besides the node itself')
      .env('RINGKV_CORS_ORIGINS')
      .default([])
      .argParser(list),
    new Option('--insecure', 'serve off loopback without authentication (overrides protected mode; warned everywhere)').env('RINGKV_INSECURE').default(false),
    new Option('--max-value-bytes <n>', 'largest request body (value) accepted').env('RINGKV_MAX_VALUE_BYTES').default(defaults.maxValueBytes).argParser(integer),
    new Option('--write-timeout-ms <ms>', 'how long a replica may take to ack a write').env('RINGKV_WRITE_TIMEOUT_MS').default(defaults.writeTimeoutMs).argParser(integer),
    new Option('--read-timeout-ms <ms>', 'how long a replica may take to answer a read').env('RINGKV_READ_TIMEOUT_MS').default(defaults.readTimeoutMs).argParser(integer),
    new Option('--probe-interval-ms <ms>', 'how often members are probed').env('RINGKV_PROBE_INTERVAL_MS').default(defaults.probeIntervalMs).argParser(integer),
    new Option('--suspicion-timeout-ms <ms>', 'how long a member stays suspect before it is declared down').env('RINGKV_SUSPICION_TIMEOUT_MS').default(defaults.suspicionTimeoutMs).argParser(integer),
    new Option('--read-repair-chance <p>', 'chance a read also checks and repairs the replicas it did not need').env('RINGKV_READ_REPAIR_CHANCE').default(defaults.readRepairChance).argParser(fraction),
    new Option('--speculative-retry-percentile <p>', 'a read asks one more replica once those asked are slower than this percentile of recent answers (0 = off)')
      .env('RINGKV_SPECULATIVE_RETRY_PERCENTILE')
      .default(defaults.speculativeRetryPercentile)
      .argParser((value) => Number(value)),
    new Option('--speculative-retry-floor-ms <ms>', 'shortest wait before a read asks one more replica').env('RINGKV_SPECULATIVE_RETRY_FLOOR_MS').default(defaults.speculativeRetryFloorMs).argParser(integer),
    new Option('--speculative-retry-max-ms <ms>', 'longest wait before a read asks one more replica (at most half of --read-timeout-ms)')
      .env('RINGKV_SPECULATIVE_RETRY_MAX_MS')
      .default(defaults.speculativeRetryMaxMs)
      .argParser(integer),
    new Option('--anti-entropy-interval-ms <ms>', 'pause between anti-entropy rounds (0 turns it off)').env('RINGKV_ANTI_ENTROPY_INTERVAL_MS').default(defaults.antiEntropyIntervalMs).argParser(integer),
    new Option('--hints-per-target-max <n>', 'hints kept for one down replica (beyond: anti-entropy repairs)').env('RINGKV_HINTS_PER_TARGET_MAX').default(defaults.hintsPerTargetMax).argParser(integer),
    new Option('--hints-total-max <n>', 'hints kept in total').env('RINGKV_HINTS_TOTAL_MAX').default(defaults.hintsTotalMax).argParser(integer),
    new Option('--ring-settle-ms <ms>', 'how long a ring change (join, leave, remove) takes to reach every node').env('RINGKV_RING_SETTLE_MS').default(defaults.ringSettleMs).argParser(integer),
    new Option('--tombstone-purge-margin-ms <ms>', 'time between the cluster repair horizon and the tombstone purge cutoff (in-flight messages, clock skew)')
      .env('RINGKV_TOMBSTONE_PURGE_MARGIN_MS')
      .default(defaults.tombstonePurgeMarginMs)
      .argParser(integer),
    new Option('--durable', 'flush every write batch to disk before acknowledging (LMDB)').env('RINGKV_DURABLE').default(defaults.durable),
    new Option('--lmdb-map-bytes <n>', "LMDB's initial map (address space); it doubles before a write would pass its end").env('RINGKV_LMDB_MAP_BYTES').default(defaults.lmdbMapBytes).argParser(integer),
    new Option('--storage-reserve-bytes <n>', 'space kept allocated ahead of the data, so a full disk refuses writes (507) instead of failing a commit')
      .env('RINGKV_STORAGE_RESERVE_BYTES')
      .default(defaults.storageReserveBytes)
      .argParser(integer),
    new Option('--disk-warn-percent <p>', "warn in /node-info when the data directory's filesystem is this full").env('RINGKV_DISK_WARN_PERCENT').default(defaults.diskWarnPercent).argParser((value) => Number(value)),
    new Option('--inflight-requests-max <n>', 'client requests served at once (more: 503 with Retry-After, nothing written)')
      .env('RINGKV_INFLIGHT_REQUESTS_MAX')
      .default(defaults.inflightRequestsMax)
      .argParser(integer),
    new Option('--inflight-body-bytes-max <n>', 'bytes of request bodies held at once, by Content-Length (more: 503 with Retry-After, nothing written)')
      .env('RINGKV_INFLIGHT_BODY_BYTES_MAX')
      .default(defaults.inflightBodyBytesMax)
      .argParser(integer),
    ...httpLimitOptions(),
  ];
}

// --- HTTP edge limits (docs/security.md, "Limits before authentication"); defaults in packages/core/src/limits.ts ---
const httpLimitFlagNames: Array<[string, string]> = [
  ['jsonDepthMax', '--json-depth-max'],
  ['httpRequestTimeoutMs', '--http-request-timeout-ms'],
  ['httpHeadersTimeoutMs', '--http-headers-timeout-ms'],
  ['httpKeepAliveTimeoutMs', '--http-keep-alive-timeout-ms'],
  ['httpConnectionsMax', '--http-connections-max'],
  ['httpHeaderBytesMax', '--http-header-bytes-max'],
  ['rateLimitPerMinute', '--rate-limit-per-minute'],
];

function httpLimitOptions(): Option[] {
  const option = (flag: string, env: string, help: string, value: number) => new Option(flag, help).env(env).default(value).argParser(integer);
  return [
    option('--json-depth-max <n>', 'RINGKV_JSON_DEPTH_MAX', 'deepest nesting of a request body\'s JSON (deeper: 400)', defaults.jsonDepthMax),
    option('--http-request-timeout-ms <ms>', 'RINGKV_HTTP_REQUEST_TIMEOUT_MS', 'time to receive a whole request, body included (slower: 408)', defaults.httpRequestTimeoutMs),
    option('--http-headers-timeout-ms <ms>', 'RINGKV_HTTP_HEADERS_TIMEOUT_MS', 'time to receive a request\'s headers (slower: 408)', defaults.httpHeadersTimeoutMs),
    option('--http-keep-alive-timeout-ms <ms>', 'RINGKV_HTTP_KEEP_ALIVE_TIMEOUT_MS', 'idle time a keep-alive connection may wait for its next request', defaults.httpKeepAliveTimeoutMs),
    option('--http-connections-max <n>', 'RINGKV_HTTP_CONNECTIONS_MAX', 'open connections on the API port, peers included (more are closed at once)', defaults.httpConnectionsMax),
    option('--http-header-bytes-max <n>', 'RINGKV_HTTP_HEADER_BYTES_MAX', 'bytes of a request line and headers (more: 431)', defaults.httpHeaderBytesMax),
    option('--rate-limit-per-minute <n>', 'RINGKV_RATE_LIMIT_PER_MINUTE', 'requests a minute per token, or per client address without one (429 beyond; 0 = off)', defaults.rateLimitPerMinute),
  ];
}
// --- end of HTTP edge limits ---

const program = new Command('ringkv')
  .description('ringkv: a Dynamo-style distributed key-value store')
  .version(ringkvVersion)
  .showHelpAfterError();

const nodeCommand = program
  .command('node')
  .description('run one node')
  .addOption(new Option('--id <id>', 'this node\'s unique id').env('RINGKV_ID').makeOptionMandatory())
  .addOption(new Option('--port <port>', 'HTTP port; peers connect to it too').env('RINGKV_PORT').default(defaults.port).argParser(integer))
  .addOption(new Option('--seeds <host:port,...>', 'other members to contact at start').env('RINGKV_SEEDS').default([]).argParser(list))
  .addOption(new Option('--data-dir <dir>', 'where data and membership are kept (default ./data/<id>)').env('RINGKV_DATA_DIR'))
  .addOption(new Option('--log-level <level>', 'log level').env('RINGKV_LOG_LEVEL').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'))
  .addOption(
    new Option('--cluster-secret-file <file>', 'file holding the cluster secret peers prove they know (two lines while rotating: new, then old); default <data-dir>/cluster-secret, generated')
      .env('RINGKV_CLUSTER_SECRET_FILE'),
  )
  .addOption(new Option('--tls-cert <file>', "this node's certificate (PEM): the API and peer links use TLS").env('RINGKV_TLS_CERT'))
  .addOption(new Option('--tls-key <file>', 'the private key of --tls-cert (PEM)').env('RINGKV_TLS_KEY'))
  .addOption(new Option('--tls-ca <file>', 'CA certificate (PEM): peers must present a certificate from it naming their node id (mutual TLS)').env('RINGKV_TLS_CA'))
  .addOption(new Option('--auth-file <file>', 'API token file (`ringkv token create`): every route but /health and static assets needs a token').env('RINGKV_AUTH_FILE'));
for (const option of sharedOptions()) nodeCommand.addOption(option);
nodeCommand.action(async (flags: Record<string, unknown>) => {
  const config = {
    ...defaults,
    ...flags,
    tlsCertFile: flags.tlsCert,
    tlsKeyFile: flags.tlsKey,
    tlsCaFile: flags.tlsCa,
    dataDir: (flags.dataDir as string | undefined) ?? `./data/${String(flags.id)}`,
  } as NodeConfig;
  let running: RunningNode;
  try {
    // Loaded here, not at the top: `token` and `certs` should not pay for Fastify and LMDB.
    const { startNode } = await import('./node.js');
    running = await startNode(config);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use; pick another with --port` : (error as Error).message;
    process.stderr.write(`ringkv node ${config.id}: ${message}\n`);
    process.exit(1);
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
});

const clusterCommand = program
  .command('cluster')
  .description('run a local cluster of node processes (Ctrl-C stops them all)')
  .addOption(new Option('--nodes <n>', 'how many nodes').env('RINGKV_NODES').default(3).argParser(integer))
  .addOption(new Option('--base-port <port>', 'port of the first node; the others follow').env('RINGKV_BASE_PORT').default(8000).argParser(integer))
  .addOption(new Option('--data-dir <dir>', 'parent folder; each node uses <dir>/<id>').env('RINGKV_DATA_DIR').default('./data'))
  .addOption(new Option('--log-level <level>', 'log level of the nodes').env('RINGKV_LOG_LEVEL').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('warn'))
  .addOption(new Option('--secure', 'TLS with a generated CA (<data-dir>/certs) and API tokens (<data-dir>/auth.json, admin token printed)').env('RINGKV_SECURE').default(false))
  .addOption(
    new Option('--cluster-secret-file <file>', 'cluster secret file the nodes share (default <data-dir>/cluster-secret, generated)').env('RINGKV_CLUSTER_SECRET_FILE'),
  );
for (const option of sharedOptions()) clusterCommand.addOption(option);
clusterCommand.action(async (flags: Record<string, unknown>) => {
  const nodes = flags.nodes as number;
  if (nodes < 1 || nodes > 64) {
    process.stderr.write('--nodes must be 1..64\n');
    process.exit(1);
  }
  const passThrough: string[] = [];
  const flagNames: Array<[string, string]> = [
    ['clusterName', '--cluster-name'],
    ['maxValueBytes', '--max-value-bytes'],
    ['writeTimeoutMs', '--write-timeout-ms'],
    ['readTimeoutMs', '--read-timeout-ms'],
    ['probeIntervalMs', '--probe-interval-ms'],
    ['suspicionTimeoutMs', '--suspicion-timeout-ms'],
    ['readRepairChance', '--read-repair-chance'],
    ['speculativeRetryPercentile', '--speculative-retry-percentile'],
    ['speculativeRetryFloorMs', '--speculative-retry-floor-ms'],
    ['speculativeRetryMaxMs', '--speculative-retry-max-ms'],
    ['antiEntropyIntervalMs', '--anti-entropy-interval-ms'],
    ['hintsPerTargetMax', '--hints-per-target-max'],
    ['hintsTotalMax', '--hints-total-max'],
    ['ringSettleMs', '--ring-settle-ms'],
    ['tombstonePurgeMarginMs', '--tombstone-purge-margin-ms'],
    ['inflightRequestsMax', '--inflight-requests-max'],
    ['inflightBodyBytesMax', '--inflight-body-bytes-max'],
    ['lmdbMapBytes', '--lmdb-map-bytes'],
    ['storageReserveBytes', '--storage-reserve-bytes'],
    ['diskWarnPercent', '--disk-warn-percent'],
    ...httpLimitFlagNames,
  ];
  for (const [name, flag] of flagNames) passThrough.push(flag, String(flags[name]));
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
    .addOption(new Option('--timeout-s <s>', 'stop watching after this long (the change goes on)').default(3600).argParser(integer));
}

interface TargetFlags {
  node: string;
  token?: string;
  ca?: string;
}

async function runRingCommand(flags: TargetFlags, work: (target: ApiTarget) => Promise<number>): Promise<void> {
  try {
    const caPem = flags.ca === undefined ? undefined : readFileSync(flags.ca, 'utf8');
    process.exitCode = await work({ node: flags.node, ...(flags.token ? { token: flags.token } : {}), ...(caPem ? { caPem } : {}) });
  } catch (error) {
    process.stderr.write(`ringkv: ${failureMessage(error, flags.node)}\n`);
    process.exitCode = 1;
  }
}

ringOptions(
  program
    .command('leave')
    .description('decommission a node: its ranges stream to their new owners, then it stops (watches progress)')
    .option('--no-wait', 'return once the leave has started'),
).action(async (flags: TargetFlags & { wait: boolean; timeoutS: number }) => {
  await runRingCommand(flags, (target) => leaveCommand(target, flags.wait, { timeoutMs: flags.timeoutS * 1000, out: process.stdout }));
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

const jobs = ringOptions(program.command('jobs').description("list every member's data-movement jobs").option('--watch', 'draw a progress bar until the ring is stable'));
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

const dataIo = { out: process.stdout, err: process.stderr };
ringOptions(program.command('get').description('print a key\'s value (JSON) on stdout, its version on stderr; exit 1 if absent').argument('<key>'))
  .option('--r <level>', 'one, quorum (the default), all, or a count of replicas')
  .action(async (key: string, flags: TargetFlags & { r?: string }) => {
    await runRingCommand(flags, (target) => getCommand(target, key, flags.r, dataIo));
  });
ringOptions(program.command('put').description('store a value (JSON; text that is not JSON is stored as a string); prints the version').argument('<key>').argument('<value>'))
  .option('--w <level>', 'one, quorum (the default), all, or a count of replicas')
  .action(async (key: string, value: string, flags: TargetFlags & { w?: string }) => {
    await runRingCommand(flags, (target) => putCommand(target, key, value, flags.w, dataIo));
  });
ringOptions(program.command('delete').description('delete a key (a tombstone); prints its version').argument('<key>'))
  .option('--w <level>', 'one, quorum (the default), all, or a count of replicas')
  .action(async (key: string, flags: TargetFlags & { w?: string }) => {
    await runRingCommand(flags, (target) => deleteCommand(target, key, flags.w, dataIo));
  });
ringOptions(program.command('keys').description('list the live keys the node stores (its own replicas), one per line'))
  .option('--prefix <prefix>', 'only keys that start with this', '')
  .action(async (flags: TargetFlags & { prefix: string }) => {
    await runRingCommand(flags, (target) => keysCommand(target, flags.prefix, dataIo));
  });

addSecurityCommands(program);
await program.parseAsync(process.argv);
