// Section 5: request rate and latency over the last minutes, per node and for the
// whole cluster, from the 5-second history each node keeps.
import { useMemo } from 'react';
import type { ClusterNodes } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { buildTrafficRows } from '../lib/traffic-series';
import { Section } from './section';
import { TrafficChart } from './traffic-chart';
import { EmptyMessage, ErrorMessage, LoadingMessage } from './state-message';

interface TrafficChartsProps {
  nodes: Polled<ClusterNodes>;
  colors: ReadonlyMap<string, string>;
}

export function TrafficCharts({ nodes, colors }: TrafficChartsProps) {
  const reporting = useMemo(
    () =>
      (nodes.data?.nodes ?? []).flatMap((node) =>
        node.info === null
          ? []
          : [{ nodeId: node.nodeId, history: node.info.traffic.history, startedAtMs: node.info.startedAtMs }],
      ),
    [nodes.data],
  );
  const rows = useMemo(() => buildTrafficRows(reporting), [reporting]);
  const nodeIds = reporting.map((node) => node.nodeId);
  return (
    <Section
      id="traffic"
      title="Live traffic"
      description="One point per 5 seconds over the last 5 minutes. Unreachable nodes drop out until they answer again."
    >
      {nodes.data === null ? (
        nodes.error !== null ? (
          <ErrorMessage>Could not load traffic: {nodes.error}</ErrorMessage>
        ) : (
          <LoadingMessage>Loading traffic…</LoadingMessage>
        )
      ) : rows.length === 0 ? (
        <EmptyMessage>No traffic history yet: the first point appears after 5 seconds.</EmptyMessage>
      ) : (
        <div className="chart-grid">
          <TrafficChart title="Requests per second" metric="requestsPerSecond" clusterLabel="cluster (sum)" rows={rows} nodeIds={nodeIds} colors={colors} />
          <TrafficChart title="Latency p50" metric="p50Ms" clusterLabel="cluster (mean weighted by requests/s)" rows={rows} nodeIds={nodeIds} colors={colors} />
          <TrafficChart title="Latency p99" metric="p99Ms" clusterLabel="cluster (max over nodes)" rows={rows} nodeIds={nodeIds} colors={colors} />
        </div>
      )}
    </Section>
  );
}
