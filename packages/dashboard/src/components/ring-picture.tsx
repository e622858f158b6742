// The ring as an SVG: one sector per token range, one band per replica position.
// Ranges are reachable by keyboard with a roving tab stop: Tab enters the ring once on
// the selected range, the arrow keys move between ranges, Home and End jump to the ends.
import { memo, useRef, type KeyboardEvent } from 'react';
import { colorOf } from '../lib/node-colors';
import { formatRangeSpan, sectorPath, type RingSegment, type SectorShape } from '../lib/ring-geometry';

const size = 320;
const center = { x: size / 2, y: size / 2 };
const primaryBand = { innerRadius: 120, outerRadius: 152 };
const replicaBandWidth = 13;
const bandGap = 3;
const bandsMax = 5;

/** Radii of the band for a replica position: the primary band outside, later replicas inwards. */
function bandRadii(position: number): Pick<SectorShape, 'innerRadius' | 'outerRadius'> {
  if (position === 0) return primaryBand;
  const outerRadius = primaryBand.innerRadius - bandGap - (position - 1) * (replicaBandWidth + bandGap);
  return { innerRadius: outerRadius - replicaBandWidth, outerRadius };
}

interface RingPictureProps {
  segments: readonly RingSegment[];
  colors: ReadonlyMap<string, string>;
  /** The range outlined: hovered, else selected. */
  activeIndex: number | null;
  selectedIndex: number | null;
  onHover: (index: number | null) => void;
  onSelect: (index: number) => void;
}

export function RingPicture({ segments, colors, activeIndex, selectedIndex, onHover, onSelect }: RingPictureProps) {
  const svgRef = useRef<SVGSVGElement>(null);
  const active = activeIndex === null ? undefined : segments[activeIndex];
  const tabStop = selectedIndex ?? 0;

  const moveFocus = (index: number) => {
    const count = segments.length;
    const target = ((index % count) + count) % count;
    onSelect(target);
    svgRef.current?.querySelector<SVGGElement>(`[data-range-index="${target}"]`)?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<SVGSVGElement>) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    const step = moves[event.key];
    if (step !== undefined) moveFocus(tabStop + step);
    else if (event.key === 'Home') moveFocus(0);
    else if (event.key === 'End') moveFocus(segments.length - 1);
    else return;
    event.preventDefault();
  };

  return (
    <svg
      ref={svgRef}
      className="ring-picture"
      viewBox={`0 0 ${size} ${size}`}
      role="group"
      aria-label={`Hash ring with ${segments.length} token ranges. Use the arrow keys to move between ranges.`}
      data-testid="ring-picture"
      onKeyDown={onKeyDown}
      onMouseLeave={() => onHover(null)}
    >
      <RingSectors segments={segments} colors={colors} tabStop={tabStop} onHover={onHover} onSelect={onSelect} />
      {active !== undefined && <ActiveOutline segment={active} />}
      <line
        x1={center.x}
        y1={center.y - primaryBand.outerRadius - 6}
        x2={center.x}
        y2={center.y - primaryBand.outerRadius + 2}
        className="ring-zero-tick"
      />
      <text x={center.x} y={center.y - 4} className="ring-center-label" textAnchor="middle">
        {segments.length} ranges
      </text>
      <text x={center.x} y={center.y + 14} className="ring-center-sublabel" textAnchor="middle">
        token 0 at the top
      </text>
    </svg>
  );
}

interface RingSectorsProps {
  segments: readonly RingSegment[];
  colors: ReadonlyMap<string, string>;
  tabStop: number;
  onHover: (index: number | null) => void;
  onSelect: (index: number) => void;
}

/** Memoised: hovering changes only the outline, not these hundreds of paths. */
const RingSectors = memo(function RingSectors({ segments, colors, tabStop, onHover, onSelect }: RingSectorsProps) {
  return (
    <g>
      {segments.map((segment) => (
        <g
          key={segment.index}
          className="ring-range"
          data-range-index={segment.index}
          data-testid={`ring-range-${segment.index}`}
          tabIndex={segment.index === tabStop ? 0 : -1}
          role="button"
          aria-label={`Range ${segment.index + 1}: tokens ${formatRangeSpan(segment.range)}, replicas ${segment.range.replicas.join(', ')}`}
          onMouseEnter={() => onHover(segment.index)}
          onClick={() => onSelect(segment.index)}
          onFocus={() => onSelect(segment.index)}
        >
          {segment.range.replicas.slice(0, bandsMax).map((nodeId, position) => (
            <path
              key={position}
              d={sectorPath({ center, ...bandRadii(position), startAngle: segment.startAngle, endAngle: segment.endAngle })}
              fill={colorOf(colors, nodeId)}
              fillOpacity={position === 0 ? 1 : 0.7}
            />
          ))}
        </g>
      ))}
    </g>
  );
});

function ActiveOutline({ segment }: { segment: RingSegment }) {
  const innermost = bandRadii(Math.min(segment.range.replicas.length, bandsMax) - 1).innerRadius;
  const d = sectorPath({
    center,
    innerRadius: innermost - 2,
    outerRadius: primaryBand.outerRadius + 4,
    startAngle: segment.startAngle,
    endAngle: segment.endAngle,
  });
  return <path d={d} className="ring-active-outline" data-testid="ring-active-outline" />;
}
