// The composition root of one real node (docs/design.md, "Layers"): it wires the pure
// core to real storage, sockets, time and Fastify, and shuts them down in order.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { ClusterNode, loadKeyHasher, MemoryHintStore, MemoryJobStore, seedLookupRetryMs, seedLookupTimeoutMs, type JobStore, type RequestHandler, type RingChangeResult, TokenBucket } from '@ringkv/core';
import { buildApp } from './api/app.js';
import { LoadShedder } from './api/load-shedding.js';
import { httpLimitsOf } from './api/http-limits.js';
import { CpuPressureMeter } from './clock/cpu-pressure.js';
import { systemClock } from './clock/system-clock.js';
import { configProblems, type NodeConfig } from './config.js';
import { joinHostPort, resolveSeeds, systemLookup } from './seed-addresses.js';
import { hadLeft, loadMembers, membersSaver } from './members-file.js';
import { createNodeMetrics } from './metrics/metrics.js';
import { TrafficRecorder } from './metrics/traffic.js';
import { NodeViews, replicaCountNote } from './node-views.js';
import { loadNodeSecurity, protectedModeProblems } from './node-security.js';
import { checkDataFormat, markDataFormat } from './storage/data-format.js';
import { lmdbPaxosStore } from './storage/lmdb-paxos-store.js';
import { openNodeStorage } from './storage/node-storage.js';
import { registerWatchMetrics } from './metrics/watch-metrics.js';
import { registerStorageMetrics } from './metrics/storage-metrics.js';
import { attachPeerServer } from './transport/peer-server.js';
import { TcpTransport } from './transport/tcp-transport.js';

const hlcHighWaterKey = 'hlc-high-water';
/** Wall-clock ms added above the saved high-water mark at restart. */
const hlcRestartMarginMs = 2000;
/** Seed host names that do not resolve yet are looked up again this often, each lookup bounded. */
const seedLookupTiming = { retryMs: seedLookupRetryMs, lookupTimeoutMs: seedLookupTimeoutMs };

export interface RunningNode {
  nodeId: string;
  url: string;
  app: FastifyInstance;
  node: ClusterNode;
  /** Resolves when the node has left the ring (after `leave`) and the settle period has passed. */
  left: Promise<void>;
  close(): Promise<void>;
}

/** The built dashboard, next to this package in the workspace. */
export const dashboardRootDefault = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard', 'dist');

/** What a test may put in place of the machine's: where the node reads its CPU pressure. */
export interface NodeSeams {
  cpuPressure?: CpuPressureMeter;
}

export async function startNode(config: NodeConfig, logger?: Logger, seams: NodeSeams = {}): Promise<RunningNode> {
  const problems = [...configProblems(config), ...protectedModeProblems(config)];
  if (problems.length > 0) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const log = logger ?? pino({ level: config.logLevel, base: { node: config.id } });
  mkdirSync(config.dataDir, { recursive: true });
  // Before anything in the directory is read or written: a layout this release cannot read is refused untouched.
  const formatFound = checkDataFormat(config.dataDir);
  // Read once: whether it had left decides what happens to its data, and the core starts from it.
  const known = loadMembers(config.dataDir);
  if (hadLeft(known, config.id)) {
    // Started again after it left: a new member under the old id, with none of its old data
    // (its ranges went to others when it left; stale copies must not come back).
    log.warn({ dataDir: config.dataDir }, 'this node had left the ring; it joins again as a new member, and its old data is discarded');
    rmSync(join(config.dataDir, 'lmdb'), { recursive: true, force: true });
  }
  const security = loadNodeSecurity(config, log);
  for (const warning of security.posture().warnings) log.warn({ security: true }, warning);
  // A full or failed disk is reported, never fatal (docs/architecture.md, "Disk full").
  const hash = await loadKeyHasher();
  const storage = await openNodeStorage(config, hash, log, formatFound);
  // Only now that the storage is in the current layout (its ring index built) does the marker say so.
  markDataFormat(config.dataDir);
  const { lmdb, engine } = storage;
  const saveMembersFile = membersSaver(config.dataDir, log);
  const hintLimits = { perTargetMax: config.hintsPerTargetMax, totalMax: config.hintsTotalMax };
  const hintStore = lmdb ? lmdb.openHintStore(hintLimits) : new MemoryHintStore(hintLimits);
  const jobStore: JobStore = lmdb ? { load: (name) => lmdb.readMeta(`job:${name}`), save: async (name, value) => void (await lmdb.writeMeta(`job:${name}`, value)) } : new MemoryJobStore();
  let announceLeft: () => void = () => undefined;
  const left = new Promise<void>((resolve) => (announceLeft = resolve));
  // Peers reach this node at its advertised host, which may differ from the one it binds
  // (0.0.0.0 in a container); seed host names are resolved to match (seed-addresses.ts).
  const advertiseHost = (config.advertise ?? config.host).replace(/^\[(.*)\]$/, '$1');
  const address = joinHostPort(advertiseHost, config.port);
  const seeds = await resolveSeeds(config.seeds, { host: advertiseHost, port: config.port }, { waitMsMax: config.seedResolveTimeoutMs, ...seedLookupTiming, lookup: systemLookup, log });
  // A restarted node continues its clock above what it issued before, even if the wall
  // clock went backwards across the restart: the high-water mark is saved twice a second,
  // and the margin covers what was issued since the last save.
  const hlcSaved = lmdb?.readNumber(hlcHighWaterKey);
  const hlcStartAfter = hlcSaved === undefined ? 0 : hlcSaved + hlcRestartMarginMs * 1024;
  const startedAtMs = Date.now();
  let handler: RequestHandler | undefined;
  let transport: TcpTransport | undefined;
  const nodeRef: { current?: ClusterNode } = {};
  const metrics = createNodeMetrics(
    {
      keysStored: () => engine.liveCount(),
      hintsPending: () => hintStore.count(),
      repairHorizonMs: () => nodeRef.current?.antiEntropy.status().horizonMs ?? null,
      rebalanceProgress: () => {
        const job = nodeRef.current?.rebalancer.jobs().find((item) => item.kind !== 'cleanup' && item.state !== 'done');
        return { done: job?.keysDone ?? 0, total: job?.keysTotal ?? 0 };
      },
      membersByState: () => {
        const counts = { up: 0, suspect: 0, down: 0 };
        for (const member of nodeRef.current?.membership.list() ?? []) counts[member.state]++;
        return counts;
      },
    },
    { node: config.id },
  );
  const peerCredentials = security.peerCredentials;
  // Client requests in flight: bounded (503 beyond), and the load background jobs give way to.
  const shedder = new LoadShedder(
    { inflightRequestsMax: config.inflightRequestsMax, inflightBodyBytesMax: config.inflightBodyBytesMax, busyShareMax: config.shedBusyShare },
    () => performance.now(),
    // This node's own replica lags too: LMDB commits off the event loop, so writes queue there.
    () => (transport?.unansweredBytes() ?? 0) + (lmdb?.queuedBytes() ?? 0),
  );
  // Time threads of this machine (or this node's cgroup) waited for a CPU: background work
  // gives that way too, since an idle event loop does not mean idle cores.
  const cpuPressure = seams.cpuPressure ?? CpuPressureMeter.forThisProcess(() => performance.now());
  // What transfers into this node may take of the disks and the network (PUT /jobs/pace).
  const transferRate = new TokenBucket(systemClock, config.transferMbPerS * 1_000_000);
  const node = new ClusterNode(
    {
      self: { nodeId: config.id, address },
      seeds,
      known,
      standby: config.standby,
      hlcStartAfter,
      engine,
      hintStore,
      jobStore,
      ...(lmdb ? { paxosStore: lmdbPaxosStore(lmdb), changeStore: lmdb.openChangeStore() } : {}),
      clock: systemClock,
      rng: { next: Math.random },
      hash,
      clientLoad: { inflight: () => shedder.inflight(), busyShare: () => shedder.busyShare(), cpuPressure: () => cpuPressure.share() },
      backgroundShareMin: config.backgroundShareMin,
      transferRate,
      events: {
        replicaWriteFailed: (replica) => metrics.replicaWriteFailures.inc({ replica }),
        readRepaired: (replica) => metrics.readRepairs.inc({ replica }),
        speculativeRead: () => metrics.speculativeReads.inc(),
        keysRepaired: (count) => metrics.antiEntropyKeysRepaired.inc(count),
        hintsDelivered: (target, count) => metrics.hintsDelivered.inc({ target }, count),
        hintDropped: (target) => metrics.hintsDropped.inc({ target }),
        recordsReceived: (count) => metrics.rebalanceRecordsReceived.inc(count),
        keysCleanedUp: (count) => metrics.rebalanceKeysDropped.inc(count),
        tombstonesPurged: (count) => metrics.tombstonesPurged.inc(count),
        left: () => {
          log.info({ settleMs: config.ringSettleMs }, 'left the ring; stopping after the settle period');
          setTimeout(announceLeft, config.ringSettleMs).unref();
        },
        membersChanged: (members) => {
          log.info({ members: members.map((member) => `${member.nodeId}:${member.ring ?? '?'}`) }, 'members changed');
          saveMembersFile(members);
        },
        memberStateChanged: (member, previous) => {
          log.info({ member: member.nodeId, from: previous, to: member.state }, 'member state changed');
          metrics.memberStateChanges.inc({ member: member.nodeId, state: member.state });
        },
      },
    },
    {
      replicas: config.replicas,
      vnodes: config.vnodes,
      probeIntervalMs: config.probeIntervalMs,
      // A direct probe and then the indirect ones must fit in one protocol period.
      membership: { probeTimeoutMs: Math.min(1000, Math.max(100, Math.floor(config.probeIntervalMs / 2))), suspicionTimeoutMs: config.suspicionTimeoutMs },
      coordinator: {
        writeTimeoutMs: config.writeTimeoutMs,
        readTimeoutMs: config.readTimeoutMs,
        readRepairChance: config.readRepairChance,
        speculativeRetryPercentile: config.speculativeRetryPercentile,
        speculativeRetryFloorMs: config.speculativeRetryFloorMs,
        speculativeRetryMaxMs: config.speculativeRetryMaxMs,
      },
      antiEntropyIntervalMs: config.antiEntropyIntervalMs,
      ringSettleMs: config.ringSettleMs,
      tombstones: { marginMs: config.tombstonePurgeMarginMs },
      idempotencyRetentionMs: config.idempotencyRetentionSeconds * 1000,
      changes: { closeMs: config.watchCloseMs, retentionMs: config.watchRetentionS * 1000, retentionBytes: config.watchRetentionMb * 1024 * 1024 },
    },
    (requestHandler) => {
      handler = requestHandler;
      transport = new TcpTransport({
        self: { nodeId: config.id, address },
        clusterName: config.clusterName,
        credentials: peerCredentials,
        expectedNodeIds: (peerAddress) => nodeRef.current?.membership.nodeIdsAt(peerAddress) ?? [],
        connectTimeoutMs: 1000,
        backoffMinMs: 100,
        backoffMaxMs: 2000,
        observe: (type, seconds, error) => metrics.peerDuration.observe({ type, outcome: error?.code ?? 'ok' }, seconds),
      });
      return transport;
    },
  );
  nodeRef.current = node;
  const traffic = new TrafficRecorder();
  registerStorageMetrics(metrics.registry, storage);
  const views = new NodeViews({ config, address, startedAtMs, node, engine, metrics, traffic, security, disk: () => storage.report(), transferRate, cpuPressure });
  registerWatchMetrics(metrics.registry, () => views.watchInfo());
  let listeningPort = config.port;
  const app = await buildApp({
    logger: log,
    https: security.https,
    http: httpLimitsOf(config),
    shedder,
    deps: {
      security: {
        tokens: security.tokens,
        corsOrigins: config.corsOrigins,
        host: config.host,
        port: () => listeningPort,
        tls: security.https !== undefined,
        reload: security.reload,
        auditCounters: { authFailures: metrics.authFailures, adminActions: metrics.adminActions },
      },
      nodeId: config.id,
      replicas: config.replicas,
      maxValueBytes: config.maxValueBytes,
      startedAtMs,
      isReady: () => node.isReady(),
      admitClients: () => node.admitClients(),
      storageState: () => storage.state(),
      coordinator: node.coordinator,
      paxos: node.paxos,
      engine,
      hlcNow: () => node.hlc.now(),
      scanPage: (page) => node.scanPage(page),
      watch: {
        open: (prefix, cursor, listener) => node.openWatch(prefix, cursor, listener),
        count: () => node.watchCount,
        max: config.watchMax,
        unsentBytesMax: config.watchUnsentMb * 1024 * 1024,
      },
      restore: (entries) => node.restore(entries),
      nodeInfo: () => views.nodeInfo(),
      clusterInfo: () => views.cluster(),
      ringLayout: () => views.ringLayout(),
      clusterNodes: (token) => views.clusterNodes(token),
      ring: {
        join: () => onceTold(node.join()),
        leave: () => onceTold(node.leave()),
        remove: (nodeId) => onceTold(node.remove(nodeId)),
        forward: (action, member, token) => views.forwardRingChange(action, member, token),
        jobs: () => views.jobs(),
        clusterJobs: (token) => views.clusterJobs(token),
        pause: (id, node, token) => views.controlJob(id, 'pause', node, token),
        resume: (id, node, token) => views.controlJob(id, 'resume', node, token),
        setPace: (update, node, token) => views.setPace(update, node, token),
      },
      repairNow: async () => {
        const peers = node.membership.list().length - 1;
        for (let round = 0; round < Math.max(1, peers); round++) await node.antiEntropyNow();
        return views.repairStatus();
      },
      metrics,
      traffic,
      dashboardRoot: dashboardRootDefault,
    },
  });
  const peerServer = attachPeerServer(app.server, {
    self: { nodeId: config.id, address },
    clusterName: config.clusterName,
    credentials: peerCredentials,
    handler: handler as RequestHandler,
    log,
    onRejected: (reason) => metrics.peerConnectionsRejected.inc({ reason: reason.slice(0, 40) }),
    onOverloaded: () => shedder.count('peer-queue'),
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    security.close();
    await engine.close();
    throw error;
  }
  listeningPort = (app.server.address() as { port: number }).port;
  security.attach(app.server);
  node.start();
  const saveClock = lmdb === undefined ? undefined : setInterval(() => void lmdb.writeNumber(hlcHighWaterKey, node.hlc.peek()).catch(() => undefined), 500);
  saveClock?.unref();
  log.info({ address, storage: config.storage, seeds }, 'node started');
  const ringStatus = node.membership.ringOf(config.id);
  if (ringStatus === 'standby') log.info({ ringStatus }, 'on standby: outside the ring, coordinating client requests and holding no data, until `ringkv join` (POST /cluster/join)');
  else if (config.standby) log.info({ ringStatus }, `--standby ignored: this node is already a member (${ringStatus})`);
  const alone = replicaCountNote(node.ring.nodeIds.length, config.replicas).note;
  if (seeds.length === 0 && alone !== null && ringStatus !== 'standby') log.info({ replicas: config.replicas }, `no seeds: ${alone}`);
  let closing: Promise<void> | undefined;
  return {
    nodeId: config.id,
    url: `${security.scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${listeningPort}`,
    app,
    node,
    left,
    close: () => {
      closing ??= (async () => {
        node.stop();
        // Background rounds finish (bounded by their peer timeouts) before the engine closes;
        // any still running after that fail cleanly on the closed engine.
        await Promise.race([node.idle(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        if (saveClock !== undefined) clearInterval(saveClock);
        await lmdb?.writeNumber(hlcHighWaterKey, node.hlc.peek()).catch(() => undefined);
        transport?.close();
        peerServer.close();
        await app.close();
        await engine.close();
        security.close();
        log.info('node stopped');
      })();
      return closing;
    },
  };
}

/**
 * An accepted ring change, answered once the members that answer hold it too (it then
 * outlives this node): the core tells them as it accepts the change (RingChangeResult.told).
 */
async function onceTold(result: RingChangeResult): Promise<RingChangeResult> {
  if (!result.ok) return result;
  const told = await result.told;
  return { ...result, message: `${result.message}; ${told} other member${told === 1 ? '' : 's'} already hold${told === 1 ? 's' : ''} the change` };
}
