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
// - accept(b, record): taken unless it promised a higher ballot, or the record is a new
//   proposal (its version is b) stamped at or below this replica's closed time, which a
//   watch may have passed (watch/change-log.ts);
// - commit(b, record): the chosen record is applied to the engine like any write (the
//   larger version wins), so plain reads see it; the acceptor notes the commit.
// The record's version is the ballot, so a record chosen later carries a larger version.
//
// Idempotent writes (a PUT or DELETE with an Idempotency-Key) are Paxos proposals too,
// tagged with the client's key, a digest of its request and the version it was given. A
// replica that commits one remembers the tag with the key's Paxos state, for the retention
// period (at most idempotencyEntriesPerKeyMax per key). A retry's prepare asks for its
// key, and the retry answers the remembered version instead of writing again.
//
// For that a chosen write's tag must reach a majority before anything after it is chosen,
// even when its coordinator died after one commit: a round whose promises disagree on the
// last commit (some replica lags it) carries that commit's tags in its own proposal
// (`committedTags`), and a proposal found in progress is finished with its tags, so every
// chosen tag is remembered by a majority once a later write is chosen (as Cassandra
// repairs the most recent commit before proposing).
import { hlcWallMs } from '../clock/hlc.js';
import { idempotencyEntriesPerKeyMax } from '../limits.js';
import type { Ballot, IdempotencyTag, RememberedWrite } from '../protocol/messages.js';
import type { StoredRecord } from '../storage/record.js';
import { compareVersions } from '../storage/record.js';

export type { Ballot, IdempotencyTag, RememberedWrite };

/** `a` and `b` together, each Idempotency-Key once (the first seen kept), at most the bound per key. */
export function mergeTags(a: readonly RememberedWrite[], b: readonly RememberedWrite[]): RememberedWrite[] {
  const merged: RememberedWrite[] = [];
  for (const tag of [...a, ...b]) if (!merged.some((held) => held.key === tag.key)) merged.push(tag);
  return merged.slice(-idempotencyEntriesPerKeyMax);
}

export interface AcceptedProposal {
  ballot: Ballot;
  record: StoredRecord;
  /** The idempotent writes it makes remembered when committed: its own, and those it carries. */
  tags?: RememberedWrite[];
}

/** What an acceptor keeps for one key, durably, before it answers. */
export interface PaxosState {
  promised: Ballot | null;
  accepted: AcceptedProposal | null;
  committed: Ballot | null;
  /** The tags committed with `committed` (absent: none). */
  committedTags?: RememberedWrite[];
  /** Idempotent writes committed on the key, oldest first (absent: none). */
  remembered?: RememberedWrite[];
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
  | { promised: true; accepted: AcceptedProposal | null; committed: Ballot | null; current: StoredRecord | null; remembered: RememberedWrite | null; committedTags: RememberedWrite[] }
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
  /** Told of each proposal accepted (the change log keeps its floor below it until it is committed). */
  accepted?(key: string, record: StoredRecord): void;
  /**
   * For a new proposal stamped at `hlc`: the closed time it is refused at or below (the
   * change log's, watch/change-log.ts), or undefined when it may be taken.
   */
  refusesAt?(hlc: number): number | undefined;
  /** How long an idempotent write is remembered (--idempotency-retention-s), by the node's wall clock; without it, only the bound per key applies. */
  retention?: { nowMs(): number; ms: number };
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

  /** With `idempotencyKey`, the promise also names the idempotent write of that key this replica remembers. */
  prepare(key: string, ballot: Ballot, idempotencyKey?: string): Promise<PromiseAnswer> {
    return this.turns.run(key, async () => {
      this.deps.observe(ballot.hlc);
      const state = await this.stateOf(key);
      if (compareBallots(ballot, state.promised) <= 0) return { promised: false, highest: state.promised as Ballot };
      await this.deps.store.put(key, { ...state, promised: ballot });
      const remembered = idempotencyKey === undefined ? undefined : this.retained(state.remembered).find((write) => write.key === idempotencyKey);
      return {
        promised: true,
        accepted: state.accepted,
        committed: state.committed,
        current: (await this.deps.read(key)) ?? null,
        remembered: remembered ?? null,
        committedTags: state.committedTags ?? [],
      };
    });
  }

  accept(key: string, ballot: Ballot, record: StoredRecord, tags: readonly RememberedWrite[] = []): Promise<AcceptAnswer> {
    return this.turns.run(key, async () => {
      this.deps.observe(ballot.hlc);
      const state = await this.stateOf(key);
      if (compareBallots(ballot, state.promised) < 0) return { accepted: false, highest: state.promised as Ballot };
      // A new proposal's version is its ballot, stamped at prepare. Taken after this
      // replica's closed time passed it (its proposer stalled between the phases), it would
      // be logged below a floor already reported, where watches have passed (cas seed
      // 5100641). Refused like a late coordinated write, with the closed time as the ballot
      // to beat, its proposer runs a new round above it. A proposal found in progress keeps
      // its version and is never refused: it may have been chosen.
      const late = compareVersions(record, ballot) === 0 ? this.deps.refusesAt?.(record.hlc) : undefined;
      if (late !== undefined) return { accepted: false, highest: { hlc: late, nodeId: ballot.nodeId } };
      this.deps.accepted?.(key, record);
      await this.deps.store.put(key, { ...state, promised: ballot, accepted: tags.length === 0 ? { ballot, record } : { ballot, record, tags: [...tags] } });
      return { accepted: true };
    });
  }

  commit(key: string, ballot: Ballot, record: StoredRecord, tags: readonly RememberedWrite[] = []): Promise<void> {
    return this.turns.run(key, async () => {
      this.deps.observe(ballot.hlc);
      await this.deps.apply(key, record);
      const state = await this.stateOf(key);
      const remembered = tags.length === 0 ? state.remembered : this.remember(state.remembered, tags);
      if (compareBallots(ballot, state.committed) <= 0) {
        // A commit seen again (a retry, or another proposer finishing it): only what it remembers may be new.
        if (remembered !== state.remembered) await this.deps.store.put(key, { ...state, remembered });
        return;
      }
      // The accepted proposal is settled once a ballot at or above it is committed.
      const accepted = state.accepted !== null && compareBallots(state.accepted.ballot, ballot) <= 0 ? null : state.accepted;
      const { committedTags: _previous, ...rest } = state;
      await this.deps.store.put(key, {
        ...rest,
        accepted,
        committed: ballot,
        ...(tags.length === 0 ? {} : { committedTags: [...tags] }),
        ...(remembered === undefined ? {} : { remembered }),
      });
    });
  }

  /** The remembered writes still within the retention period. */
  private retained(remembered: readonly RememberedWrite[] | undefined): RememberedWrite[] {
    if (remembered === undefined) return [];
    const { retention } = this.deps;
    if (retention === undefined) return [...remembered];
    const oldestMs = retention.nowMs() - retention.ms;
    return remembered.filter((write) => hlcWallMs(write.hlc) >= oldestMs);
  }

  /** `remembered` with `writes` added (once per Idempotency-Key), the expired and the oldest beyond the bound dropped; the same list when nothing changed. */
  private remember(remembered: readonly RememberedWrite[] | undefined, writes: readonly RememberedWrite[]): RememberedWrite[] | undefined {
    const kept = this.retained(remembered);
    let changed = kept.length !== (remembered?.length ?? 0);
    for (const write of writes) {
      if (kept.some((held) => held.key === write.key)) continue;
      kept.push(write);
      changed = true;
    }
    if (!changed) return remembered as RememberedWrite[] | undefined;
    return kept.slice(-idempotencyEntriesPerKeyMax);
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
