// Join, Leave and Remove beside a member's ring status in the cluster overview (admin
// tokens only: the node refuses ring changes to every other role), the confirmation shown
// in a row under the member's before anything is sent, and the answer or the node's
// problem, which stays in a row there until the next change asked of that member.
import { useEffect, useRef, type KeyboardEvent } from 'react';
import type { RingChangeOutcome, RingChangeRequest } from '../hooks/use-ring-changes';
import { describeConfirmation, ringActionLabels, type RingAction, type RingActionOffer, type RingMember } from '../lib/ring-change';

const busyLabels: Readonly<Record<RingAction, string>> = { join: 'Joining…', leave: 'Decommissioning…', remove: 'Removing…' };

interface RingChangeButtonsProps {
  nodeId: string;
  offers: readonly RingActionOffer[];
  /** A change is being sent (to any member): every button waits for its answer. */
  busy: boolean;
  onAsk: (request: RingChangeRequest) => void;
}

export function RingChangeButtons({ nodeId, offers, busy, onAsk }: RingChangeButtonsProps) {
  if (offers.length === 0) return null;
  return (
    <span className="ring-change-buttons">
      {offers.map(({ action, blockedBy }) => (
        <button
          key={action}
          type="button"
          className={action === 'join' ? 'secondary' : 'danger'}
          disabled={busy || blockedBy !== null}
          title={blockedBy === null ? undefined : `The node would refuse: ${blockedBy}`}
          aria-label={`${ringActionLabels[action]} ${nodeId}`}
          data-testid={`ring-change-${nodeId}-${action}`}
          onClick={() => onAsk({ nodeId, action })}
        >
          {ringActionLabels[action]}
        </button>
      ))}
    </span>
  );
}

/** The outcome of the last change asked of a member, under its row. */
export function RingChangeOutcomeRow({ nodeId, outcome, columns }: { nodeId: string; outcome: RingChangeOutcome; columns: number }) {
  const error = outcome.tone === 'error';
  return (
    <tr className="ring-change-outcome-row">
      <td colSpan={columns}>
        <span className={error ? 'row-error' : 'row-success'} role={error ? 'alert' : 'status'} data-testid={`ring-change-${nodeId}-${error ? 'error' : 'answer'}`}>
          {outcome.text}
        </span>
      </td>
    </tr>
  );
}

interface RingChangeConfirmRowProps {
  request: RingChangeRequest;
  member: RingMember;
  servingNodeId: string;
  sending: boolean;
  columns: number;
  onConfirm: () => void;
  onCancel: () => void;
}

/** The confirmation, as a table row under the member's: what will happen, and the two choices. */
export function RingChangeConfirmRow({ request, member, servingNodeId, sending, columns, onConfirm, onCancel }: RingChangeConfirmRowProps) {
  const { title, text, confirmLabel } = describeConfirmation(request.action, member, servingNodeId);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const testId = `ring-change-confirm-${request.nodeId}`;
  // The safe choice takes the focus, so a stray Enter does not change the ring.
  useEffect(() => cancelRef.current?.focus(), [request.nodeId, request.action]);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && !sending) onCancel();
  };
  return (
    <tr className="ring-change-confirm-row">
      <td colSpan={columns}>
        <div
          className="ring-change-confirm"
          role="alertdialog"
          aria-labelledby={`${testId}-title`}
          aria-describedby={`${testId}-text`}
          data-testid={testId}
          onKeyDown={onKeyDown}
        >
          <h3 id={`${testId}-title`}>{title}</h3>
          <p id={`${testId}-text`} data-testid={`${testId}-text`}>
            {text}
          </p>
          <div className="button-row">
            <button type="button" className={request.action === 'join' ? undefined : 'danger'} disabled={sending} data-testid={`${testId}-yes`} onClick={onConfirm}>
              {sending ? busyLabels[request.action] : confirmLabel}
            </button>
            <button type="button" className="secondary" ref={cancelRef} disabled={sending} data-testid={`${testId}-cancel`} onClick={onCancel}>
              Cancel
            </button>
          </div>
        </div>
      </td>
    </tr>
  );
}
