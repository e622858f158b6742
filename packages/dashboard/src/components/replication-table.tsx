// Section 4: replication health per node: failed writes, read repairs, the hinted-handoff
// backlog, the repair horizon and the tombstones kept until every replica has seen them.
// A figure the node cannot give yet says so instead of showing a misleading zero. Times
// are shown as ages against the serving node's clock (gatheredAtMs), not the browser's.
import type { ClusterNodes, NodeView, ReplicationStatus } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { formatAge, formatClockTime, formatCount } from '../lib/format';
import { NodeName } from './node-swatch';
import { RepairControl } from './repair-control';
import { Section } from './section';
import { ErrorMessage, LoadingMessage } from './state-message';

interface ReplicationTableProps {
  nodes: Polled<ClusterNodes>;
  colors: ReadonlyMap<string, string>;
}

export function ReplicationTable({ nodes, colors }: ReplicationTableProps) {
  const view = nodes.data;
  return (
    <Section
      id="replication"
      title="Replication status"
      description="Writes a replica failed to acknowledge, stale copies fixed by reads, the self-healing backlog, and the tombstones of deleted keys."
    >
      <RepairControl />
      {view !== null && <ReplicaCountNotes view={view} />}
      {view === null ? (
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
                <th scope="col" className="numeric">Tombstones held</th>
                <th scope="col" className="numeric">Tombstones purged</th>
                <th scope="col" className="numeric">Purged before</th>
              </tr>
            </thead>
            <tbody>
              {view.nodes.map((node) => (
                <ReplicationRow key={node.nodeId} node={node} colors={colors} nowMs={view.gatheredAtMs} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** Says so when keys have fewer than N replicas (a cluster of one, or a ring still growing to N). */
function ReplicaCountNotes({ view }: { view: ClusterNodes }) {
  const notes = [...new Set(view.nodes.flatMap((node) => (node.info?.replication.note ? [node.info.replication.note] : [])))];
  if (notes.length === 0) return null;
  return (
    <p className="message" role="status" data-testid="replica-count-note">
      {notes.join(' ')}
    </p>
  );
}

interface ReplicationRowProps {
  node: NodeView;
  colors: ReadonlyMap<string, string>;
  /** The serving node's time of the view, to age the node's timestamps against. */
  nowMs: number;
}

function ReplicationRow({ node, colors, nowMs }: ReplicationRowProps) {
  const replication = node.info?.replication ?? null;
  return (
    <tr data-testid={`replication-row-${node.nodeId}`}>
      <th scope="row">
        <NodeName nodeId={node.nodeId} colors={colors} />
      </th>
      {replication === null ? (
        <td colSpan={7} className="muted">
          unreachable
        </td>
      ) : (
        <>
          <td className="numeric">{formatCount(replication.failedReplicaWrites)}</td>
          <td className="numeric">{formatCount(replication.readRepairs)}</td>
          <td className="numeric">
            {replication.pendingHints === null ? <NotYet /> : formatCount(replication.pendingHints)}
          </td>
          <td className="numeric" data-testid={`repair-horizon-${node.nodeId}`}>
            {replication.repairHorizonMs === null ? <NotYet /> : <Age timeMs={replication.repairHorizonMs} nowMs={nowMs} />}
          </td>
          <TombstoneCells nodeId={node.nodeId} replication={replication} nowMs={nowMs} />
        </>
      )}
    </tr>
  );
}

function TombstoneCells({ nodeId, replication, nowMs }: { nodeId: string; replication: ReplicationStatus; nowMs: number }) {
  return (
    <>
      <td className="numeric" data-testid={`tombstones-${nodeId}`}>
        {formatCount(replication.tombstones)}
      </td>
      <td className="numeric" data-testid={`tombstones-purged-${nodeId}`}>
        {formatCount(replication.tombstonesPurged)}
      </td>
      <td className="numeric" data-testid={`purged-before-${nodeId}`}>
        {/* 0: no purge has run yet, so every tombstone since the start is kept. */}
        {replication.purgedBeforeMs === 0 ? (
          <span className="muted" title="no tombstone purged since the node started">
            never
          </span>
        ) : (
          <Age timeMs={replication.purgedBeforeMs} nowMs={nowMs} />
        )}
      </td>
    </>
  );
}

/** An age, with the time of day on hover. */
function Age({ timeMs, nowMs }: { timeMs: number; nowMs: number }) {
  return <span title={`at ${formatClockTime(timeMs)}`}>{formatAge(timeMs, nowMs)}</span>;
}

function NotYet() {
  return <span className="muted not-yet">not yet available</span>;
}
