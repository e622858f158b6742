// A member's place in the ring as text and colour, shaped like the state badges.
import type { RingStatus } from '@ringkv/client';

const ringStatusTitles: Record<RingStatus, string> = {
  standby: 'a member outside the ring: it coordinates requests and holds no data until told to join',
  joining: 'receiving its ranges from their current owners',
  normal: 'owns its ranges',
  leaving: 'handing its ranges to their new owners',
  left: 'no longer part of the ring',
};

export function RingStatusBadge({ nodeId, status }: { nodeId: string; status: RingStatus | null }) {
  if (status === null) {
    return (
      <span className="muted" title="neither the serving node nor the member reported it" data-testid={`ring-status-${nodeId}`}>
        –
      </span>
    );
  }
  return (
    <span className={`state ring-${status}`} title={ringStatusTitles[status]} data-testid={`ring-status-${nodeId}`}>
      {status}
    </span>
  );
}
