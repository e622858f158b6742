// What the hovered or focused ring range covers and which nodes hold it.
import { formatPercent } from '../lib/format';
import { formatRangeSpan, type RingSegment } from '../lib/ring-geometry';
import { NodeName } from './node-swatch';

interface RangeDetailsProps {
  segment: RingSegment | null;
  total: number;
  tokenSpace: number;
  colors: ReadonlyMap<string, string>;
}

export function RangeDetails({ segment, total, tokenSpace, colors }: RangeDetailsProps) {
  return (
    <div className="range-details" aria-live="polite" data-testid="ring-range-details">
      {segment === null ? (
        <p className="hint">Hover over a range, or Tab into the ring and use the arrow keys, to see its tokens and replicas.</p>
      ) : (
        <>
          <h3>
            Range {segment.index + 1} of {total}
          </h3>
          <dl className="facts">
            <dt>Tokens</dt>
            <dd>
              <code data-testid="ring-range-span">{formatRangeSpan(segment.range)}</code>
            </dd>
            <dt>Width</dt>
            <dd>{formatPercent(segment.width / tokenSpace, 3)} of the ring</dd>
            <dt>Replicas</dt>
            <dd>
              <ol className="replica-list" data-testid="ring-range-replicas">
                {segment.range.replicas.map((nodeId, position) => (
                  <li key={nodeId}>
                    <NodeName nodeId={nodeId} colors={colors} />
                    {position === 0 && <span className="tag">primary</span>}
                  </li>
                ))}
              </ol>
            </dd>
          </dl>
        </>
      )}
    </div>
  );
}
