// The node's Prometheus metrics (prom-client), in a registry of its own so several nodes
// can live in one process in tests. Names follow Prometheus conventions: base units,
// `_total` for counters.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RequestCounts } from './request-counts.js';

export interface NodeMetrics {
  registry: Registry;
  /** Read through a scrape: requests are counted in `requestCounts` and added to it then. */
  httpRequests: Counter<'method' | 'route' | 'status'>;
  requestCounts: RequestCounts;
  httpDuration: Histogram<'method' | 'route'>;
  peerDuration: Histogram<'type' | 'outcome'>;
  peerConnectionsRejected: Counter<'reason'>;
  replicaWriteFailures: Counter<'replica'>;
  readRepairs: Counter<'replica'>;
  speculativeReads: Counter<string>;
  memberStateChanges: Counter<'member' | 'state'>;
  authFailures: Counter<'reason'>;
  adminActions: Counter<'action' | 'outcome'>;
  antiEntropyKeysRepaired: Counter<string>;
  hintsDelivered: Counter<'target'>;
  hintsDropped: Counter<'target'>;
  rebalanceRecordsReceived: Counter<string>;
  rebalanceKeysDropped: Counter<string>;
  tombstonesPurged: Counter<string>;
}

export interface MetricsSources {
  keysStored(): number;
  membersByState(): Record<'up' | 'suspect' | 'down', number>;
  hintsPending(): number;
  /** Keys examined and to examine by this node's running transfer (0/0 when none). */
  rebalanceProgress(): { done: number; total: number };
  /** When every range this node replicates was last verified on all its replicas (ms since the epoch); null until all were. */
  repairHorizonMs(): number | null;
}

const latencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createNodeMetrics(sources: MetricsSources, labels: { node: string }): NodeMetrics {
  const registry = new Registry();
  const requestCounts = new RequestCounts();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'ringkv_keys_stored',
    help: 'Live keys stored on this node (as any replica).',
    registers: [registry],
    collect() {
      this.set(sources.keysStored());
    },
  });
  new Gauge({
    name: 'ringkv_members',
    help: 'Cluster members by state, as this node sees them.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(sources.membersByState())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'ringkv_hints_pending',
    help: 'Hints this node holds for replicas that missed writes.',
    registers: [registry],
    collect() {
      this.set(sources.hintsPending());
    },
  });
  new Gauge({
    name: 'ringkv_rebalance_keys',
    help: "Keys examined (phase=done) and to examine (phase=total) by this node's current data transfer.",
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const progress = sources.rebalanceProgress();
      this.set({ phase: 'done' }, progress.done);
      this.set({ phase: 'total' }, progress.total);
    },
  });
  // The repair horizon as a timestamp, so an alert can compare it with time() (deploy/prometheus/alerts.yml);
  // 0 until every range this node replicates has been verified once.
  new Gauge({
    name: 'ringkv_repair_horizon_timestamp_seconds',
    help: 'Time by which every range this node replicates was verified on all its replicas by anti-entropy (0 until all were).',
    registers: [registry],
    collect() {
      this.set((sources.repairHorizonMs() ?? 0) / 1000);
    },
  });
  return {
    registry,
    rebalanceRecordsReceived: new Counter({
      name: 'ringkv_rebalance_records_received_total',
      help: 'Records this node received because it took over ranges (join, leave, remove).',
      registers: [registry],
    }),
    rebalanceKeysDropped: new Counter({
      name: 'ringkv_rebalance_keys_dropped_total',
      help: 'Keys this node dropped after handing their ranges to new owners.',
      registers: [registry],
    }),
    tombstonesPurged: new Counter({
      name: 'ringkv_tombstones_purged_total',
      help: 'Tombstones purged after every replica of their range verified them.',
      registers: [registry],
    }),
    hintsDelivered: new Counter({
      name: 'ringkv_hints_delivered_total',
      help: 'Hints delivered to their replica, by target.',
      labelNames: ['target'],
      registers: [registry],
    }),
    hintsDropped: new Counter({
      name: 'ringkv_hints_dropped_total',
      help: 'Hints not kept because the hint bounds were reached (anti-entropy repairs those keys).',
      labelNames: ['target'],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'ringkv_http_requests_total',
      help: 'HTTP requests served, by route and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
      collect() {
        requestCounts.flushInto(this);
      },
    }),
    requestCounts,
    httpDuration: new Histogram({
      name: 'ringkv_http_request_duration_seconds',
      help: 'HTTP request latency, by route.',
      labelNames: ['method', 'route'],
      buckets: latencyBucketsSeconds,
      registers: [registry],
    }),
    peerDuration: new Histogram({
      name: 'ringkv_peer_request_duration_seconds',
      help: 'Peer RPC latency, by message type and outcome (ok or the error code).',
      labelNames: ['type', 'outcome'],
      buckets: latencyBucketsSeconds,
      registers: [registry],
    }),
    peerConnectionsRejected: new Counter({
      name: 'ringkv_peer_connections_rejected_total',
      help: 'Inbound peer connections closed for bad input or failed authentication.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    replicaWriteFailures: new Counter({
      name: 'ringkv_replica_write_failures_total',
      help: 'Replica writes that failed or timed out, by replica.',
      labelNames: ['replica'],
      registers: [registry],
    }),
    readRepairs: new Counter({
      name: 'ringkv_read_repairs_total',
      help: 'Stale or missing replica copies repaired by reads, by replica.',
      labelNames: ['replica'],
      registers: [registry],
    }),
    speculativeReads: new Counter({
      name: 'ringkv_speculative_reads_total',
      help: 'Reads that asked one more replica because those asked were slower than recent answers (rapid read protection).',
      registers: [registry],
    }),
    antiEntropyKeysRepaired: new Counter({
      name: 'ringkv_anti_entropy_keys_repaired_total',
      help: 'Records anti-entropy sent to or took from a peer because the replicas differed.',
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'ringkv_auth_failures_total',
      help: 'API requests refused by authentication or authorization, by reason (missing, unknown, expired, role, prefix, origin).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    adminActions: new Counter({
      name: 'ringkv_admin_actions_total',
      help: 'Admin API actions (leave, remove, repair, job control, reload), by route and outcome.',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    memberStateChanges: new Counter({
      name: 'ringkv_member_state_changes_total',
      help: 'Member state transitions seen by this node.',
      labelNames: ['member', 'state'],
      registers: [registry],
    }),
  };
}

/** The sum of a counter's values over all its label sets. */
export async function counterTotal(counter: Counter<string>): Promise<number> {
  const data = await counter.get();
  return data.values.reduce((sum, item) => sum + item.value, 0);
}
