// A node's settings, with their defaults and checks. The CLI fills it from flags and
// environment variables; tests fill it directly.
import { httpLimitsDefaults, type HttpLimits } from './api/http-limits.js';
import { hintsPerTargetMaxDefault, hintsTotalMaxDefault, nodeIdPattern, replicasMax, valueBytesMaxDefault, vnodesDefault, vnodesMax } from '@ringkv/core';
import { httpHeaderBytesMaxLimit, jsonDepthMaxLimit } from '@ringkv/core';
import { speculativeRetryFloorMsDefault, speculativeRetryMaxMsDefault, speculativeRetryPercentileDefault } from '@ringkv/core';
import { inflightBodyBytesMaxDefault, inflightRequestsMaxDefault, shedBusyShareDefault } from '@ringkv/core';
import { diskWarnPercentDefault, lmdbMapBytesDefault, storageReserveBytesDefault } from '@ringkv/core';
import { idempotencyRetentionSecondsDefault, watchCloseMsDefault, watchersMaxDefault, watchRetentionBytesDefault, watchRetentionSecondsDefault, watchUnsentMegabytesDefault } from '@ringkv/core';
import { backgroundShareMin, backgroundShareMinLowest, isBackgroundShareMin } from '@ringkv/core';

/** A node's settings; the HTTP edge limits (docs/security.md, "Limits before authentication") come from HttpLimits. */
export interface NodeConfig extends HttpLimits {
  id: string;
  /** Address to bind. */
  host: string;
  /** Host peers (and the dashboard's links) use to reach this node; undefined: `host`. The member address is advertise:port. */
  advertise: string | undefined;
  port: number;
  /** Other members' `host:port`; host names are resolved before the core sees them (seed-addresses.ts). */
  seeds: string[];
  /** How long seed host names that do not resolve yet are retried at start before they are used as given. */
  seedResolveTimeoutMs: number;
  /** Start a new member outside the ring (it joins on POST /cluster/join); a node that was a member goes on as it was. */
  standby: boolean;
  replicas: number;
  vnodes: number;
  storage: 'lmdb' | 'memory';
  dataDir: string;
  clusterName: string;
  /** Inline cluster secret (tests); nodes started from the CLI read --cluster-secret-file instead. */
  clusterSecret: string;
  /**
   * File holding the cluster secret: one line, or two while rotating (new, then old).
   * Re-read when it changes. Without a file or inline secret the node generates one in
   * `<data-dir>/cluster-secret`, so it can form a cluster only with nodes given that file.
   */
  clusterSecretFile: string | undefined;
  /** PEM files: serve the API and peer links over TLS; with a CA, peers use mutual TLS. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  tlsCaFile: string | undefined;
  /** Token file (`ringkv token create`); when set every route but /health and static assets needs a token. */
  authFile: string | undefined;
  /** Overrides protected mode: serve off loopback without authentication (a warning everywhere). */
  insecure: boolean;
  /** Origins (scheme://host:port) a browser application may call this node from. */
  corsOrigins: string[];
  maxValueBytes: number;
  writeTimeoutMs: number;
  readTimeoutMs: number;
  probeIntervalMs: number;
  /** How long a member stays suspect before it is declared down. */
  suspicionTimeoutMs: number;
  readRepairChance: number;
  /** Rapid read protection: ask one more replica once those asked are slower than this percentile of recent answers (0: off)… */
  speculativeRetryPercentile: number;
  /** …waiting at least this long… */
  speculativeRetryFloorMs: number;
  /** …and at most this long (below the read timeout). */
  speculativeRetryMaxMs: number;
  /** Bounds on hints kept for one down replica, and in total. */
  hintsPerTargetMax: number;
  hintsTotalMax: number;
  /** Pause between anti-entropy rounds; 0 turns it off. */
  antiEntropyIntervalMs: number;
  /** How long a ring change takes to reach every node; writes keep reaching the old ring that long. */
  ringSettleMs: number;
  /** Time kept between the cluster's repair horizon and the tombstone purge cutoff. */
  tombstonePurgeMarginMs: number;
  /** How long the replicas of a key remember an idempotent write (Idempotency-Key), so a retry answers its outcome. */
  idempotencyRetentionSeconds: number;
  /** How far behind its clock a replica closes time for watches: writes stamped older are re-stamped; events arrive about this late. */
  watchCloseMs: number;
  /** How long the change log behind watches is kept; an older cursor is answered 410. */
  watchRetentionS: number;
  /** Megabytes of change log kept at most; the oldest entries go first. */
  watchRetentionMb: number;
  /** Watches this node serves at once; one more is 503. */
  watchMax: number;
  /** Cap on the megabytes per second this node receives in transfers (join, leave, removal); 0 for none. Changed at run time by PUT /jobs/pace. */
  transferMbPerS: number;
  /** The smallest share of time background jobs (transfers, cleanups, repair) keep under any client load. Changed at run time by PUT /jobs/pace. */
  backgroundShareMin: number;
  /** Megabytes of events a watcher may leave unread before it is cut off. */
  watchUnsentMb: number;
  /** Flush each write batch to disk before acknowledging (LMDB). */
  durable: boolean;
  /** LMDB's initial map (address space); lmdb-js doubles it before a write passes its end. */
  lmdbMapBytes: number;
  /** Space LMDB's data file keeps allocated ahead of its data, so a full disk refuses writes instead of failing a commit. */
  storageReserveBytes: number;
  /** Disk use (percent of the data directory's filesystem) above which /node-info warns. */
  diskWarnPercent: number;
  /** Client requests served at once, and bytes of request bodies held at once; beyond, 503 (api/load-shedding.ts). */
  inflightRequestsMax: number;
  inflightBodyBytesMax: number;
  /** Busier than this share of the last 250 ms, the event loop takes one large request body at a time (1: off). */
  shedBusyShare: number;
  logLevel: string;
}

export const nodeConfigDefaults: Omit<NodeConfig, 'id' | 'dataDir'> = {
  host: '127.0.0.1',
  advertise: undefined,
  port: 8000,
  seeds: [],
  seedResolveTimeoutMs: 60_000,
  standby: false,
  replicas: 3,
  vnodes: vnodesDefault,
  storage: 'lmdb',
  clusterName: 'ringkv',
  clusterSecret: '',
  clusterSecretFile: undefined,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  tlsCaFile: undefined,
  authFile: undefined,
  insecure: false,
  corsOrigins: [],
  maxValueBytes: valueBytesMaxDefault,
  writeTimeoutMs: 2000,
  readTimeoutMs: 2000,
  probeIntervalMs: 1000,
  suspicionTimeoutMs: 3000,
  readRepairChance: 0,
  speculativeRetryPercentile: speculativeRetryPercentileDefault,
  speculativeRetryFloorMs: speculativeRetryFloorMsDefault,
  speculativeRetryMaxMs: speculativeRetryMaxMsDefault,
  antiEntropyIntervalMs: 1000,
  hintsPerTargetMax: hintsPerTargetMaxDefault,
  hintsTotalMax: hintsTotalMaxDefault,
  ringSettleMs: 2000,
  tombstonePurgeMarginMs: 60_000,
  idempotencyRetentionSeconds: idempotencyRetentionSecondsDefault,
  watchCloseMs: watchCloseMsDefault,
  watchRetentionS: watchRetentionSecondsDefault,
  watchRetentionMb: watchRetentionBytesDefault / (1024 * 1024),
  watchMax: watchersMaxDefault,
  transferMbPerS: 0,
  backgroundShareMin: backgroundShareMin,
  watchUnsentMb: watchUnsentMegabytesDefault,
  durable: false,
  lmdbMapBytes: lmdbMapBytesDefault,
  storageReserveBytes: storageReserveBytesDefault,
  diskWarnPercent: diskWarnPercentDefault,
  inflightRequestsMax: inflightRequestsMaxDefault,
  inflightBodyBytesMax: inflightBodyBytesMaxDefault,
  shedBusyShare: shedBusyShareDefault,
  logLevel: 'info',
  ...httpLimitsDefaults,
};

/** Every problem with a config, as sentences naming the flag to fix. */
export function configProblems(config: NodeConfig): string[] {
  const problems: string[] = [];
  if (!nodeIdPattern.test(config.id)) problems.push(`--id "${config.id}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) problems.push(`--port ${config.port} must be 0..65535`);
  if (!Number.isInteger(config.replicas) || config.replicas < 1 || config.replicas > replicasMax) problems.push(`--replicas must be 1..${replicasMax}`);
  if (!Number.isInteger(config.vnodes) || config.vnodes < 1 || config.vnodes > vnodesMax) problems.push(`--vnodes must be 1..${vnodesMax}`);
  if (config.storage !== 'lmdb' && config.storage !== 'memory') problems.push(`--storage must be lmdb or memory, not "${String(config.storage)}"`);
  if (!Number.isInteger(config.maxValueBytes) || config.maxValueBytes < 1 || config.maxValueBytes > 64 * 1024 * 1024) {
    problems.push('--max-value-bytes must be 1..67108864');
  }
  for (const [flag, value] of [['--write-timeout-ms', config.writeTimeoutMs], ['--read-timeout-ms', config.readTimeoutMs], ['--probe-interval-ms', config.probeIntervalMs], ['--suspicion-timeout-ms', config.suspicionTimeoutMs]] as const) {
    if (!Number.isFinite(value) || value < 10 || value > 600_000) problems.push(`${flag} must be 10..600000`);
  }
  if (!Number.isInteger(config.hintsPerTargetMax) || config.hintsPerTargetMax < 0) problems.push('--hints-per-target-max must be a whole number >= 0');
  if (!Number.isInteger(config.hintsTotalMax) || config.hintsTotalMax < 0) problems.push('--hints-total-max must be a whole number >= 0');
  if (!(config.readRepairChance >= 0 && config.readRepairChance <= 1)) problems.push('--read-repair-chance must be 0..1');
  if (!Number.isInteger(config.antiEntropyIntervalMs) || config.antiEntropyIntervalMs < 0 || config.antiEntropyIntervalMs > 3_600_000) {
    problems.push('--anti-entropy-interval-ms must be 0..3600000 (0 turns it off)');
  }
  if (!Number.isInteger(config.ringSettleMs) || config.ringSettleMs < 0 || config.ringSettleMs > 600_000) problems.push('--ring-settle-ms must be 0..600000');
  if (!Number.isInteger(config.tombstonePurgeMarginMs) || config.tombstonePurgeMarginMs < 0) problems.push('--tombstone-purge-margin-ms must be a whole number >= 0');
  if (!Number.isInteger(config.idempotencyRetentionSeconds) || config.idempotencyRetentionSeconds < 60 || config.idempotencyRetentionSeconds > 30 * 86_400) {
    problems.push('--idempotency-retention-s must be 60..2592000 (one minute to 30 days)');
  }
  if (!Number.isInteger(config.watchCloseMs) || config.watchCloseMs < 50 || config.watchCloseMs > 60_000) problems.push('--watch-close-ms must be 50..60000');
  if (!Number.isInteger(config.watchRetentionS) || config.watchRetentionS < 1 || config.watchRetentionS > 30 * 86_400) {
    problems.push('--watch-retention-s must be 1..2592000 (one second to 30 days)');
  }
  if (!Number.isInteger(config.watchRetentionMb) || config.watchRetentionMb < 1 || config.watchRetentionMb > 1024 * 1024) problems.push('--watch-retention-mb must be 1..1048576');
  if (!Number.isInteger(config.watchMax) || config.watchMax < 0 || config.watchMax > 100_000) problems.push('--watch-max must be 0..100000 (0 turns watches off)');
  if (!isTransferMbPerS(config.transferMbPerS)) problems.push(`--transfer-mb-per-s must be 0..${transferMbPerSMax} (0: no cap)`);
  if (!isBackgroundShareMin(config.backgroundShareMin)) problems.push(`--background-share-min must be ${backgroundShareMinLowest}..1 (1: background jobs never give way)`);
  if (!Number.isInteger(config.watchUnsentMb) || config.watchUnsentMb < 1 || config.watchUnsentMb > 1024) problems.push('--watch-unsent-mb must be 1..1024');
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) problems.push('--tls-cert and --tls-key go together: give both, or neither');
  if (config.tlsCaFile !== undefined && config.tlsCertFile === undefined) problems.push('--tls-ca needs --tls-cert and --tls-key: peers use mutual TLS only over TLS');
  for (const origin of config.corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`--cors-origins "${origin}" must be scheme://host[:port], with no path`);
  }
  problems.push(...storageProblems(config));
  problems.push(...httpLimitProblems(config));
  problems.push(...speculativeRetryProblems(config));
  if (!Number.isInteger(config.inflightRequestsMax) || config.inflightRequestsMax < 1 || config.inflightRequestsMax > 1_000_000) {
    problems.push('--inflight-requests-max must be 1..1000000');
  }
  if (!Number.isInteger(config.inflightBodyBytesMax) || config.inflightBodyBytesMax < 1024 || config.inflightBodyBytesMax > 2 ** 40) {
    problems.push('--inflight-body-bytes-max must be 1024..1099511627776 (bytes)');
  }
  if (!(config.shedBusyShare >= 0.1 && config.shedBusyShare <= 1)) problems.push('--shed-busy-share must be 0.1..1 (1 turns the bound off)');
  problems.push(...addressProblems(config));
  for (const seed of config.seeds) if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(seed)) problems.push(`seed "${seed}" must be host:port`);
  return problems;
}

/** A wildcard bind is fine, but it is no address a peer can reach: the node must say which one is. */
function addressProblems(config: NodeConfig): string[] {
  const problems: string[] = [];
  const wildcard = ['0.0.0.0', '::', '[::]'].includes(config.host);
  if (config.advertise === undefined && wildcard) {
    problems.push(`--host ${config.host} binds every interface, but peers cannot reach ${config.host}: give --advertise <host> (RINGKV_ADVERTISE), the address or name peers and browsers use to reach this node`);
  }
  if (config.advertise !== undefined && !/^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:.]+\]?$/.test(config.advertise)) {
    problems.push(`--advertise "${config.advertise}" must be a host name or IP address only (no scheme, no port: peers use --port)`);
  } else if (config.advertise !== undefined && ['0.0.0.0', '::', '[::]'].includes(config.advertise)) {
    problems.push(`--advertise ${config.advertise} is no address peers can reach: give this node's own address or name`);
  }
  if (!Number.isInteger(config.seedResolveTimeoutMs) || config.seedResolveTimeoutMs < 0 || config.seedResolveTimeoutMs > 3_600_000) {
    problems.push('--seed-resolve-timeout-ms must be 0..3600000');
  }
  return problems;
}

/** Rapid read protection's checks: a wait as long as the read timeout would protect nothing. */
function speculativeRetryProblems(config: NodeConfig): string[] {
  const problems: string[] = [];
  const { speculativeRetryPercentile: percentile, speculativeRetryFloorMs: floorMs, speculativeRetryMaxMs: maxMs } = config;
  if (!(Number.isFinite(percentile) && percentile >= 0 && percentile <= 100)) problems.push('--speculative-retry-percentile must be 0..100 (0 turns rapid read protection off)');
  if (!Number.isInteger(floorMs) || floorMs < 0) problems.push('--speculative-retry-floor-ms must be a whole number >= 0');
  if (!Number.isInteger(maxMs) || maxMs < 1 || maxMs * 2 > config.readTimeoutMs) {
    problems.push(`--speculative-retry-max-ms must be 1..${Math.floor(config.readTimeoutMs / 2)} (at most half of --read-timeout-ms)`);
  } else if (floorMs > maxMs) problems.push('--speculative-retry-floor-ms must not exceed --speculative-retry-max-ms');
  return problems;
}

/** The HTTP edge limits' checks (docs/security.md, "Limits before authentication"). */
function httpLimitProblems(config: NodeConfig): string[] {
  const problems: string[] = [];
  const whole = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  if (!whole(config.jsonDepthMax, 2, jsonDepthMaxLimit)) problems.push(`--json-depth-max must be 2..${jsonDepthMaxLimit}`);
  for (const [flag, value] of [['--http-request-timeout-ms', config.httpRequestTimeoutMs], ['--http-headers-timeout-ms', config.httpHeadersTimeoutMs], ['--http-keep-alive-timeout-ms', config.httpKeepAliveTimeoutMs]] as const) {
    if (!whole(value, 100, 3_600_000)) problems.push(`${flag} must be 100..3600000`);
  }
  if (config.httpHeadersTimeoutMs > config.httpRequestTimeoutMs) problems.push('--http-headers-timeout-ms must not exceed --http-request-timeout-ms (the headers are part of the request)');
  if (!whole(config.httpConnectionsMax, 1, 1_000_000)) problems.push('--http-connections-max must be 1..1000000');
  if (!whole(config.httpHeaderBytesMax, 1024, httpHeaderBytesMaxLimit)) problems.push(`--http-header-bytes-max must be 1024..${httpHeaderBytesMaxLimit}`);
  if (!whole(config.rateLimitPerMinute, 0, 1_000_000_000)) problems.push('--rate-limit-per-minute must be a whole number >= 0 (0 turns it off)');
  return problems;
}

/** The disk-full settings (docs/architecture.md, "Disk full"). */
function storageProblems(config: NodeConfig): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(config.lmdbMapBytes) || config.lmdbMapBytes < 1024 * 1024 || config.lmdbMapBytes > 2 ** 46) {
    problems.push('--lmdb-map-bytes must be 1048576..70368744177664 (bytes)');
  }
  if (!Number.isInteger(config.storageReserveBytes) || config.storageReserveBytes < 65_536 || config.storageReserveBytes > 2 ** 40) {
    problems.push('--storage-reserve-bytes must be 65536..1099511627776 (bytes)');
  }
  if (!(config.diskWarnPercent >= 1 && config.diskWarnPercent <= 100)) problems.push('--disk-warn-percent must be 1..100');
  return problems;
}

/** The largest transfer cap --transfer-mb-per-s and PUT /jobs/pace take (far above any disk). */
export const transferMbPerSMax = 100_000;

/** A valid transfer cap in MB/s: 0 (no cap) up to transferMbPerSMax. */
export function isTransferMbPerS(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= transferMbPerSMax;
}
