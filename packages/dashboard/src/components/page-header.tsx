// The top bar: cluster identity, which node serves this page, refresh freshness, and
// who the page acts as (the token's role).
import type { ClusterNodes } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { formatClockTime } from '../lib/format';
import { IdentityBadge } from './identity-badge';

const sectionLinks = [
  ['overview', 'Overview'],
  ['ring', 'Ring'],
  ['keys', 'Key distribution'],
  ['replication', 'Replication'],
  ['data-movement', 'Data movement'],
  ['traffic', 'Traffic'],
  ['explorer', 'Key explorer'],
  ['changes', 'Changes'],
] as const;

export function PageHeader({ nodes }: { nodes: Polled<ClusterNodes> }) {
  const view = nodes.data;
  const servingInfo = view?.nodes.find((node) => node.nodeId === view.gatheredBy)?.info ?? null;
  return (
    <header className="page-header">
      <div className="page-title">
        <h1>
          ringkv <span className="page-subtitle">operator console</span>
        </h1>
        <p className="page-meta" data-testid="page-meta">
          {servingInfo !== null && (
            <>
              cluster <strong>{servingInfo.clusterName}</strong> · {servingInfo.replicas} replicas ·{' '}
              {servingInfo.vnodes} vnodes per node ·{' '}
            </>
          )}
          {view !== null ? (
            <>
              served by <strong data-testid="serving-node">{view.gatheredBy}</strong>
            </>
          ) : (
            'connecting…'
          )}
          <FreshnessIndicator nodes={nodes} />
        </p>
      </div>
      <div className="page-header-side">
        <IdentityBadge />
        <nav aria-label="Sections">
          <ul className="section-links">
            {sectionLinks.map(([id, label]) => (
              <li key={id}>
                <a href={`#${id}`}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
      </div>
    </header>
  );
}

function FreshnessIndicator({ nodes }: { nodes: Polled<ClusterNodes> }) {
  if (nodes.updatedAtMs === null) return null;
  const healthy = nodes.error === null;
  return (
    <span className={`freshness ${healthy ? 'freshness-live' : 'freshness-stale'}`}>
      <span className="freshness-dot" aria-hidden="true" />
      {healthy ? 'live' : 'stale'} · updated {formatClockTime(nodes.updatedAtMs)}
    </span>
  );
}
