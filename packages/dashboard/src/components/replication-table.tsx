// Section 4: replication health per node. Hinted handoff and anti-entropy are not built
// yet; their columns say so instead of showing a misleading zero.
import type { ClusterNodes, NodeView } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { formatCount, formatDurationSeconds } from '../lib/format';
import { NodeName } from './node-swatch';
import { Section } from './section';
import { ErrorMessage, LoadingMessage } from './state-message';

interface ReplicationTableProps {
  nodes: Polled<ClusterNodes>;
  colors: ReadonlyMap<string, string>;
}

export function ReplicationTable({ nodes, colors }: ReplicationTableProps) {
  return (
    <Section
      id="replication"
      title="Replication status"
      description="Writes a replica failed to acknowledge, stale copies fixed by reads, and the self-healing backlog."
    >
      {nodes.data === null ? (
        nodes.error !== null ? (
          <ErrorMessage>Could not load replication status: {nodes.error}</ErrorMessage>
        ) : (
          <LoadingMessage>Loading replication status…</LoadingMessage>
        )
      ) : (
        <div className="table-scroll">
          <table className="data-table" data-testid="replication-table">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col" className="numeric">Failed replica writes</th>
                <th scope="col" className="numeric">Read repairs</th>
                <th scope="col" className="numeric">Pending hints</th>
                <th scope="col" className="numeric">Repair horizon</th>
              </tr>
            </thead>
            <tbody>
              {nodes.data.nodes.map((node) => (
                <ReplicationRow key={node.nodeId} node={node} colors={colors} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function ReplicationRow({ node, colors }: { node: NodeView; colors: ReadonlyMap<string, string> }) {
  const replication = node.info?.replication ?? null;
  return (
    <tr data-testid={`replication-row-${node.nodeId}`}>
      <th scope="row">
        <NodeName nodeId={node.nodeId} colors={colors} />
      </th>
      {replication === null ? (
        <td colSpan={4} className="muted">
          unreachable
        </td>
      ) : (
        <>
          <td className="numeric">{formatCount(replication.failedReplicaWrites)}</td>
          <td className="numeric">{formatCount(replication.readRepairs)}</td>
          <td className="numeric">
            {replication.pendingHints === null ? <NotYet /> : formatCount(replication.pendingHints)}
          </td>
          <td className="numeric">
            {replication.repairHorizonMs === null ? <NotYet /> : formatDurationSeconds(replication.repairHorizonMs / 1000)}
          </td>
        </>
      )}
    </tr>
  );
}

function NotYet() {
  return <span className="muted not-yet">not yet available</span>;
}
