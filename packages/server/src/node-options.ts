// The flags of `ringkv node` and `ringkv cluster`, each with its environment variable twin
// and default. They are the one definition of a node's settings as a user types them: the
// CLI parses them, a config file (config-file.ts) uses their names as keys, and
// docs/configuration.md is generated from them (configuration-doc.ts), so none can drift.
import { InvalidArgumentError, Option } from 'commander';
import { nodeConfigDefaults as defaults } from './config.js';

export function integer(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isInteger(parsed)) throw new InvalidArgumentError('expected a whole number');
  return parsed;
}

function fraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return parsed;
}

function decimal(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new InvalidArgumentError('expected a number');
  return parsed;
}

export function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'silent'];

/** Flags only `ringkv node` takes (its identity, address, files and the config file itself). */
export function nodeOnlyOptions(): Option[] {
  return [
    new Option('--config <file>', 'read settings from this YAML file (keys are the flag names); flags and environment variables override it').env('RINGKV_CONFIG'),
    new Option('--print-config', 'print the effective settings and where each came from (flag, env, file, default), then exit'),
    new Option('--id <id>', "this node's unique id (required)").env('RINGKV_ID'),
    new Option('--port <port>', 'HTTP port; peers connect to it too').env('RINGKV_PORT').default(defaults.port).argParser(integer),
    new Option('--advertise <host>', 'host peers and dashboard links use to reach this node (default: --host; required when --host is 0.0.0.0 or ::)').env('RINGKV_ADVERTISE'),
    new Option('--seeds <host:port,...>', 'other members to contact at start; host names are resolved (all addresses)').env('RINGKV_SEEDS').default([]).argParser(list),
    new Option('--seed-resolve-timeout-ms <ms>', 'how long seed host names that do not resolve yet are retried at start; then they are used as given')
      .env('RINGKV_SEED_RESOLVE_TIMEOUT_MS')
      .default(defaults.seedResolveTimeoutMs)
      .argParser(integer),
    new Option('--standby', 'start a new member outside the ring: it coordinates client requests but holds no data until `ringkv join` (POST /cluster/join); a node that was already a member ignores it')
      .env('RINGKV_STANDBY')
      .default(defaults.standby),
    new Option('--data-dir <dir>', 'where data and membership are kept (default ./data/<id>)').env('RINGKV_DATA_DIR'),
    new Option('--log-level <level>', 'log level').env('RINGKV_LOG_LEVEL').choices(logLevels).default('info'),
    new Option('--cluster-secret-file <file>', 'file holding the cluster secret peers prove they know (two lines while rotating: new, then old); default <data-dir>/cluster-secret, generated').env(
      'RINGKV_CLUSTER_SECRET_FILE',
    ),
    new Option('--tls-cert <file>', "this node's certificate (PEM): the API and peer links use TLS").env('RINGKV_TLS_CERT'),
    new Option('--tls-key <file>', 'the private key of --tls-cert (PEM)').env('RINGKV_TLS_KEY'),
    new Option('--tls-ca <file>', 'CA certificate (PEM): peers must present a certificate from it naming their node id (mutual TLS)').env('RINGKV_TLS_CA'),
    new Option('--auth-file <file>', 'API token file (`ringkv token create`): every route but /health and static assets needs a token').env('RINGKV_AUTH_FILE'),
  ];
}

/** Every flag of `ringkv node`. */
export function nodeOptions(): Option[] {
  return [...nodeOnlyOptions(), ...sharedOptions()];
}

/** Flags shared by `node` and `cluster`. */
export function sharedOptions(): Option[] {
  return [
    new Option('--host <host>', 'address to bind (peers reach the node at --advertise, which defaults to this)').env('RINGKV_HOST').default(defaults.host),
    new Option('--replicas <n>', 'replicas per key (N)').env('RINGKV_REPLICAS').default(defaults.replicas).argParser(integer),
    new Option('--vnodes <n>', 'virtual nodes per member on the ring').env('RINGKV_VNODES').default(defaults.vnodes).argParser(integer),
    new Option('--storage <engine>', 'storage engine').env('RINGKV_STORAGE').choices(['lmdb', 'memory']).default(defaults.storage),
    new Option('--cluster-name <name>', 'cluster name; peers with another name are refused').env('RINGKV_CLUSTER_NAME').default(defaults.clusterName),
    new Option('--cors-origins <origin,...>', 'browser origins (scheme://host:port) allowed to call the API besides the node itself').env('RINGKV_CORS_ORIGINS').default([]).argParser(list),
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
      .argParser(decimal),
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
    new Option('--idempotency-retention-s <s>', 'how long the replicas of a key remember a write sent with an Idempotency-Key, so that a retry answers its outcome')
      .env('RINGKV_IDEMPOTENCY_RETENTION_S')
      .default(defaults.idempotencyRetentionSeconds)
      .argParser(integer),
    new Option('--watch-close-ms <ms>', 'how far behind its clock a replica closes time for watches (older writes are re-stamped); watch events arrive about this late')
      .env('RINGKV_WATCH_CLOSE_MS')
      .default(defaults.watchCloseMs)
      .argParser(integer),
    new Option('--watch-retention-s <s>', 'how long the change log behind GET /watch is kept; a cursor older than that is answered 410').env('RINGKV_WATCH_RETENTION_S').default(defaults.watchRetentionS).argParser(integer),
    new Option('--watch-retention-mb <mb>', 'megabytes of change log kept at most (the oldest entries go first)').env('RINGKV_WATCH_RETENTION_MB').default(defaults.watchRetentionMb).argParser(integer),
    new Option('--watch-max <n>', 'watches (GET /watch) this node serves at once; one more is 503 (0 turns watches off)').env('RINGKV_WATCH_MAX').default(defaults.watchMax).argParser(integer),
    new Option('--transfer-mb-per-s <mb>', 'cap on the megabytes per second this node receives in transfers (join, leave, removal); 0 for no cap; change it at run time with PUT /jobs/pace')
      .env('RINGKV_TRANSFER_MB_PER_S')
      .default(defaults.transferMbPerS)
      .argParser(decimal),
    new Option(
      '--background-share-min <share>',
      'the smallest share of time background jobs (transfers, cleanups, repair) keep however busy the clients are, 0.01..1: higher ends a ring change sooner, clients wait longer meanwhile; change it at run time with PUT /jobs/pace',
    )
      .env('RINGKV_BACKGROUND_SHARE_MIN')
      .default(defaults.backgroundShareMin)
      .argParser(decimal),
    new Option('--watch-unsent-mb <mb>', 'megabytes of events a watcher may leave unread before it is cut off with event: error (it resumes from its last id)')
      .env('RINGKV_WATCH_UNSENT_MB')
      .default(defaults.watchUnsentMb)
      .argParser(integer),
    new Option('--durable', 'flush every write batch to disk before acknowledging (LMDB)').env('RINGKV_DURABLE').default(defaults.durable),
    new Option('--lmdb-map-bytes <n>', "LMDB's initial map (address space); it doubles before a write would pass its end").env('RINGKV_LMDB_MAP_BYTES').default(defaults.lmdbMapBytes).argParser(integer),
    new Option('--storage-reserve-bytes <n>', 'space kept allocated ahead of the data, so a full disk refuses writes (507) instead of failing a commit')
      .env('RINGKV_STORAGE_RESERVE_BYTES')
      .default(defaults.storageReserveBytes)
      .argParser(integer),
    new Option('--disk-warn-percent <p>', "warn in /node-info when the data directory's filesystem is this full").env('RINGKV_DISK_WARN_PERCENT').default(defaults.diskWarnPercent).argParser(decimal),
    new Option('--inflight-requests-max <n>', 'client requests served at once (more: 503 with Retry-After, nothing written)')
      .env('RINGKV_INFLIGHT_REQUESTS_MAX')
      .default(defaults.inflightRequestsMax)
      .argParser(integer),
    new Option('--inflight-body-bytes-max <n>', 'bytes of request bodies held at once, by Content-Length (more: 503 with Retry-After, nothing written)')
      .env('RINGKV_INFLIGHT_BODY_BYTES_MAX')
      .default(defaults.inflightBodyBytesMax)
      .argParser(integer),
    new Option('--shed-busy-share <share>', 'while the event loop was busier than this share of the last 250 ms and other requests came, take request bodies of 64 KiB or more one at a time (others: 503 with Retry-After); 1 turns it off')
      .env('RINGKV_SHED_BUSY_SHARE')
      .default(defaults.shedBusyShare)
      .argParser(decimal),
    ...httpLimitOptions(),
  ];
}

// --- HTTP edge limits (docs/security.md, "Limits before authentication"); defaults in packages/core/src/limits.ts ---
function httpLimitOptions(): Option[] {
  const option = (flag: string, env: string, help: string, value: number) => new Option(flag, help).env(env).default(value).argParser(integer);
  return [
    option('--json-depth-max <n>', 'RINGKV_JSON_DEPTH_MAX', "deepest nesting of a request body's JSON (deeper: 400)", defaults.jsonDepthMax),
    option('--http-request-timeout-ms <ms>', 'RINGKV_HTTP_REQUEST_TIMEOUT_MS', 'time to receive a whole request, body included (slower: 408)', defaults.httpRequestTimeoutMs),
    option('--http-headers-timeout-ms <ms>', 'RINGKV_HTTP_HEADERS_TIMEOUT_MS', "time to receive a request's headers (slower: 408)", defaults.httpHeadersTimeoutMs),
    option('--http-keep-alive-timeout-ms <ms>', 'RINGKV_HTTP_KEEP_ALIVE_TIMEOUT_MS', 'idle time a keep-alive connection may wait for its next request', defaults.httpKeepAliveTimeoutMs),
    option('--http-connections-max <n>', 'RINGKV_HTTP_CONNECTIONS_MAX', 'open connections on the API port, peers included (more are closed at once)', defaults.httpConnectionsMax),
    option('--http-header-bytes-max <n>', 'RINGKV_HTTP_HEADER_BYTES_MAX', 'bytes of a request line and headers (more: 431)', defaults.httpHeaderBytesMax),
    option('--rate-limit-per-minute <n>', 'RINGKV_RATE_LIMIT_PER_MINUTE', 'requests a minute per token, or per client address without one (429 beyond; 0 = off)', defaults.rateLimitPerMinute),
  ];
}
// --- end of HTTP edge limits ---

/**
 * The shared flags a `ringkv cluster` passes on to each node it starts, by attribute name;
 * host, replicas, vnodes and storage travel separately (local-cluster.ts).
 */
export const clusterPassThroughExcluded = new Set(['host', 'replicas', 'vnodes', 'storage', 'durable', 'insecure', 'corsOrigins']);

const switchOn = new Set(['1', 'true', 'yes', 'on']);
const switchOff = new Set(['0', 'false', 'no', 'off', '']);

/**
 * Reads the environment twins of switches (`RINGKV_DURABLE`, `RINGKV_INSECURE`) as a person
 * means them. Commander turns a switch on for any value of its variable, so
 * `RINGKV_INSECURE=false` would have turned protected mode off: here true/1/yes/on set it,
 * false/0/no/off or empty leave it off (the variable is dropped), and anything else is a
 * problem, returned as a sentence naming the variable.
 */
export function readSwitchEnvironment(env: NodeJS.ProcessEnv, options: readonly Option[]): string[] {
  const problems: string[] = [];
  for (const option of options) {
    if (!option.isBoolean() || option.envVar === undefined) continue;
    const raw = env[option.envVar];
    if (raw === undefined) continue;
    const value = raw.trim().toLowerCase();
    if (switchOn.has(value)) env[option.envVar] = 'true';
    else if (switchOff.has(value)) delete env[option.envVar];
    else problems.push(`${option.envVar}=${JSON.stringify(raw)} must be true or false (or 1/0, yes/no, on/off)`);
  }
  return problems;
}
