// Section 2: the consistent-hash ring, its owners' shares, and details of one range.
import { useMemo, useState } from 'react';
import type { RingLayout } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { primaryRangeCounts, primaryShares, ringSegments } from '../lib/ring-geometry';
import { RangeDetails } from './ring-range-details';
import { RingLegend } from './ring-legend';
import { RingPicture } from './ring-picture';
import { Section } from './section';
import { EmptyMessage, ErrorMessage, LoadingMessage, StaleNotice } from './state-message';

interface RingViewProps {
  ring: Polled<RingLayout>;
  colors: ReadonlyMap<string, string>;
}

export function RingView({ ring, colors }: RingViewProps) {
  const layout = ring.data;
  return (
    <Section
      id="ring"
      title="Ring"
      description="Token ranges clockwise from 0 at the top. Outer band: primary owner; inner bands: the next replicas in preference order."
    >
      {ring.error !== null && layout !== null && <StaleNotice error={ring.error} updatedAtMs={ring.updatedAtMs} />}
      {layout === null ? (
        ring.error !== null ? (
          <ErrorMessage>Could not load the ring: {ring.error}. Retrying.</ErrorMessage>
        ) : (
          <LoadingMessage>Loading the ring…</LoadingMessage>
        )
      ) : layout.ranges.length === 0 ? (
        <EmptyMessage>The ring has no tokens yet.</EmptyMessage>
      ) : (
        <RingContent layout={layout} colors={colors} />
      )}
    </Section>
  );
}

function RingContent({ layout, colors }: { layout: RingLayout; colors: ReadonlyMap<string, string> }) {
  const segments = useMemo(() => ringSegments(layout), [layout]);
  const shares = useMemo(() => primaryShares(layout), [layout]);
  const rangeCounts = useMemo(() => primaryRangeCounts(layout), [layout]);
  // Hovering previews a range; clicking or focusing one selects it, and the selection
  // stays on show when the pointer leaves the ring.
  const [hoverIndex, setHoverIndex] = useState<number | null>(null);
  const [selectedIndex, setSelectedIndex] = useState<number | null>(null);
  const activeIndex = hoverIndex ?? selectedIndex;
  const active = activeIndex === null ? null : (segments[activeIndex] ?? null);
  return (
    <div className="ring-layout">
      <RingPicture
        segments={segments}
        colors={colors}
        activeIndex={activeIndex}
        selectedIndex={selectedIndex}
        onHover={setHoverIndex}
        onSelect={setSelectedIndex}
      />
      <div className="ring-side">
        <RingLegend shares={shares} rangeCounts={rangeCounts} colors={colors} />
        <RangeDetails segment={active} total={segments.length} tokenSpace={layout.tokenSpace} colors={colors} />
      </div>
    </div>
  );
}
