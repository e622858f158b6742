// Rows of the key-distribution chart: how many keys each node holds as the first
// replica of their preference list and how many as a later replica.
import type { NodeView } from '@ringkv/client';

export interface KeyDistributionRow {
  nodeId: string;
  /** null when the node could not be reached, so the chart shows no bar rather than zero. */
  primary: number | null;
  replica: number | null;
  total: number | null;
}

export function buildKeyDistribution(nodes: readonly NodeView[]): KeyDistributionRow[] {
  return nodes.map((node) => ({
    nodeId: node.nodeId,
    primary: node.info?.keys.primary ?? null,
    replica: node.info?.keys.replica ?? null,
    total: node.info?.keys.total ?? null,
  }));
}

/** Keys counted once each: the sum of primaries of the reachable nodes (null if none answered). */
export function distinctKeyEstimate(rows: readonly KeyDistributionRow[]): number | null {
  const reachable = rows.filter((row) => row.primary !== null);
  if (reachable.length === 0) return null;
  return reachable.reduce((sum, row) => sum + (row.primary ?? 0), 0);
}
