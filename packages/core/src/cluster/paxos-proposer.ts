// The proposer's side of conditional writes and serial reads (paxos.ts has the rules and
// the acceptor). One round: prepare with a fresh ballot; finish a proposal the promises
// show in progress (then start again); read the key's current record from the promises;
// for a write, judge the condition on it and propose the new record (its version is the
// ballot), then commit it to the replicas, so plain reads see it.
//
// A phase needs a majority of the key's replicas in every ring writes reach (the old and
// the new replica set while the ring changes), and every message carries the cluster
// state it was routed by, like puts and gets: a replica that knows a newer state refuses,
// and the round starts again by it.
//
// Honest outcomes (docs/design.md, "Honest outcomes"): 200 once the chosen record is
// committed on a majority; 412 when the condition does not hold and no attempt of this
// write was ever proposed; 503 when nothing was proposed; 504 once an attempt may have
// been accepted and the end is not known (it may yet be chosen, by a later round that
// finishes it).
import type { Clock } from '../clock/clock.js';
import type { HybridLogicalClock } from '../clock/hlc.js';
import { paxosBackoffMsMax, paxosRoundsMax } from '../limits.js';
import { PeerError, type Transport } from '../protocol/transport.js';
import type { Rng } from '../rng.js';
import { compareVersions, formatVersion, type StoredRecord } from '../storage/record.js';
import { OutcomeUnknownError, UnavailableError, type ReplicaFailure } from './outcomes.js';
import { compareBallots, decidePhase, KeyTurns, strictPaxos, type AcceptAnswer, type AcceptedProposal, type Ballot, type PaxosAcceptor, type PaxosPolicy, type PromiseAnswer } from './paxos.js';

/** When a conditional write applies: `ifMatch` the key's current version is exactly that; `ifNoneMatch` the key is absent or deleted. */
export interface WriteCondition {
  ifMatch?: string;
  ifNoneMatch?: boolean;
}

/** The condition did not hold: nothing was written. HTTP 412. */
export class PreconditionFailedError extends Error {
  readonly code = 'precondition-failed';
  /** The key's current record (undefined: absent); a tombstone means deleted. */
  readonly current: StoredRecord | undefined;

  constructor(message: string, current: StoredRecord | undefined) {
    super(message);
    this.name = 'PreconditionFailedError';
    this.current = current;
  }
}

export interface ConditionalWriteResult {
  record: StoredRecord;
  /** What the key held when the condition was judged (undefined: absent). */
  previous: StoredRecord | undefined;
}

export interface ProposerDeps {
  selfId: string;
  /** The key's replica set in each ring writes reach now. */
  groups(key: string): ReadonlyArray<readonly string[]>;
  addressOf(nodeId: string): string | undefined;
  /** Routed by the cluster state (cluster-node.ts): a replica that knows a newer one refuses with `stale-epoch`. */
  transport: Transport;
  acceptor: PaxosAcceptor;
  hlc: HybridLogicalClock;
  clock: Clock;
  rng: Rng;
  /** How long one replica may take to answer one phase. */
  timeoutMs: number;
  /** When promises make a majority and what they say is in progress; strictPaxos by default. */
  policy?: PaxosPolicy;
}

interface PhaseResult<T> {
  decision: 'reached' | 'failed';
  yes: T[];
  /** Every replica answered with an explicit refusal: none took the phase (known only with `waitOnFailure`). */
  allRefused: boolean;
  /** The highest ballot a refusing acceptor holds. */
  highest: Ballot | null;
  /** A replica refused the routing as stale: its state is learned by now. */
  misrouted: boolean;
  failures: ReplicaFailure[];
}

type Promised = Extract<PromiseAnswer, { promised: true }>;

type Begun =
  | { kind: 'again'; failures: ReplicaFailure[] }
  | { kind: 'stop'; failures: ReplicaFailure[] }
  | {
      kind: 'promised';
      groups: ReadonlyArray<readonly string[]>;
      ballot: Ballot;
      inProgress: AcceptedProposal | null;
      current: StoredRecord | undefined;
      failures: ReplicaFailure[];
    };

export class PaxosProposer {
  private readonly deps: ProposerDeps;
  private readonly policy: PaxosPolicy;
  /** This node's requests per key, one round at a time. */
  private readonly turns = new KeyTurns();

  constructor(deps: ProposerDeps) {
    this.deps = deps;
    this.policy = deps.policy ?? strictPaxos;
  }

  /**
   * Writes `change` if `condition` holds on the key's current record, linearizably with
   * other conditional writes and serial reads. This node runs one round per key at a time:
   * its own writers on a hot key then take turns instead of preempting each other's
   * ballots, and a writer whose turn comes after another won meets its 412 in one round.
   */
  write(key: string, change: { value: unknown; tombstone: boolean }, condition: WriteCondition): Promise<ConditionalWriteResult> {
    return this.turns.run(key, () => this.writeRounds(key, change, condition));
  }

  /** The key's current record, linearizably with conditional writes (a round that proposes nothing new). */
  read(key: string): Promise<StoredRecord | undefined> {
    return this.turns.run(key, () => this.readRounds(key));
  }

  private async writeRounds(key: string, change: { value: unknown; tombstone: boolean }, condition: WriteCondition): Promise<ConditionalWriteResult> {
    // Versions of this write's own proposals: a later round may find one of them chosen.
    const own: Ballot[] = [];
    let failures: ReplicaFailure[] = [];
    for (let round = 1; round <= paxosRoundsMax; round++) {
      const begun = await this.begin(key, round);
      failures = begun.failures;
      if (begun.kind === 'again') continue;
      if (begun.kind === 'stop') break;
      const { groups, ballot, inProgress, current } = begun;
      if (current !== undefined) this.observe(current.hlc);
      if (inProgress !== null) {
        // Finish what another round (or an earlier one of ours) left midway, then start again.
        const finished = await this.finish(key, ballot, inProgress.record, groups);
        if (finished && own.some((version) => compareVersions(version, inProgress.record) === 0)) return { record: inProgress.record, previous: undefined };
        continue;
      }
      if (current !== undefined && own.some((version) => compareVersions(version, current) === 0)) {
        // An earlier attempt was chosen and reached some replica; answer only once a majority holds it.
        if ((await this.commit(key, ballot, current, groups)).decision === 'reached') return { record: current, previous: undefined };
        continue;
      }
      const refusal = conditionRefusal(condition, current);
      if (refusal !== undefined) {
        // An earlier attempt may have been chosen and then built on: its outcome is not known.
        if (own.length > 0) throw this.unknown(key, `${refusal}, after an earlier attempt of this write may have been chosen`, failures);
        throw new PreconditionFailedError(refusal, current);
      }
      if (current !== undefined && compareVersions(ballot, current) <= 0) continue; // the clock has observed it: the next ballot is above
      const record: StoredRecord = { value: change.value, tombstone: change.tombstone, hlc: ballot.hlc, nodeId: ballot.nodeId };
      own.push(ballot);
      const accepted = await this.accept(key, ballot, record, groups, true);
      failures = accepted.failures;
      if (accepted.decision !== 'reached') {
        // Taken by no acceptor, the attempt can never be chosen: it no longer makes the outcome unknown.
        if (accepted.allRefused) own.pop();
        if (await this.again(accepted, round)) continue;
        break;
      }
      const committed = await this.commit(key, ballot, record, groups);
      if (committed.decision === 'reached') return { record, previous: current };
      throw this.unknown(key, 'the write was chosen but not yet applied on a majority of its replicas; a serial read shows it', committed.failures);
    }
    if (own.length > 0) throw this.unknown(key, 'rounds kept being preempted or refused after an attempt of this write was proposed', failures);
    throw new UnavailableError(`a majority of the key's replicas did not promise within ${paxosRoundsMax} rounds; nothing was written`, 0, failures);
  }

  private async readRounds(key: string): Promise<StoredRecord | undefined> {
    let failures: ReplicaFailure[] = [];
    for (let round = 1; round <= paxosRoundsMax; round++) {
      const begun = await this.begin(key, round);
      failures = begun.failures;
      if (begun.kind === 'again') continue;
      if (begun.kind === 'stop') break;
      if (begun.inProgress !== null) {
        await this.finish(key, begun.ballot, begun.inProgress.record, begun.groups);
        continue;
      }
      return begun.current;
    }
    throw new UnavailableError(`a serial read of ${JSON.stringify(key)} found no majority of its replicas to promise within ${paxosRoundsMax} rounds`, 0, failures);
  }

  /**
   * A round's prepare under a fresh ballot, routed by the placement now: what the promises
   * say, or whether to run another round (preempted, or routed again) or stop.
   */
  private async begin(key: string, round: number): Promise<Begun> {
    const groups = this.deps.groups(key);
    const ballot = this.nextBallot();
    const prepared = await this.prepare(key, ballot, groups);
    if (prepared.decision !== 'reached') return (await this.again(prepared, round)) ? { kind: 'again', failures: prepared.failures } : { kind: 'stop', failures: prepared.failures };
    return { kind: 'promised', groups, ballot, ...this.policy.readPromises(prepared.yes), failures: prepared.failures };
  }

  private nextBallot(): Ballot {
    return { hlc: this.deps.hlc.now(), nodeId: this.deps.selfId };
  }

  /** Accepts and commits a proposal found in progress, under this round's ballot; resolves with whether both phases reached a majority. */
  private async finish(key: string, ballot: Ballot, record: StoredRecord, groups: ReadonlyArray<readonly string[]>): Promise<boolean> {
    const accepted = await this.accept(key, ballot, record, groups);
    if (accepted.decision !== 'reached') return false;
    return (await this.commit(key, ballot, record, groups)).decision === 'reached';
  }

  /** After a failed phase: whether to run another round (contention or a stale route), waiting a little first when preempted. */
  private async again(result: PhaseResult<unknown>, round: number): Promise<boolean> {
    if (result.highest !== null) this.observe(result.highest.hlc);
    if (result.misrouted) return true;
    if (result.highest === null) return false;
    // Preempted by a higher ballot: back off by a random wait whose bound doubles with the
    // rounds, so that of many proposers on one key one gets through.
    const waitMs = Math.floor(this.deps.rng.next() * Math.min(paxosBackoffMsMax, 2 ** round));
    if (waitMs > 0) await new Promise<void>((resolve) => this.deps.clock.setTimer(waitMs, resolve));
    return true;
  }

  private prepare(key: string, ballot: Ballot, groups: ReadonlyArray<readonly string[]>): Promise<PhaseResult<Promised>> {
    return this.phase<PromiseAnswer, Promised>(
      groups,
      (nodeId) =>
        nodeId === this.deps.selfId
          ? this.deps.acceptor.prepare(key, ballot)
          : this.request(nodeId, { type: 'paxosPrepare', key, ballot }).then((reply) => promiseOf(reply)),
      (answer) => (answer.promised ? { yes: answer } : { no: answer.highest }),
      this.policy.decidePromises,
    );
  }

  private accept(key: string, ballot: Ballot, record: StoredRecord, groups: ReadonlyArray<readonly string[]>, waitOnFailure = false): Promise<PhaseResult<true>> {
    return this.phase<AcceptAnswer, true>(
      groups,
      (nodeId) =>
        nodeId === this.deps.selfId
          ? this.deps.acceptor.accept(key, ballot, record)
          : this.request(nodeId, { type: 'paxosAccept', key, ballot, record }).then((reply) => acceptOf(reply)),
      (answer) => (answer.accepted ? { yes: true as const } : { no: answer.highest }),
      decidePhase,
      waitOnFailure,
    );
  }

  private commit(key: string, ballot: Ballot, record: StoredRecord, groups: ReadonlyArray<readonly string[]>): Promise<PhaseResult<true>> {
    return this.phase<true, true>(
      groups,
      (nodeId) =>
        nodeId === this.deps.selfId
          ? this.deps.acceptor.commit(key, ballot, record).then(() => true as const)
          : this.request(nodeId, { type: 'paxosCommit', key, ballot, record }).then((reply) => {
              if (reply.type !== 'paxosCommitted') throw new PeerError('remote-failure', `unexpected reply ${reply.type}`, true);
              return true as const;
            }),
      () => ({ yes: true as const }),
    );
  }

  private request(nodeId: string, body: Parameters<Transport['request']>[1]) {
    const address = this.deps.addressOf(nodeId);
    if (address === undefined) return Promise.reject(new PeerError('not-connected', `no address known for ${nodeId}`, false));
    return this.deps.transport.request(address, body, this.deps.timeoutMs);
  }

  /**
   * Sends one phase to every replica of the groups and settles once a majority of each
   * has said yes, or once that cannot happen any more. Later answers are ignored; a
   * replica's failure counts as a no.
   */
  private phase<A, Y>(
    groups: ReadonlyArray<readonly string[]>,
    send: (nodeId: string) => Promise<A>,
    judge: (answer: A) => { yes: Y } | { no: Ballot },
    decide: PaxosPolicy['decidePromises'] = decidePhase,
    waitOnFailure = false,
  ): Promise<PhaseResult<Y>> {
    const replicas = [...new Set(groups.flat())];
    return new Promise((resolve) => {
      const answers = new Map<string, 'yes' | 'no'>();
      const result: PhaseResult<Y> = { decision: 'failed', yes: [], allRefused: false, highest: null, misrouted: false, failures: [] };
      let refusals = 0;
      let settled = false;
      const settle = () => {
        if (settled) return;
        const decision = decide(groups, answers);
        const everyone = answers.size === replicas.length;
        if (decision === 'pending' && !everyone) return;
        // A failed phase may wait for every answer (each bounded by the timeout), to learn whether any replica took it.
        if (decision === 'failed' && waitOnFailure && !everyone) return;
        settled = true;
        resolve({ ...result, allRefused: everyone && refusals === replicas.length, decision: decision === 'reached' ? 'reached' : 'failed' });
      };
      for (const nodeId of replicas) {
        send(nodeId).then(
          (answer) => {
            const judged = judge(answer);
            if ('yes' in judged) {
              answers.set(nodeId, 'yes');
              if (!settled) result.yes.push(judged.yes);
            } else {
              answers.set(nodeId, 'no');
              refusals++;
              if (compareBallots(judged.no, result.highest) > 0) result.highest = judged.no;
            }
            settle();
          },
          (error: unknown) => {
            answers.set(nodeId, 'no');
            if (error instanceof PeerError && error.remoteCode === 'stale-epoch') result.misrouted = true;
            result.failures.push({ nodeId, reason: error instanceof Error ? error.message : String(error) });
            settle();
          },
        );
      }
    });
  }

  private observe(hlc: number): void {
    try {
      this.deps.hlc.observe(hlc);
    } catch {
      // ClockSkewError: a ballot from a clock too far ahead is not followed; the round fails on its own.
    }
  }

  private unknown(key: string, why: string, failures: ReplicaFailure[]): OutcomeUnknownError {
    return new OutcomeUnknownError(`the conditional write of ${JSON.stringify(key)} has an unknown outcome: ${why}; read the key (r=serial) to find out`, 0, 0, failures);
  }
}

/** Why `condition` does not hold on `current`, or undefined when it holds. */
export function conditionRefusal(condition: WriteCondition, current: StoredRecord | undefined): string | undefined {
  const live = current !== undefined && !current.tombstone;
  if (condition.ifNoneMatch === true && live) return `the key exists (version ${formatVersion(current)}): If-None-Match: * needs it absent or deleted`;
  if (condition.ifMatch !== undefined) {
    if (!live) return `the key is ${current === undefined ? 'absent' : 'deleted'}: If-Match needs version ${condition.ifMatch}`;
    if (formatVersion(current) !== condition.ifMatch) return `the key's version is ${formatVersion(current)}, not ${condition.ifMatch}`;
  }
  return undefined;
}

function promiseOf(reply: Awaited<ReturnType<Transport['request']>>): PromiseAnswer {
  if (reply.type !== 'paxosPromise') throw new PeerError('remote-failure', `unexpected reply ${reply.type}`, true);
  return reply.promised
    ? { promised: true, accepted: reply.accepted, committed: reply.committed, current: reply.current }
    : { promised: false, highest: reply.highest as Ballot };
}

function acceptOf(reply: Awaited<ReturnType<Transport['request']>>): AcceptAnswer {
  if (reply.type !== 'paxosAccepted') throw new PeerError('remote-failure', `unexpected reply ${reply.type}`, true);
  return reply.accepted ? { accepted: true } : { accepted: false, highest: reply.highest as Ballot };
}
