// Ring changes an operator starts from the cluster overview: which of join, leave and
// remove a member is offered, what the confirmation says will happen, and how the answer
// reads. The offers mirror what a node accepts (ClusterNode.join, leave and remove in the
// core; README, "Adding and removing nodes"), so a button is not offered only to be
// refused: join for a member on standby, leave for one that is normal or on standby, remove
// for one declared down, and neither leave nor remove when fewer than N members would stay
// in the ring. Every request goes to the serving node: join and leave with ?node=<id>,
// which it asks of that member (only a node moves itself), remove by id, which it does itself.
import type { MemberState, RingChange, RingStatus } from '@ringkv/client';
import { carriesProblem, describeError } from './error-text.js';

export type RingAction = 'join' | 'leave' | 'remove';

/** A member as the overview shows it. */
export interface RingMember {
  nodeId: string;
  state: MemberState;
  /** Null when neither the serving node nor the member reported it. */
  ringStatus: RingStatus | null;
}

export interface RingActionOffer {
  action: RingAction;
  /** Why the node would refuse it now (the button is shown disabled with this), or null. */
  blockedBy: string | null;
}

/**
 * The ring changes `member` is offered, in the order shown. `replicas` is N (null when the
 * serving node has not said); `servingNodeId` serves this page and cannot remove itself.
 */
export function ringActionsOf(member: RingMember, members: readonly RingMember[], replicas: number | null, servingNodeId: string): RingActionOffer[] {
  const tooFew = () => tooFewRemaining(member.nodeId, members, replicas);
  if (member.state === 'up' && member.ringStatus === 'standby') {
    // A member on standby holds no ranges: it may leave whatever the count.
    return [
      { action: 'join', blockedBy: null },
      { action: 'leave', blockedBy: null },
    ];
  }
  if (member.state === 'up' && member.ringStatus === 'normal') return [{ action: 'leave', blockedBy: tooFew() }];
  const removable = member.ringStatus !== null && member.ringStatus !== 'left' && member.ringStatus !== 'leaving';
  if (member.state === 'down' && member.nodeId !== servingNodeId && removable) return [{ action: 'remove', blockedBy: tooFew() }];
  return [];
}

/** The node's own refusal when fewer than N members would hold ranges without `nodeId` (joining ones count). */
function tooFewRemaining(nodeId: string, members: readonly RingMember[], replicas: number | null): string | null {
  if (replicas === null) return null;
  const remaining = members.filter((other) => other.nodeId !== nodeId && (other.ringStatus === 'normal' || other.ringStatus === 'joining')).length;
  if (remaining >= replicas) return null;
  return `only ${remaining} member${remaining === 1 ? '' : 's'} would remain for ${replicas} replicas per key; add a node first`;
}

/** Button labels, in the overview and on the confirmation. */
export const ringActionLabels: Readonly<Record<RingAction, string>> = { join: 'Join', leave: 'Leave', remove: 'Remove' };

export interface RingChangeConfirmation {
  title: string;
  /** What will happen, naming the node. */
  text: string;
  confirmLabel: string;
}

/** What the operator confirms: the node, the change and what follows from it. */
export function describeConfirmation(action: RingAction, member: RingMember, servingNodeId: string): RingChangeConfirmation {
  const id = member.nodeId;
  if (action === 'join') {
    return {
      title: `Join ${id} to the ring?`,
      text: `${id} leaves standby and becomes joining: the ranges it takes over stream to it from their current replicas, and it serves them, as normal, once they have arrived.`,
      confirmLabel: `Join ${id}`,
    };
  }
  if (action === 'remove') {
    return {
      title: `Remove ${id} for good?`,
      text: `${id} is taken out of the ring: the other replicas copy its ranges to their new owners. Only for a node that will never return; started again, it joins as a new member and its old data is discarded.`,
      confirmLabel: `Remove ${id}`,
    };
  }
  const serving = id === servingNodeId ? ` This page is served by ${id}: once it stops, open the dashboard of another member.` : '';
  if (member.ringStatus === 'standby') {
    return { title: `Decommission ${id}?`, text: `${id} is on standby and holds no ranges: it leaves the cluster at once and stops.${serving}`, confirmLabel: `Decommission ${id}` };
  }
  return {
    title: `Decommission ${id}?`,
    text: `${id} becomes leaving: its ranges stream to the remaining members, and it stops once they are done.${serving}`,
    confirmLabel: `Decommission ${id}`,
  };
}

/** The serving node's answer, as it worded it. */
export function describeRingChangeAnswer(change: Pick<RingChange, 'message'>): string {
  const message = change.message.trim();
  return /[.!]$/.test(message) ? message : `${message}.`;
}

/** Why a ring change failed: the problem's title and detail with its status, or why the node could not be asked. */
export function describeRingChangeError(error: unknown, action: RingAction, nodeId: string): string {
  const what = `${ringActionLabels[action]} ${nodeId} failed`;
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `${what}: the node did not answer in time, so the change may or may not have begun; watch ${nodeId}'s ring status before asking again.`;
  }
  if (!carriesProblem(error)) return `${what}: ${describeError(error)}`;
  const title = typeof error.problem.title === 'string' ? error.problem.title.trim() : '';
  const detail = typeof error.problem.detail === 'string' ? error.problem.detail.trim().replace(/\.$/, '') : '';
  const text = [title, detail].filter((part) => part !== '').join(': ');
  return `${what}: ${text === '' ? 'the node gave no reason' : text} (HTTP ${error.status}).`;
}

/** An accepted ring change: the member's new ring status. */
export interface RingChangeAnswer {
  change: Pick<RingChange, 'nodeId' | 'ringStatus'>;
  /** Browser time the answer arrived. */
  atMs: number;
}

/**
 * The member's ring status with an accepted change applied until a poll newer than the
 * answer arrives, so the overview shows joining or leaving at once instead of up to one
 * poll later (and the button is not clicked twice meanwhile).
 */
export function ringStatusWithAnswer(polled: RingStatus | null, answer: RingChangeAnswer | undefined, polledAtMs: number | null): RingStatus | null {
  return answer !== undefined && (polledAtMs === null || answer.atMs > polledAtMs) ? answer.change.ringStatus : polled;
}
