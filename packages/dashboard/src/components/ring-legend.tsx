// Each owner's share of the ring as primary replica, which is the share of keys it
// coordinates first; the shares add up to 100%.
import { formatPercent } from '../lib/format';
import { sortNodeIds } from '../lib/node-colors';
import { NodeName } from './node-swatch';

interface RingLegendProps {
  shares: ReadonlyMap<string, number>;
  rangeCounts: ReadonlyMap<string, number>;
  colors: ReadonlyMap<string, string>;
}

export function RingLegend({ shares, rangeCounts, colors }: RingLegendProps) {
  return (
    <ul className="ring-legend" aria-label="Ring ownership by node" data-testid="ring-legend">
      {sortNodeIds(shares.keys()).map((nodeId) => {
        const share = shares.get(nodeId) ?? 0;
        return (
          <li key={nodeId} data-testid={`ring-legend-${nodeId}`} data-share={share}>
            <NodeName nodeId={nodeId} colors={colors} />
            <span className="ring-legend-share" data-testid={`ring-share-${nodeId}`}>
              {formatPercent(share, 2)}
            </span>
            <span className="ring-legend-ranges">{rangeCounts.get(nodeId) ?? 0} ranges as primary</span>
            <span className="share-bar" aria-hidden="true">
              <span style={{ width: formatPercent(share, 2), background: colors.get(nodeId) }} />
            </span>
          </li>
        );
      })}
    </ul>
  );
}
