// Builds the rows of the live-traffic charts from each node's traffic history.
// Nodes report one point per 5 s; points are aligned to 5 s buckets so that nodes
// whose intervals started a few milliseconds apart share a row.
import type { TrafficPoint } from '@ringkv/client';

export const trafficBucketMs = 5_000;

export interface NodeHistory {
  nodeId: string;
  history: readonly TrafficPoint[];
  /** When the node started; intervals that ended before it are padding, not traffic. */
  startedAtMs?: number;
}

export interface ClusterTraffic {
  /** Sum of the nodes' request rates. */
  requestsPerSecond: number;
  /** Mean of the nodes' p50 weighted by their request rates; null when no node served requests. */
  p50Ms: number | null;
  /** Largest p99 of any node that served requests: an upper bound on the cluster's p99. */
  p99Ms: number | null;
}

export interface TrafficRow {
  timeMs: number;
  nodes: Record<string, TrafficPoint>;
  cluster: ClusterTraffic;
}

export type TrafficMetric = 'requestsPerSecond' | 'p50Ms' | 'p99Ms';

/** One row per 5 s bucket, oldest first, keeping buckets within `windowMs` of the newest. */
export function buildTrafficRows(histories: readonly NodeHistory[], windowMs = 5 * 60_000): TrafficRow[] {
  const byBucket = new Map<number, Record<string, TrafficPoint>>();
  for (const { nodeId, history, startedAtMs } of histories) {
    for (const point of history) {
      if (startedAtMs !== undefined && point.timeMs + trafficBucketMs <= startedAtMs) continue;
      const bucket = Math.floor(point.timeMs / trafficBucketMs) * trafficBucketMs;
      const row = byBucket.get(bucket) ?? {};
      row[nodeId] = point;
      byBucket.set(bucket, row);
    }
  }
  const buckets = [...byBucket.keys()].sort((a, b) => a - b);
  const newest = buckets.at(-1);
  if (newest === undefined) return [];
  return buckets
    .filter((bucket) => bucket > newest - windowMs)
    .map((bucket) => {
      const nodes = byBucket.get(bucket) ?? {};
      return { timeMs: bucket, nodes, cluster: combineTraffic(Object.values(nodes)) };
    });
}

/** Cluster-wide figures for one interval (see ClusterTraffic for how each is combined). */
export function combineTraffic(points: readonly TrafficPoint[]): ClusterTraffic {
  let requestsPerSecond = 0;
  let weightedP50 = 0;
  let p99Ms: number | null = null;
  for (const point of points) {
    requestsPerSecond += point.requestsPerSecond;
    if (point.requestsPerSecond <= 0) continue;
    weightedP50 += point.p50Ms * point.requestsPerSecond;
    p99Ms = Math.max(p99Ms ?? 0, point.p99Ms);
  }
  return {
    requestsPerSecond,
    p50Ms: requestsPerSecond > 0 ? weightedP50 / requestsPerSecond : null,
    p99Ms,
  };
}

/**
 * A node's value of `metric` in a row; null (a gap in the line) where the node reported
 * nothing, and for latency where it served no requests: an idle interval has no latency.
 */
export function nodeValue(row: TrafficRow, nodeId: string, metric: TrafficMetric): number | null {
  const point = row.nodes[nodeId];
  if (point === undefined) return null;
  if (metric !== 'requestsPerSecond' && point.requestsPerSecond <= 0) return null;
  return point[metric];
}

/** The cluster's value of `metric` in a row. */
export function clusterValue(row: TrafficRow, metric: TrafficMetric): number | null {
  return row.cluster[metric];
}
