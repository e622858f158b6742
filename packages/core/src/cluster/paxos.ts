// Conditional writes and serial reads are decided per key by single-decree Paxos among the
// key's replicas, in the manner of Cassandra's lightweight transactions (docs/design.md,
// "Conditional writes"). This file holds the acceptor (the replica's side), what it keeps
// per key, and the pure decisions of a phase's quorum; paxos-proposer.ts drives rounds.
//
// A ballot is a version: an HLC timestamp and the proposer's node id, so ballots are
// unique, grow with the clock, and never repeat after a restart (the clock continues above
// its saved high-water mark). A round is:
// - prepare(b): an acceptor promises to take nothing below b, and answers with the
//   proposal it accepted last, the ballot it committed last and its copy of the key;
// - accept(b, record): taken unless it promised a higher ballot;
// - commit(b, record): the chosen record is applied to the engine like any write (the
//   larger version wins), so plain reads see it; the acceptor notes the commit.
// The record's version is the ballot, so a record chosen later carries a larger version.
import type { Ballot } from '../protocol/messages.js';
import type { StoredRecord } from '../storage/record.js';
import { compareVersions } from '../storage/record.js';

export type { Ballot };

export interface AcceptedProposal {
  ballot: Ballot;
  record: StoredRecord;
}

/** What an acceptor keeps for one key, durably, before it answers. */
export interface PaxosState {
  promised: Ballot | null;
  accepted: AcceptedProposal | null;
  committed: Ballot | null;
}

/** Durable Paxos state per key: an answer is sent only once `put` has resolved. */
export interface PaxosStore {
  get(key: string): Promise<PaxosState | undefined>;
  put(key: string, state: PaxosState): Promise<void>;
}

export class MemoryPaxosStore implements PaxosStore {
  private readonly states = new Map<string, PaxosState>();

  async get(key: string): Promise<PaxosState | undefined> {
    return this.states.get(key);
  }

  async put(key: string, state: PaxosState): Promise<void> {
    this.states.set(key, state);
  }

  /** Keys with state (tests). */
  get size(): number {
    return this.states.size;
  }
}

export type PromiseAnswer =
  | { promised: true; accepted: AcceptedProposal | null; committed: Ballot | null; current: StoredRecord | null }
  | { promised: false; highest: Ballot };

export type AcceptAnswer = { accepted: true } | { accepted: false; highest: Ballot };

/** Negative when `a` is below `b`; null counts as below every ballot. */
export function compareBallots(a: Ballot | null, b: Ballot | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  return compareVersions(a, b);
}

export interface AcceptorDeps {
  store: PaxosStore;
  /** This replica's copy of a key. */
  read(key: string): Promise<StoredRecord | undefined>;
  /** Applies a chosen record like any replica write (the larger version wins); rejects when the disk refuses. */
  apply(key: string, record: StoredRecord): Promise<void>;
  /** Folds a ballot seen into this node's clock, so its own later ballots are larger. */
  observe(hlc: number): void;
}

/** Work per key, one at a time in arrival order; keys apart run freely. */
export class KeyTurns {
  private readonly last = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier piece of work on `key` has ended (however it ended). */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.last.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const done = next.then(
      () => undefined,
      () => undefined,
    );
    this.last.set(key, done);
    void done.then(() => {
      if (this.last.get(key) === done) this.last.delete(key);
    });
    return next;
  }
}

/**
 * The replica's side. Each key's steps run one at a time (a read-modify-write of its
 * state), and each answer leaves only after the state is stored.
 */
export class PaxosAcceptor {
  private readonly deps: AcceptorDeps;
  private readonly turns = new KeyTurns();

  constructor(deps: AcceptorDeps) {
    this.deps = deps;
  }

  prepare(key: string, ballot: Ballot): Promise<PromiseAnswer> {
    return this.turns.run(key, async () => {
      this.deps.observe(ballot.hlc);
      const state = await this.stateOf(key);
      if (compareBallots(ballot, state.promised) <= 0) return { promised: false, highest: state.promised as Ballot };
      await this.deps.store.put(key, { ...state, promised: ballot });
      return { promised: true, accepted: state.accepted, committed: state.committed, current: (await this.deps.read(key)) ?? null };
    });
  }

  accept(key: string, ballot: Ballot, record: StoredRecord): Promise<AcceptAnswer> {
    return this.turns.run(key, async () => {
      this.deps.observe(ballot.hlc);
      const state = await this.stateOf(key);
      if (compareBallots(ballot, state.promised) < 0) return { accepted: false, highest: state.promised as Ballot };
      await this.deps.store.put(key, { ...state, promised: ballot, accepted: { ballot, record } });
      return { accepted: true };
    });
  }

  commit(key: string, ballot: Ballot, record: StoredRecord): Promise<void> {
    return this.turns.run(key, async () => {
      this.deps.observe(ballot.hlc);
      await this.deps.apply(key, record);
      const state = await this.stateOf(key);
      if (compareBallots(ballot, state.committed) <= 0) return;
      // The accepted proposal is settled once a ballot at or above it is committed.
      const accepted = state.accepted !== null && compareBallots(state.accepted.ballot, ballot) <= 0 ? null : state.accepted;
      await this.deps.store.put(key, { ...state, accepted, committed: ballot });
    });
  }

  private async stateOf(key: string): Promise<PaxosState> {
    return (await this.deps.store.get(key)) ?? { promised: null, accepted: null, committed: null };
  }

}

/** How a phase's answers stand: a majority of every replica group said yes, none can, or not yet. */
export type PhaseDecision = 'reached' | 'failed' | 'pending';

/**
 * A phase needs a majority of each group (one group, or the old and the new replica set
 * while the ring changes). It has failed once some group has too many refusals and
 * failures left to reach its majority.
 */
export function decidePhase(groups: ReadonlyArray<readonly string[]>, answers: ReadonlyMap<string, 'yes' | 'no'>): PhaseDecision {
  let reached = true;
  for (const group of groups) {
    const majority = Math.floor(group.length / 2) + 1;
    let yes = 0;
    let no = 0;
    for (const nodeId of group) {
      const answer = answers.get(nodeId);
      if (answer === 'yes') yes++;
      else if (answer === 'no') no++;
    }
    if (group.length - no < majority) return 'failed';
    if (yes < majority) reached = false;
  }
  return reached ? 'reached' : 'pending';
}

/**
 * What the promises of a prepare say: a proposal accepted above every commit they report
 * is possibly in progress (its proposer may have stopped midway) and must be finished
 * before anything new is proposed; the key's current record is the newest copy among them.
 */
export function readPromises(promises: ReadonlyArray<Extract<PromiseAnswer, { promised: true }>>): { inProgress: AcceptedProposal | null; current: StoredRecord | undefined } {
  let committed: Ballot | null = null;
  let inProgress: AcceptedProposal | null = null;
  let current: StoredRecord | undefined;
  for (const promise of promises) {
    if (compareBallots(promise.committed, committed) > 0) committed = promise.committed;
    if (promise.accepted !== null && (inProgress === null || compareBallots(promise.accepted.ballot, inProgress.ballot) > 0)) inProgress = promise.accepted;
    if (promise.current !== null && (current === undefined || compareVersions(promise.current, current) > 0)) current = promise.current;
  }
  if (inProgress !== null && compareBallots(inProgress.ballot, committed) <= 0) inProgress = null;
  return { inProgress, current };
}

/**
 * The proposer's two judgements, as a seam (testing/planted-bugs.ts swaps faulty ones in):
 * when promises make a majority, and what they say is in progress.
 */
export interface PaxosPolicy {
  decidePromises(groups: ReadonlyArray<readonly string[]>, answers: ReadonlyMap<string, 'yes' | 'no'>): PhaseDecision;
  readPromises(promises: ReadonlyArray<Extract<PromiseAnswer, { promised: true }>>): { inProgress: AcceptedProposal | null; current: StoredRecord | undefined };
}

export const strictPaxos: PaxosPolicy = { decidePromises: decidePhase, readPromises };
