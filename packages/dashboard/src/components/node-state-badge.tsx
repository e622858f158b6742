// A member's state as text and colour (never colour alone).
import type { MemberState } from '@ringkv/client';

const stateTitles: Record<MemberState, string> = {
  up: 'answering probes',
  suspect: 'missed probes; will be declared down unless it answers',
  down: 'declared down by the failure detector',
};

export function NodeStateBadge({ nodeId, state }: { nodeId: string; state: MemberState }) {
  return (
    <span className={`state state-${state}`} title={stateTitles[state]} data-testid={`node-state-${nodeId}`}>
      {state}
    </span>
  );
}
