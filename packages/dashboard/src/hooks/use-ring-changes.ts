// The ring change an operator is confirming, the one being sent, and the outcome of the
// last one per member. Every request goes to the serving node (lib/ring-change.ts): join
// and leave of another member with ?node=<id>, which the serving node asks of that member.
import { useCallback, useState } from 'react';
import { describeRingChangeAnswer, describeRingChangeError, type RingAction, type RingChangeAnswer } from '../lib/ring-change';
import { useDashboardSession } from '../session-context';

export interface RingChangeRequest {
  nodeId: string;
  action: RingAction;
}

export type RingChangeOutcome = { tone: 'success' | 'error'; text: string };

export interface RingChanges {
  /** The change shown for confirmation, or null. */
  pending: RingChangeRequest | null;
  /** The change sent and not yet answered, or null. */
  sending: RingChangeRequest | null;
  /** The outcome of the last change asked for each member, until the next one. */
  outcomes: ReadonlyMap<string, RingChangeOutcome>;
  ask(request: RingChangeRequest): void;
  cancel(): void;
  confirm(): Promise<void>;
}

/** `servingNodeId` serves this page; `onAnswer` hears each accepted change at once. */
export function useRingChanges(servingNodeId: string, onAnswer: (answer: RingChangeAnswer) => void): RingChanges {
  const { client } = useDashboardSession().api;
  const [pending, setPending] = useState<RingChangeRequest | null>(null);
  const [sending, setSending] = useState<RingChangeRequest | null>(null);
  const [outcomes, setOutcomes] = useState<ReadonlyMap<string, RingChangeOutcome>>(new Map());
  const setOutcome = (nodeId: string, outcome: RingChangeOutcome) => setOutcomes((previous) => new Map(previous).set(nodeId, outcome));

  const ask = useCallback((request: RingChangeRequest) => setPending(request), []);
  const cancel = useCallback(() => setPending(null), []);

  const confirm = async () => {
    if (pending === null || sending !== null) return;
    const { nodeId, action } = pending;
    // The serving node changes itself without forwarding; any other member is asked through it.
    const member = nodeId === servingNodeId ? undefined : nodeId;
    setSending(pending);
    try {
      const change = action === 'remove' ? await client.remove(nodeId) : action === 'join' ? await client.join(member) : await client.leave(member);
      onAnswer({ change, atMs: Date.now() });
      setOutcome(nodeId, { tone: 'success', text: describeRingChangeAnswer(change) });
    } catch (caught) {
      setOutcome(nodeId, { tone: 'error', text: describeRingChangeError(caught, action, nodeId) });
    } finally {
      setSending(null);
      setPending(null);
    }
  };

  return { pending, sending, outcomes, ask, cancel, confirm };
}
