// Geometry of the ring picture: token ranges become annular sectors, and primary
// ranges add up to each node's ownership share. Tokens are unsigned 32-bit positions;
// a range (start, end] may wrap past zero (see RingRange in the client's types).
import type { RingLayout, RingRange } from '@ringkv/client';

export const tokenSpaceDefault = 2 ** 32;

/** Tokens covered by (start, end]; a range whose start equals its end covers the whole ring. */
export function rangeWidth(range: Pick<RingRange, 'start' | 'end'>, tokenSpace = tokenSpaceDefault): number {
  const width = (((range.end - range.start) % tokenSpace) + tokenSpace) % tokenSpace;
  return width === 0 ? tokenSpace : width;
}

/**
 * Share of the ring each node owns as primary (replicas[0]), 0..1. Every node that
 * appears in any replica set is listed, with 0 if it is primary nowhere.
 */
export function primaryShares(layout: RingLayout): Map<string, number> {
  const shares = new Map<string, number>();
  for (const range of layout.ranges) {
    for (const nodeId of range.replicas) if (!shares.has(nodeId)) shares.set(nodeId, 0);
    const primary = range.replicas[0];
    if (primary === undefined) continue;
    shares.set(primary, (shares.get(primary) ?? 0) + rangeWidth(range, layout.tokenSpace) / layout.tokenSpace);
  }
  return shares;
}

/** Count of ranges (virtual-node slices) for which each node is primary. */
export function primaryRangeCounts(layout: RingLayout): Map<string, number> {
  const counts = new Map<string, number>();
  for (const range of layout.ranges) {
    const primary = range.replicas[0];
    if (primary !== undefined) counts.set(primary, (counts.get(primary) ?? 0) + 1);
  }
  return counts;
}

/** Angle in radians, clockwise from twelve o'clock, of a token. */
export function tokenAngle(token: number, tokenSpace = tokenSpaceDefault): number {
  return (token / tokenSpace) * 2 * Math.PI;
}

export interface Point {
  x: number;
  y: number;
}

/** SVG coordinates (y grows downwards) of the point at `angle` clockwise from the top. */
export function polarPoint(center: Point, radius: number, angle: number): Point {
  return { x: center.x + radius * Math.sin(angle), y: center.y - radius * Math.cos(angle) };
}

export interface SectorShape {
  center: Point;
  innerRadius: number;
  outerRadius: number;
  startAngle: number;
  /** Greater than startAngle; at most startAngle + 2π. */
  endAngle: number;
}

const fullTurn = 2 * Math.PI;

/** SVG path data for a ring sector; a full turn is drawn as two halves so both arcs are defined. */
export function sectorPath(shape: SectorShape): string {
  const sweep = shape.endAngle - shape.startAngle;
  if (sweep >= fullTurn - 1e-9) {
    const middle = shape.startAngle + Math.PI;
    return [
      sectorPath({ ...shape, endAngle: middle }),
      sectorPath({ ...shape, startAngle: middle, endAngle: shape.startAngle + fullTurn }),
    ].join(' ');
  }
  const largeArc = sweep > Math.PI ? 1 : 0;
  const outerStart = polarPoint(shape.center, shape.outerRadius, shape.startAngle);
  const outerEnd = polarPoint(shape.center, shape.outerRadius, shape.endAngle);
  const innerEnd = polarPoint(shape.center, shape.innerRadius, shape.endAngle);
  const innerStart = polarPoint(shape.center, shape.innerRadius, shape.startAngle);
  const r = (value: number) => round(value);
  return [
    `M ${r(outerStart.x)} ${r(outerStart.y)}`,
    `A ${r(shape.outerRadius)} ${r(shape.outerRadius)} 0 ${largeArc} 1 ${r(outerEnd.x)} ${r(outerEnd.y)}`,
    `L ${r(innerEnd.x)} ${r(innerEnd.y)}`,
    `A ${r(shape.innerRadius)} ${r(shape.innerRadius)} 0 ${largeArc} 0 ${r(innerStart.x)} ${r(innerStart.y)}`,
    'Z',
  ].join(' ');
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export interface RingSegment {
  index: number;
  range: RingRange;
  width: number;
  startAngle: number;
  endAngle: number;
}

/** Each range's angular extent; a wrapping range's end angle passes 2π so the sweep stays positive. */
export function ringSegments(layout: RingLayout): RingSegment[] {
  return layout.ranges.map((range, index) => {
    const width = rangeWidth(range, layout.tokenSpace);
    const startAngle = tokenAngle(range.start, layout.tokenSpace);
    return { index, range, width, startAngle, endAngle: startAngle + tokenAngle(width, layout.tokenSpace) };
  });
}

/** A token as 8 hex digits, the way operators compare hash positions. */
export function formatToken(token: number): string {
  return `0x${token.toString(16).padStart(8, '0')}`;
}

/** Human description of a range: `(0x00000010, 0x00000020]`. */
export function formatRangeSpan(range: Pick<RingRange, 'start' | 'end'>): string {
  return `(${formatToken(range.start)}, ${formatToken(range.end)}]`;
}
