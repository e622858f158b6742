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
// An idempotent write (cluster/paxos.ts, "Idempotent writes") is such a round too, with no
// condition: when the promises name a committed write of its Idempotency-Key it answers
// that write's version and proposes nothing (422 if the request differs); when they show
// one in progress, it answers 409 while that is young and finishes it when it is not.
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
import { compareVersions, formatVersion, isExpiredView, recordOf, visibleAt, type StoredRecord, type WriteChange } from '../storage/record.js';
import { describeFailures, OutcomeUnknownError, UnavailableError, type ReplicaFailure } from './outcomes.js';
import {
  compareBallots,
  decidePhase,
  KeyTurns,
  strictPaxos,
  type AcceptAnswer,
  type AcceptedProposal,
  type Ballot,
  mergeTags,
  type IdempotencyTag,
  type PaxosAcceptor,
  type PaxosPolicy,
  type PromiseAnswer,
  type RememberedWrite,
} from './paxos.js';
import { hlcWallMs } from '../clock/hlc.js';

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
  /** An idempotent write answered by the earlier write of its Idempotency-Key: nothing new was written. */
  replayed?: true;
}

/** The Idempotency-Key was used before with a different request: nothing was written. HTTP 422. */
export class IdempotencyKeyReusedError extends Error {
  readonly code = 'idempotency-key-reused';

  constructor(message: string) {
    super(message);
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** The first write of this Idempotency-Key is still in flight: nothing was written; retry shortly. HTTP 409. */
export class IdempotencyKeyInFlightError extends Error {
  readonly code = 'idempotency-key-in-flight';

  constructor(message: string) {
    super(message);
    this.name = 'IdempotencyKeyInFlightError';
  }
}

export interface ProposerDeps {
  selfId: string;
  /** The key's replica set in each ring writes reach now. */
  groups(key: string): ReadonlyArray<readonly string[]>;
  /** Whether membership takes a replica to be up: a round that cannot reach a majority of the live ones is refused at once. */
  isAvailable?(nodeId: string): boolean;
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
      /** The committed write of the round's Idempotency-Key, when a promise names one. */
      remembered: RememberedWrite | null;
      /** Tags of the last commit that some promising replica lags: this round's proposals carry them. */
      carried: RememberedWrite[];
      /** Some promising replica's copy of the key is older than `current`: it may be on fewer than a majority. */
      currentLagging: boolean;
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
  write(key: string, change: WriteChange, condition: WriteCondition, idempotency?: IdempotencyTag): Promise<ConditionalWriteResult> {
    return this.turns.run(key, () => this.writeRounds(key, change, condition, idempotency));
  }

  /** The key's current record, linearizably with conditional writes (a round that proposes nothing new). */
  read(key: string): Promise<StoredRecord | undefined> {
    return this.turns.run(key, () => this.readRounds(key));
  }

  private async writeRounds(key: string, change: WriteChange, condition: WriteCondition, idempotency: IdempotencyTag | undefined): Promise<ConditionalWriteResult> {
    // Versions of this write's own proposals: a later round may find one of them chosen.
    const own: Ballot[] = [];
    let failures: ReplicaFailure[] = [];
    for (let round = 1; round <= paxosRoundsMax; round++) {
      const begun = await this.begin(key, round, idempotency?.key);
      failures = begun.failures;
      if (begun.kind === 'again') continue;
      if (begun.kind === 'stop') break;
      const { groups, ballot, inProgress, current, carried } = begun;
      if (current !== undefined) this.observe(current.hlc);
      const ownTag = (version: Ballot): RememberedWrite[] => (idempotency === undefined ? [] : [{ ...idempotency, hlc: version.hlc, nodeId: version.nodeId }]);
      if (inProgress !== null) {
        const mine = own.some((version) => compareVersions(version, inProgress.record) === 0);
        if (!mine && idempotency !== undefined) this.refuseWhileInFlight(key, idempotency, inProgress);
        // Finish what another round (or an earlier one of ours) left midway, then start again.
        const finished = await this.finish(key, ballot, inProgress, groups, carried);
        if (finished && mine) return { record: inProgress.record, previous: undefined };
        continue;
      }
      if (idempotency !== undefined && begun.remembered !== null) {
        // The first write of this Idempotency-Key was committed somewhere, maybe on fewer than
        // a majority (its coordinator died midway): answer its version only once a majority
        // holds it and remembers it, as for an earlier attempt of our own below.
        const replay = replayOf(key, change, idempotency, begun.remembered);
        if ((await this.commit(key, ballot, replay.record, groups, mergeTags(carried, [begun.remembered]))).decision === 'reached') return replay;
        continue;
      }
      if (current !== undefined && own.some((version) => compareVersions(version, current) === 0)) {
        // An earlier attempt was chosen and reached some replica; answer only once a majority holds it.
        if ((await this.commit(key, ballot, current, groups, mergeTags(carried, ownTag(current)))).decision === 'reached') return { record: current, previous: undefined };
        continue;
      }
      // The condition is judged at the ballot's time: a value whose ttl has passed by then is deleted.
      const seen = visibleAt(current, ballot.hlc);
      const refusal = conditionRefusal(condition, seen);
      if (refusal !== undefined) {
        // An earlier attempt may have been chosen and then built on: its outcome is not known.
        if (own.length > 0) throw this.unknown(key, `${refusal}, after an earlier attempt of this write may have been chosen`, failures);
        // A 412 names the version it met: like a serial read, make sure a majority holds it first.
        if (begun.currentLagging && current !== undefined && (await this.commit(key, ballot, current, groups, carried)).decision !== 'reached') continue;
        throw new PreconditionFailedError(refusal, seen);
      }
      if (current !== undefined && compareVersions(ballot, current) <= 0) continue; // the clock has observed it: the next ballot is above
      const record = recordOf(change, ballot.hlc, ballot.nodeId);
      own.push(ballot);
      const tags = mergeTags(carried, ownTag(ballot));
      const accepted = await this.accept(key, ballot, record, groups, true, tags);
      failures = accepted.failures;
      if (accepted.decision !== 'reached') {
        // Taken by no acceptor, the attempt can never be chosen: it no longer makes the outcome unknown.
        if (accepted.allRefused) own.pop();
        if (await this.again(accepted, round)) continue;
        break;
      }
      const committed = await this.commit(key, ballot, record, groups, tags);
      if (committed.decision === 'reached') return { record, previous: seen };
      throw this.unknown(key, 'the write was chosen but not yet applied on a majority of its replicas; a serial read shows it', committed.failures);
    }
    if (own.length > 0) throw this.unknown(key, 'rounds kept being preempted or refused after an attempt of this write was proposed', failures);
    throw new UnavailableError(`a majority of the key's replicas did not promise${whyNot(failures)}; nothing was written`, 0, failures);
  }

  private async readRounds(key: string): Promise<StoredRecord | undefined> {
    let failures: ReplicaFailure[] = [];
    for (let round = 1; round <= paxosRoundsMax; round++) {
      const begun = await this.begin(key, round);
      failures = begun.failures;
      if (begun.kind === 'again') continue;
      if (begun.kind === 'stop') break;
      if (begun.inProgress !== null) {
        await this.finish(key, begun.ballot, begun.inProgress, begun.groups, begun.carried);
        continue;
      }
      // A copy some promising replica lacks may sit on a minority (its commit was cut short):
      // a later round's majority could miss it and read an older one. Commit it to a majority
      // before answering, as Cassandra repairs the most recent commit (simulator seed 1940625).
      if (begun.currentLagging && begun.current !== undefined) {
        if ((await this.commit(key, begun.ballot, begun.current, begun.groups, begun.carried)).decision !== 'reached') continue;
      }
      // Judged at the ballot's time, as conditions are: linearizable with them.
      return visibleAt(begun.current, begun.ballot.hlc);
    }
    throw new UnavailableError(`a serial read of ${JSON.stringify(key)} found no majority of its replicas to promise${whyNot(failures)}`, 0, failures);
  }

  /**
   * A round's prepare under a fresh ballot, routed by the placement now: what the promises
   * say, or whether to run another round (preempted, or routed again) or stop.
   */
  private async begin(key: string, round: number, idempotencyKey?: string): Promise<Begun> {
    const groups = this.deps.groups(key);
    // Known down, a majority cannot promise: refuse now rather than wait out the timeout
    // (requests on one key take turns on this node, so each wait would hold up the next).
    const down = this.downWithoutMajority(groups);
    if (down !== undefined) return { kind: 'stop', failures: down };
    const ballot = this.nextBallot();
    const prepared = await this.prepare(key, ballot, groups, idempotencyKey);
    if (prepared.decision !== 'reached') return (await this.again(prepared, round)) ? { kind: 'again', failures: prepared.failures } : { kind: 'stop', failures: prepared.failures };
    const remembered = prepared.yes.find((promise) => promise.remembered !== null)?.remembered ?? null;
    const read = this.policy.readPromises(prepared.yes);
    const currentLagging = read.current !== undefined && prepared.yes.some((promise) => promise.current === null || compareVersions(promise.current, read.current as StoredRecord) !== 0);
    return { kind: 'promised', groups, ballot, ...read, remembered, carried: carriedTags(prepared.yes), currentLagging, failures: prepared.failures };
  }

  /**
   * A proposal of the same Idempotency-Key in progress: another coordinator is writing it
   * now (409, unless it asks for something else: 422). Once it is older than a phase's
   * timeout its coordinator has given up or died, and this round finishes it instead.
   */
  private refuseWhileInFlight(key: string, idempotency: IdempotencyTag, inProgress: AcceptedProposal): void {
    const tag = inProgress.tags?.find((held) => held.key === idempotency.key);
    if (tag === undefined) return;
    if (tag.fingerprint !== idempotency.fingerprint) throw reusedKey(key, idempotency);
    // A tag the proposal only carries is of a write chosen before it: finishing makes it remembered.
    if (compareVersions(tag, inProgress.record) !== 0) return;
    const ageMs = this.deps.clock.nowMs() - hlcWallMs(inProgress.ballot.hlc);
    if (ageMs < this.deps.timeoutMs) {
      throw new IdempotencyKeyInFlightError(
        `the first write of Idempotency-Key ${JSON.stringify(idempotency.key)} on ${JSON.stringify(key)} is still in flight (begun ${Math.max(0, Math.round(ageMs))} ms ago); nothing was written: retry in a moment to get its outcome`,
      );
    }
  }

  private nextBallot(): Ballot {
    return { hlc: this.deps.hlc.now(), nodeId: this.deps.selfId };
  }

  /** The replicas known to be down, when they leave some group without a majority of live ones; undefined otherwise. */
  private downWithoutMajority(groups: ReadonlyArray<readonly string[]>): ReplicaFailure[] | undefined {
    const { isAvailable } = this.deps;
    if (isAvailable === undefined) return undefined;
    const live = (nodeId: string) => nodeId === this.deps.selfId || isAvailable(nodeId);
    if (groups.every((group) => group.filter(live).length >= Math.floor(group.length / 2) + 1)) return undefined;
    return [...new Set(groups.flat())].filter((nodeId) => !live(nodeId)).map((nodeId) => ({ nodeId, reason: 'down' }));
  }

  /** Accepts and commits a proposal found in progress (with its tags, and the round's), under this round's ballot; resolves with whether both phases reached a majority. */
  private async finish(key: string, ballot: Ballot, proposal: AcceptedProposal, groups: ReadonlyArray<readonly string[]>, carried: readonly RememberedWrite[]): Promise<boolean> {
    const tags = mergeTags(proposal.tags ?? [], carried);
    const accepted = await this.accept(key, ballot, proposal.record, groups, false, tags);
    if (accepted.decision !== 'reached') return false;
    return (await this.commit(key, ballot, proposal.record, groups, tags)).decision === 'reached';
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

  private prepare(key: string, ballot: Ballot, groups: ReadonlyArray<readonly string[]>, idempotencyKey?: string): Promise<PhaseResult<Promised>> {
    return this.phase<PromiseAnswer, Promised>(
      groups,
      (nodeId) =>
        nodeId === this.deps.selfId
          ? this.deps.acceptor.prepare(key, ballot, idempotencyKey)
          : this.request(nodeId, { type: 'paxosPrepare', key, ballot, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) }).then((reply) => promiseOf(reply)),
      (answer) => (answer.promised ? { yes: answer } : { no: answer.highest }),
      this.policy.decidePromises,
    );
  }

  private accept(
    key: string,
    ballot: Ballot,
    record: StoredRecord,
    groups: ReadonlyArray<readonly string[]>,
    waitOnFailure = false,
    tags: readonly RememberedWrite[] = [],
  ): Promise<PhaseResult<true>> {
    return this.phase<AcceptAnswer, true>(
      groups,
      (nodeId) =>
        nodeId === this.deps.selfId
          ? this.deps.acceptor.accept(key, ballot, record, tags)
          : this.request(nodeId, { type: 'paxosAccept', key, ballot, record, ...(tags.length === 0 ? {} : { tags: [...tags] }) }).then((reply) => acceptOf(reply)),
      (answer) => (answer.accepted ? { yes: true as const } : { no: answer.highest }),
      decidePhase,
      waitOnFailure,
    );
  }

  private commit(key: string, ballot: Ballot, record: StoredRecord, groups: ReadonlyArray<readonly string[]>, tags: readonly RememberedWrite[] = []): Promise<PhaseResult<true>> {
    return this.phase<true, true>(
      groups,
      (nodeId) =>
        nodeId === this.deps.selfId
          ? this.deps.acceptor.commit(key, ballot, record, tags).then(() => true as const)
          : this.request(nodeId, { type: 'paxosCommit', key, ballot, record, ...(tags.length === 0 ? {} : { tags: [...tags] }) }).then((reply) => {
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
  const gone = current === undefined ? 'absent' : isExpiredView(current) ? 'expired' : 'deleted';
  if (condition.ifNoneMatch === true && live) return `the key exists (version ${formatVersion(current)}): If-None-Match: * needs it absent or deleted`;
  if (condition.ifMatch !== undefined) {
    if (!live) return `the key is ${gone}: If-Match needs version ${condition.ifMatch}`;
    if (formatVersion(current) !== condition.ifMatch) return `the key's version is ${formatVersion(current)}, not ${condition.ifMatch}`;
  }
  return undefined;
}

/** The answer of an idempotent write whose Idempotency-Key the replicas remember: that write's version, nothing new written. */
function replayOf(key: string, change: WriteChange, idempotency: IdempotencyTag, remembered: RememberedWrite): ConditionalWriteResult {
  if (remembered.fingerprint !== idempotency.fingerprint) throw reusedKey(key, idempotency);
  return { record: recordOf(change, remembered.hlc, remembered.nodeId), previous: undefined, replayed: true };
}

/**
 * The tags of the last commit the promises report, when some promising replica has not
 * committed it: they may be on fewer than a majority, so this round's proposal carries
 * them. When every promise reports the same last commit, a majority holds its tags.
 */
function carriedTags(promises: ReadonlyArray<Extract<PromiseAnswer, { promised: true }>>): RememberedWrite[] {
  let newest: Extract<PromiseAnswer, { promised: true }> | undefined;
  for (const promise of promises) if (newest === undefined || compareBallots(promise.committed, newest.committed) > 0) newest = promise;
  if (newest === undefined || newest.committedTags.length === 0) return [];
  const lagging = promises.some((promise) => compareBallots(promise.committed, newest.committed) < 0);
  return lagging ? [...newest.committedTags] : [];
}

/** The failures behind a phase that found no majority, as a clause (none known: rounds kept being preempted). */
function whyNot(failures: readonly ReplicaFailure[]): string {
  return failures.length === 0 ? ` within ${paxosRoundsMax} rounds` : ` (${describeFailures(failures)})`;
}

function reusedKey(key: string, idempotency: IdempotencyTag): IdempotencyKeyReusedError {
  return new IdempotencyKeyReusedError(
    `Idempotency-Key ${JSON.stringify(idempotency.key)} was already used on ${JSON.stringify(key)} for a different request (another method, value, ttl or condition); ` +
      'nothing was written: send a new Idempotency-Key for a new write',
  );
}

function promiseOf(reply: Awaited<ReturnType<Transport['request']>>): PromiseAnswer {
  if (reply.type !== 'paxosPromise') throw new PeerError('remote-failure', `unexpected reply ${reply.type}`, true);
  return reply.promised
    ? { promised: true, accepted: reply.accepted, committed: reply.committed, current: reply.current, remembered: reply.remembered, committedTags: reply.committedTags }
    : { promised: false, highest: reply.highest as Ballot };
}

function acceptOf(reply: Awaited<ReturnType<Transport['request']>>): AcceptAnswer {
  if (reply.type !== 'paxosAccepted') throw new PeerError('remote-failure', `unexpected reply ${reply.type}`, true);
  return reply.accepted ? { accepted: true } : { accepted: false, highest: reply.highest as Ballot };
}
