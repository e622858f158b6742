// ringkv's operator console: one page polling the serving node for the cluster's view.
import { useMemo } from 'react';
import { jobsPollMs, loadClusterJobs, loadClusterNodes, loadRing, nodesPollMs, ringPollMs } from './cluster-client';
import { ClusterOverview } from './components/cluster-overview';
import { DataMovement } from './components/data-movement';
import { KeyDistributionChart } from './components/key-distribution-chart';
import { KeyExplorer } from './components/key-explorer';
import { PageHeader } from './components/page-header';
import { ReplicationTable } from './components/replication-table';
import { RingView } from './components/ring-view';
import { TrafficCharts } from './components/traffic-charts';
import { usePolling } from './hooks/use-polling';
import { assignNodeColors, sortNodeIds } from './lib/node-colors';

export function App() {
  const nodes = usePolling(loadClusterNodes, nodesPollMs);
  const ring = usePolling(loadRing, ringPollMs);
  const jobs = usePolling(loadClusterJobs, jobsPollMs);

  // Colours come from every node id either view mentions; the joined id list keeps the
  // map's identity stable between polls so charts do not redraw for nothing.
  const nodeIdList = sortNodeIds([
    ...(nodes.data?.nodes.map((node) => node.nodeId) ?? []),
    ...(ring.data?.ranges.flatMap((range) => range.replicas) ?? []),
  ]).join('\n');
  const colors = useMemo(() => assignNodeColors(nodeIdList === '' ? [] : nodeIdList.split('\n')), [nodeIdList]);

  return (
    <>
      <a className="skip-link" href="#explorer">
        Skip to the key explorer
      </a>
      <PageHeader nodes={nodes} />
      <main className="page">
        <ClusterOverview nodes={nodes} colors={colors} />
        <div className="two-columns">
          <RingView ring={ring} colors={colors} />
          <KeyDistributionChart nodes={nodes} colors={colors} />
        </div>
        <ReplicationTable nodes={nodes} colors={colors} />
        <DataMovement jobs={jobs} nodes={nodes} colors={colors} />
        <TrafficCharts nodes={nodes} colors={colors} />
        <KeyExplorer colors={colors} servingNode={nodes.data?.gatheredBy ?? null} />
      </main>
    </>
  );
}
