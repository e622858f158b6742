// Section 1: every member with its state, its place in the ring and the figures from its
// own /node-info; admin tokens get the ring changes each member accepts (Join, Leave,
// Remove), confirmed before they are sent. An accepted change shows in the Ring column at
// once, and the polls carry it on from there (joining, normal; leaving, left).
import { Fragment, useCallback, useState } from 'react';
import type { ClusterNodes, DiskInfo, NodeView, RingStatus, TrafficSummary } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { useRingChanges, type RingChanges } from '../hooks/use-ring-changes';
import { formatBytes, formatCount, formatDurationSeconds, formatLatencyMs, formatPercent, formatRate } from '../lib/format';
import { ringActionsOf, ringStatusWithAnswer, type RingActionOffer, type RingChangeAnswer, type RingMember } from '../lib/ring-change';
import { ringStatusOf } from '../lib/ring-status';
import { useDashboardSession } from '../session-context';
import { NodeName } from './node-swatch';
import { NodeStateBadge } from './node-state-badge';
import { RingChangeButtons, RingChangeConfirmRow, RingChangeOutcomeRow } from './ring-change-controls';
import { RingStatusBadge } from './ring-status-badge';
import { Section } from './section';
import { EmptyMessage, ErrorMessage, LoadingMessage, StaleNotice } from './state-message';

interface ClusterOverviewProps {
  nodes: Polled<ClusterNodes>;
  colors: ReadonlyMap<string, string>;
}

export function ClusterOverview({ nodes, colors }: ClusterOverviewProps) {
  const controllable = useDashboardSession().permissions.admin;
  const [answers, setAnswers] = useState<ReadonlyMap<string, RingChangeAnswer>>(new Map());
  const onAnswer = useCallback(
    (answer: RingChangeAnswer) => setAnswers((previous) => new Map(previous).set(answer.change.nodeId, answer)),
    [],
  );
  const view = nodes.data;
  return (
    <Section
      id="overview"
      title="Cluster overview"
      description={`Each member as the serving node sees it, with figures from the member's own report.${controllable ? '' : ' Joining, decommissioning or removing members needs an admin token.'}`}
      aside={view !== null && <StateSummary nodes={view.nodes} />}
    >
      {nodes.error !== null && view !== null && <StaleNotice error={nodes.error} updatedAtMs={nodes.updatedAtMs} />}
      {view === null ? (
        nodes.error !== null ? (
          <ErrorMessage>Could not load the cluster view: {nodes.error}. Retrying.</ErrorMessage>
        ) : (
          <LoadingMessage>Loading the cluster view…</LoadingMessage>
        )
      ) : view.nodes.length === 0 ? (
        <EmptyMessage>The serving node reports no members.</EmptyMessage>
      ) : (
        <NodeTable view={view} colors={colors} controllable={controllable} answers={answers} polledAtMs={nodes.updatedAtMs} onAnswer={onAnswer} />
      )}
    </Section>
  );
}

function StateSummary({ nodes }: { nodes: readonly NodeView[] }) {
  const count = (state: NodeView['state']) => nodes.filter((node) => node.state === state).length;
  return (
    <p className="state-summary" data-testid="cluster-summary">
      {nodes.length} nodes: <span className="state-count-up">{count('up')} up</span>
      {count('suspect') > 0 && <span className="state-count-suspect">, {count('suspect')} suspect</span>}
      {count('down') > 0 && <span className="state-count-down">, {count('down')} down</span>}
    </p>
  );
}

interface NodeTableProps {
  view: ClusterNodes;
  colors: ReadonlyMap<string, string>;
  /** Whether the token may change the ring (admin); otherwise the column is left out. */
  controllable: boolean;
  answers: ReadonlyMap<string, RingChangeAnswer>;
  polledAtMs: number | null;
  onAnswer: (answer: RingChangeAnswer) => void;
}

const columnCount = 11;

function NodeTable({ view, colors, controllable, answers, polledAtMs, onAnswer }: NodeTableProps) {
  const changes = useRingChanges(view.gatheredBy, onAnswer);
  const members: RingMember[] = view.nodes.map((node) => ({
    nodeId: node.nodeId,
    state: node.state,
    ringStatus: ringStatusWithAnswer(ringStatusOf(view, node.nodeId), answers.get(node.nodeId), polledAtMs),
  }));
  const replicas = view.nodes.find((node) => node.nodeId === view.gatheredBy)?.info?.replicas ?? null;
  return (
    <div className="table-scroll">
      <table className="data-table" data-testid="node-table">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">State</th>
            <th scope="col">Ring</th>
            <th scope="col">Address</th>
            <th scope="col" className="numeric">Uptime</th>
            <th scope="col" className="numeric">Keys stored</th>
            <th scope="col" className="numeric">Memory (RSS)</th>
            <th scope="col" className="numeric">Disk</th>
            <th scope="col" className="numeric">Requests/s</th>
            <th scope="col" className="numeric">p99 latency</th>
            <th scope="col" className="numeric">Ring share</th>
          </tr>
        </thead>
        <tbody>
          {view.nodes.map((node, index) => {
            const member = members[index] as RingMember;
            const outcome = changes.outcomes.get(node.nodeId);
            return (
              <Fragment key={node.nodeId}>
                <NodeRow
                  node={node}
                  colors={colors}
                  serving={node.nodeId === view.gatheredBy}
                  ringStatus={member.ringStatus}
                  controls={controllable ? { changes, offers: ringActionsOf(member, members, replicas, view.gatheredBy) } : null}
                />
                {controllable && changes.pending?.nodeId === node.nodeId && (
                  <RingChangeConfirmRow
                    request={changes.pending}
                    member={member}
                    servingNodeId={view.gatheredBy}
                    sending={changes.sending !== null}
                    columns={columnCount}
                    onConfirm={() => void changes.confirm()}
                    onCancel={changes.cancel}
                  />
                )}
                {controllable && outcome !== undefined && <RingChangeOutcomeRow nodeId={node.nodeId} outcome={outcome} columns={columnCount} />}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface NodeRowProps {
  node: NodeView;
  colors: ReadonlyMap<string, string>;
  serving: boolean;
  ringStatus: RingStatus | null;
  /** The ring changes offered for this member, null when the token may make none. */
  controls: { changes: RingChanges; offers: readonly RingActionOffer[] } | null;
}

function NodeRow({ node, colors, serving, ringStatus, controls }: NodeRowProps) {
  const info = node.info;
  return (
    <tr className={`node-row node-row-${node.state}`} data-testid={`node-row-${node.nodeId}`}>
      <th scope="row">
        <NodeName nodeId={node.nodeId} colors={colors} />
        {serving && <span className="tag">serving this page</span>}
      </th>
      <td>
        <NodeStateBadge nodeId={node.nodeId} state={node.state} />
      </td>
      <td>
        <RingStatusBadge nodeId={node.nodeId} status={ringStatus} />
        {controls !== null && (
          <RingChangeButtons nodeId={node.nodeId} offers={controls.offers} busy={controls.changes.sending !== null} onAsk={controls.changes.ask} />
        )}
      </td>
      <td>
        <code>{node.address}</code>
        {node.error !== null && (
          <span className="row-error" data-testid={`node-error-${node.nodeId}`}>
            {node.error}
          </span>
        )}
      </td>
      <td className="numeric">{info ? formatDurationSeconds(info.uptimeSeconds) : '–'}</td>
      <td className="numeric">{info ? formatCount(info.keys.total) : '–'}</td>
      <td className="numeric">{info ? formatBytes(info.memory.rssBytes) : '–'}</td>
      <td className="numeric">{info?.disk ? <DiskCell nodeId={node.nodeId} disk={info.disk} /> : '–'}</td>
      <td className="numeric">{info ? formatRate(info.traffic.requestsPerSecond) : '–'}</td>
      <td className="numeric">{info ? <RecentP99 traffic={info.traffic} /> : '–'}</td>
      <td className="numeric">{info ? formatPercent(info.ringShare) : '–'}</td>
    </tr>
  );
}

/** Disk use and free space of the data directory; a full or failed disk, or one past the warning threshold, is flagged (docs/architecture.md, "Disk full"). */
function DiskCell({ nodeId, disk }: { nodeId: string; disk: DiskInfo }) {
  const use = disk.usedPercent === null ? '–' : `${disk.usedPercent}%`;
  const free = disk.freeBytes === null ? '' : `, ${formatBytes(disk.freeBytes)} free`;
  return (
    <span title={disk.warning ?? undefined} data-testid={`node-disk-${nodeId}`}>
      {use}
      {free}
      {disk.state !== 'ok' ? (
        <span className="tag tag-disk-alert">{disk.state === 'full' ? 'full: writes refused' : 'failed: writes stopped'}</span>
      ) : disk.warning !== null ? (
        <span className="tag tag-disk-alert">nearly full</span>
      ) : null}
    </span>
  );
}

/** A node that served nothing recently has no latency to show (its p99 reads as 0). */
function RecentP99({ traffic }: { traffic: TrafficSummary }) {
  if (traffic.requestsPerSecond <= 0) return <span title="no requests in the last 10 s">–</span>;
  return <>{formatLatencyMs(traffic.p99Ms)}</>;
}
