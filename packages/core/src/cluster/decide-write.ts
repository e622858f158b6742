// The quorum decision of one write attempt as a pure function (after etcd raft's
// quorum/joint.go): the coordinator's promise only sends, records each answer and acts on
// what `decideWrite` returns. The rules are those of docs/design.md, "Honest outcomes".
import { writeFailureAnswer, type ReplicaFailure, type WriteFailureAnswer } from './outcomes.js';
import { strictQuorum, type QuorumPolicy } from './quorum-policy.js';

/** One replica's answer to a write. A replica of the groups without an answer is still pending. */
export type WriteAnswer =
  | { kind: 'acked' }
  /** It holds a newer version of the key (another coordinator wrote it at once) and did not store this one. */
  | { kind: 'newer'; hlc: number }
  /** Down, refused or lost; `maybeApplied` when it may have stored the write all the same (a timeout). */
  | { kind: 'failed'; failure: ReplicaFailure; maybeApplied: boolean }
  /**
   * Refused, nothing applied: the write was routed by an older cluster state than the
   * replica holds (epoch fencing, cluster/cluster-state.ts). The coordinator has learned
   * the replica's state; routing again by it is the answer.
   */
  | { kind: 'misrouted'; failure: ReplicaFailure };

export interface WriteState {
  /** The key's replica set in each ring the write must reach (one group per ring). */
  groups: ReadonlyArray<readonly string[]>;
  /** W: acks needed in every group, or in each group in order (a level resolved against each group's size). */
  required: number | readonly number[];
  /** Answers so far, in the order they arrived. */
  answers: ReadonlyMap<string, WriteAnswer>;
  /** The wait armed after a newer version was seen (decision `pending` with `restampAfterWait`) has run out. */
  restampWaitOver: boolean;
  /** A misrouted answer may still be routed again (false once the reroutes are spent: it then counts as a failure). */
  rerouteAllowed?: boolean;
  quorum?: Pick<QuorumPolicy, 'isWritten'>;
}

export type WriteDecision =
  /** Wait for more answers; `restampAfterWait`: a newer version was seen, so re-stamp if they are slow. */
  | { kind: 'pending'; restampAfterWait: boolean }
  | { kind: 'written'; acks: number }
  /** Re-stamp the write above `newerHlc` and try again. */
  | { kind: 'superseded'; newerHlc: number }
  /** A replica refused the routing as stale: route again by the newer state and try again. */
  | { kind: 'rerouted' }
  /** W is out of reach and every request has answered: the failed write's answer (504 > 507 > 503). */
  | { kind: WriteFailureAnswer; acks: number; failures: ReplicaFailure[] };

export function decideWrite(state: WriteState): WriteDecision {
  const { groups } = state;
  // W per group: one number for all, or one per group (a level resolved against each group's size).
  const required = groups.map((_group, i) => (typeof state.required === 'number' ? state.required : (state.required[i] ?? Infinity)));
  // A replica knows the ring better: the groups themselves may be wrong, so whatever the
  // other answers say, the write is routed again (it wins over an earlier attempt's copies,
  // being stamped later). Once the reroutes are spent, a misrouted answer is a failure.
  const rerouteAllowed = state.rerouteAllowed ?? true;
  let misrouted = false;
  for (const answer of state.answers.values()) if (answer.kind === 'misrouted') misrouted = true;
  if (misrouted && rerouteAllowed) return { kind: 'rerouted' };
  const answers = misrouted ? asFailures(state.answers) : state.answers;
  const acks = countAnswers(answers.values(), 'acked');
  const acksPerGroup = groups.map((group) => countIn(group, (answer) => answer?.kind === 'acked', answers));
  if ((state.quorum ?? strictQuorum).isWritten(acksPerGroup, required)) return { kind: 'written', acks };
  const newerHlc = newestRefusal(answers);
  // W is still within reach while every group has W replicas that acked or may yet.
  const reachable = groups.every((group, i) => countIn(group, (answer) => answer === undefined || answer.kind === 'acked', answers) >= (required[i] as number));
  if (reachable) {
    if (newerHlc === undefined) return { kind: 'pending', restampAfterWait: false };
    // Only replicas yet to answer can make up W. If one is frozen, waiting for it would
    // cost the whole write timeout: after the speculative wait of rapid read protection
    // the attempt is re-stamped. Its older version, should it land later, loses to the new one.
    return state.restampWaitOver ? { kind: 'superseded', newerHlc } : { kind: 'pending', restampAfterWait: true };
  }
  // A newer version was seen and W is out of reach: the attempt is re-stamped whatever the
  // requests in flight answer, so it need not wait for them.
  if (newerHlc !== undefined) return { kind: 'superseded', newerHlc };
  // W can no longer be reached. Requests still in flight (each bounded by the write
  // timeout) are waited for: one of them may yet apply the write, and then the honest
  // answer is "outcome unknown", not "nothing was written".
  if (groups.some((group) => group.some((nodeId) => !answers.has(nodeId)))) return { kind: 'pending', restampAfterWait: false };
  const failures: ReplicaFailure[] = [];
  let maybeApplied = false;
  for (const answer of answers.values()) {
    if (answer.kind !== 'failed') continue;
    failures.push(answer.failure);
    if (answer.maybeApplied) maybeApplied = true;
  }
  return { kind: writeFailureAnswer(acks, maybeApplied, failures), acks, failures };
}

/** Misrouted answers as what they are once no reroute is left: refusals that applied nothing. */
function asFailures(answers: ReadonlyMap<string, WriteAnswer>): ReadonlyMap<string, WriteAnswer> {
  const out = new Map<string, WriteAnswer>();
  for (const [nodeId, answer] of answers) out.set(nodeId, answer.kind === 'misrouted' ? { kind: 'failed', failure: answer.failure, maybeApplied: false } : answer);
  return out;
}

function countAnswers(answers: Iterable<WriteAnswer>, kind: WriteAnswer['kind']): number {
  let count = 0;
  for (const answer of answers) if (answer.kind === kind) count++;
  return count;
}

function countIn(group: readonly string[], counts: (answer: WriteAnswer | undefined) => boolean, answers: ReadonlyMap<string, WriteAnswer>): number {
  let count = 0;
  for (const nodeId of group) if (counts(answers.get(nodeId))) count++;
  return count;
}

/** The newest version a replica refused the write for, if any did. */
function newestRefusal(answers: ReadonlyMap<string, WriteAnswer>): number | undefined {
  let newest: number | undefined;
  for (const answer of answers.values()) if (answer.kind === 'newer') newest = Math.max(newest ?? 0, answer.hlc);
  return newest;
}
