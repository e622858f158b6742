// A replica's change log (docs/design.md, "Watch"): every record that becomes this
// replica's newest version of its key, in the order it did, kept for a retention window so
// that a watch can read it from any point (watch/watch-session.ts).
//
// Ordering. Each entry has a position: this node's HLC when it was appended, strictly
// increasing. A change's own time (`changeAt`) is its version's HLC, or its expiry for an
// expiry. A watch delivers changes in change time, and to know that no change at or below a
// time T can still appear here, a replica *closes* time: it refuses a coordinator's write
// stamped more than the close window below its clock (peer-handler.ts storeReplicaWrite;
// the coordinator re-stamps it above). `floor()` is the time below which no further entry
// will be appended: the closed time, held back by writes being applied, by Paxos
// proposals accepted but not yet committed, and by expiries not yet logged.
//
// A record whose change time is already below the floor when it is applied (a hint, repair
// or transfer of an older version) does not hold the floor: a replica that took the write
// from its coordinator logged it in time. It is logged all the same while younger than the
// retention window, for a watch resumed from before a ring change, which finds it only on
// the new owners. A watch can miss a change only if no replica took it in time, which is a
// write that failed (docs/guarantees.md, "Watch").
//
// An entry is appended after its record is stored and before the write is acknowledged, so
// an acknowledged write is always in the log of the replica that acknowledged it.
import type { Clock, TimerHandle } from '../clock/clock.js';
import { hlcPlusMs, type HybridLogicalClock } from '../clock/hlc.js';
import { changesReplyBytesMax, changesScanMax, watchOpenProposalMsMax } from '../limits.js';
import type { ChangesReply, ChangesRequest } from '../protocol/messages.js';
import type { ApplyOutcome, Engine, KeyVersion, PurgeableEntry, PurgeableOptions, RingKeyEntry, RingScanEntry, RingScanOptions, ScanEntry, ScanOptions } from '../storage/engine.js';
import type { RangeSummary } from '../storage/ring-order.js';
import { compareVersions, type StoredRecord } from '../storage/record.js';
import { valueBytesOf } from '../cluster/key-scan.js';

export interface ChangeEntry {
  /** Position in this replica's log: its HLC when the entry was appended. */
  pos: number;
  key: string;
  record: StoredRecord;
  /** The record's ttl ran out while it was this replica's newest version of the key. */
  expired: boolean;
}

/** When the change happened: its version's time, or for an expiry the expiry's. */
export function changeAt(entry: Pick<ChangeEntry, 'record' | 'expired'>): number {
  return entry.expired ? (entry.record.expiresAt as number) : entry.record.hlc;
}

/** Where the log is kept: memory here, LMDB on real nodes (packages/server/src/storage/lmdb-change-store.ts). */
export interface ChangeStore {
  /** Appends entries in the order given (positions increasing); resolves once they are stored. */
  append(entries: readonly ChangeEntry[]): Promise<void>;
  /**
   * Called just before the engine is asked to apply `record`: if the engine stores it, its
   * entry is stored in the same write, at the position `position()` gives then. Returns a
   * check, to call once the apply has resolved (always: it forgets the record), that says
   * whether the entry was stored. A store that shares its engine's transactions saves a
   * commit per write and stores a record and its entry atomically; without it, `append`
   * follows the apply.
   */
  appendWithRecord?(key: string, record: StoredRecord, position: () => number): () => boolean;
  /** Up to `limit` entries with a position above `after`, in position order. */
  read(after: number, limit: number): ChangeEntry[];
  /** Drops entries with a position below `beforePos`, then the oldest while more than `maxBytes` are kept. */
  prune(beforePos: number, maxBytes: number): Promise<void>;
  /** The highest position dropped by pruning (0 when nothing ever was): a cursor at or below it has lost entries. */
  prunedThrough(): number;
  /** Entries kept and their approximate size. */
  size(): { entries: number; bytes: number };
}

/** The approximate stored size of an entry, for the retention budget. */
export function changeEntryBytes(entry: ChangeEntry): number {
  return 48 + entry.key.length * 3 + valueBytesOf(entry.record);
}

export class MemoryChangeStore implements ChangeStore {
  private entries: ChangeEntry[] = [];
  private bytes = 0;
  private pruned = 0;

  async append(entries: readonly ChangeEntry[]): Promise<void> {
    for (const entry of entries) {
      this.entries.push(entry);
      this.bytes += changeEntryBytes(entry);
    }
  }

  read(after: number, limit: number): ChangeEntry[] {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.entries[middle] as ChangeEntry).pos <= after) low = middle + 1;
      else high = middle;
    }
    return this.entries.slice(low, low + limit);
  }

  async prune(beforePos: number, maxBytes: number): Promise<void> {
    let drop = 0;
    while (drop < this.entries.length) {
      const entry = this.entries[drop] as ChangeEntry;
      if (entry.pos >= beforePos && this.bytes <= maxBytes) break;
      this.bytes -= changeEntryBytes(entry);
      this.pruned = Math.max(this.pruned, entry.pos);
      drop++;
    }
    if (drop > 0) this.entries = this.entries.slice(drop);
  }

  prunedThrough(): number {
    return this.pruned;
  }

  size(): { entries: number; bytes: number } {
    return { entries: this.entries.length, bytes: this.bytes };
  }
}

export interface ChangeLogOptions {
  /** The close window (--watch-close-ms). */
  closeMs: number;
  /** How long entries are kept (--watch-retention-s), in ms. */
  retentionMs: number;
  /** Bytes kept at most (--watch-retention-mb). */
  retentionBytes: number;
}

export interface ChangeLogDeps {
  engine: Engine;
  store: ChangeStore;
  hlc: HybridLogicalClock;
  clock: Clock;
  /**
   * For each key, the newest version a majority of its replicas answered with (null when
   * none holds it), or what the few that answered hold: one question per replica for all
   * the keys. An expiry is logged only when no replica that answers holds a newer
   * version: one written before the expiry that this replica missed replaced the expiring
   * value, which then never expired as the key's value.
   */
  newestVersions?(keys: readonly string[]): Promise<Map<string, KeyVersionSeen>>;
}

/**
 * The newest version of a key its replicas answered with (null when none holds it), or,
 * when fewer than a majority answered in some ring writes reach, `fewAnswered`: the newest
 * those few hold, and whether a majority answered in a ring this replica is one of.
 */
export type KeyVersionSeen = Pick<StoredRecord, 'hlc' | 'nodeId'> | null | { fewAnswered: Pick<StoredRecord, 'hlc' | 'nodeId'> | null; ownRingMajority: boolean };

/** What is known of a key no answer came for (the question failed). */
const nothingHeard: KeyVersionSeen = { fewAnswered: null, ownRingMajority: false };

/** A write on its way to the engine, and how the log takes it. */
interface LoggedWrite {
  key: string;
  record: StoredRecord;
  /** Above the floor when it began: it holds the floor until it is stored. */
  onTime: boolean;
  logged: boolean;
  /** Ends the engine's expectation of the entry (lmdb-change-store.ts); true when it went into the record's transaction. */
  appended: (() => boolean) | undefined;
}

interface PendingExpiry {
  at: number;
  key: string;
  hlc: number;
  nodeId: string;
  /** When too few of the key's replicas first answered for it (wall ms). */
  unconfirmedSinceMs?: number;
}

/** How long an expiry waits for a majority of its key's replicas before it is logged unconfirmed or left to them. */
const expiryConfirmMsMax = 3000;
/** Expiries confirmed per tick at most (one question per replica for all of them); the rest wait for the next. */
const expiriesPerTickMax = 1000;

/** Entries of the engine's purgeable list read per page while the stored ttl values are found. */
const expiringPage = 1000;

/** How often expiries are logged and the log pruned. */
const tickMs = 50;
/** Prune at most this often. */
const pruneEveryMs = 1000;

/**
 * The node's engine, logging what it applies (an Engine decorator), and the replica's side
 * of the change feed.
 */
export class ChangeLog implements Engine {
  private readonly deps: ChangeLogDeps;
  private readonly options: ChangeLogOptions;
  /** Versions (HLCs) of writes being applied or logged, with how many of each. */
  private readonly inFlight = new Map<number, number>();
  /** Accepted Paxos proposals not yet committed, by key: their record's HLC and when accepted. */
  private readonly openProposals = new Map<string, { hlc: number; sinceMs: number }>();
  private readonly expiries = new ExpiryHeap();
  /** Until the stored keys with a ttl are found, time stays closed at this point. */
  private scanHold: number | undefined;
  private timer: TimerHandle | undefined;
  private lastPruneMs = 0;
  private appendFailures = 0;
  /** Coordinators' writes refused for being stamped at or below the closed time. */
  private refused = 0;
  private stopped = false;
  /** Appends that have not resolved (expiry entries), so `stop` can wait for them. */
  private appending: Promise<void> = Promise.resolve();

  constructor(deps: ChangeLogDeps, options: ChangeLogOptions) {
    this.deps = deps;
    this.options = options;
  }

  get kind(): Engine['kind'] {
    return this.deps.engine.kind;
  }

  /** Finds the stored keys with a ttl (their expiry is logged when it comes) and starts the timer. */
  start(): void {
    this.scanHold = this.closedBelow();
    void this.findExpiring();
    this.schedule();
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clock.clearTimer(this.timer);
    return this.appending;
  }

  /**
   * A coordinator's write stamped at or below this is refused (the coordinator re-stamps it
   * above). Reads the clock, so an idle replica's closed time still moves with time.
   */
  closedBelow(): number {
    return this.closedAt(this.deps.hlc.now());
  }

  /**
   * For a coordinator's write stamped at `hlc`: the closed time it is refused below (the
   * coordinator re-stamps it above), or undefined when it is not refused. Counts refusals.
   */
  refusesAt(hlc: number): number | undefined {
    const closed = this.closedBelow();
    if (hlc > closed) return undefined;
    this.refused++;
    return closed;
  }

  /** No entry appended from now on has a change time at or below this. */
  floor(): number {
    return this.floorAt(this.closedBelow());
  }

  private closedAt(hlc: number): number {
    return Math.max(0, hlcPlusMs(hlc, -this.options.closeMs));
  }

  /** The floor, given the closed time. */
  private floorAt(closed: number): number {
    let floor = closed;
    if (this.scanHold !== undefined) floor = Math.min(floor, this.scanHold);
    for (const hlc of this.inFlight.keys()) floor = Math.min(floor, hlc - 1);
    const nowMs = this.deps.clock.nowMs();
    for (const [key, proposal] of this.openProposals) {
      if (nowMs - proposal.sinceMs > watchOpenProposalMsMax) this.openProposals.delete(key);
      else floor = Math.min(floor, proposal.hlc - 1);
    }
    const nextExpiry = this.expiries.peek();
    if (nextExpiry !== undefined) floor = Math.min(floor, nextExpiry.at - 1);
    return floor;
  }

  /** A Paxos proposal this replica accepted: its commit may come late, and must still be logged. */
  proposalAccepted(key: string, record: StoredRecord): void {
    this.openProposals.set(key, { hlc: record.hlc, sinceMs: this.deps.clock.nowMs() });
  }

  get(key: string): Promise<StoredRecord | undefined> {
    return this.deps.engine.get(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    const write = this.begin(key, record);
    let outcome: ApplyOutcome;
    try {
      outcome = await this.deps.engine.apply(key, record);
    } catch (error) {
      this.abandon(write);
      throw error;
    }
    return this.finish(write, outcome);
  }

  async applyBatch(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<ApplyOutcome[]> {
    const writes = entries.map(([key, record]) => this.begin(key, record));
    let outcomes: ApplyOutcome[];
    try {
      outcomes = await this.deps.engine.applyBatch(entries);
    } catch (error) {
      for (const write of writes) this.abandon(write);
      throw error;
    }
    return Promise.all(writes.map((write, index) => this.finish(write, outcomes[index] as ApplyOutcome)));
  }

  /**
   * Decided before anything is awaited: a record above the floor now is one a watch may not
   * have passed, and it holds the floor below it until it is stored. The clock is not read
   * again: a coordinated write was just judged against the closed time of its last reading
   * (peer-handler.ts storeReplicaWrite).
   */
  private begin(key: string, record: StoredRecord): LoggedWrite {
    const peek = this.deps.hlc.peek();
    const onTime = record.hlc > this.floorAt(this.closedAt(peek));
    // A record below the floor (a transfer, hint or repair of an older version) is logged too
    // while a cursor could still ask for it: a watch resumed from before it, after the ring
    // changed, may find it only on the replicas that received it (the new owners).
    const logged = onTime || record.hlc > hlcPlusMs(peek, -this.options.retentionMs);
    const appended = logged ? this.deps.store.appendWithRecord?.(key, record, () => this.deps.hlc.now()) : undefined;
    if (onTime) this.hold(record.hlc);
    return { key, record, onTime, logged, appended };
  }

  /** The engine refused the write: nothing of it is logged. */
  private abandon(write: LoggedWrite): void {
    write.appended?.();
    if (write.onTime) this.release(write.record.hlc);
  }

  private async finish(write: LoggedWrite, outcome: ApplyOutcome): Promise<ApplyOutcome> {
    const { key, record } = write;
    try {
      const stored = write.appended?.();
      const proposal = this.openProposals.get(key);
      if (proposal !== undefined && outcome.current.hlc >= proposal.hlc) this.openProposals.delete(key);
      if (!outcome.applied) return outcome;
      if (record.expiresAt !== undefined) this.expiries.push({ at: record.expiresAt, key, hlc: record.hlc, nodeId: record.nodeId });
      if (write.logged) {
        try {
          if (stored === undefined) await this.deps.store.append([{ pos: this.deps.hlc.now(), key, record, expired: false }]);
          else if (!stored) this.appendFailures++;
        } catch {
          // The record is stored: the write must not be reported as refused. Only the watch
          // can miss it here, on this replica; the others log it (stats show the count).
          this.appendFailures++;
        }
      }
      return outcome;
    } finally {
      if (write.onTime) this.release(record.hlc);
    }
  }

  scan(options: ScanOptions): Promise<ScanEntry[]> {
    return this.deps.engine.scan(options);
  }

  discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    return this.deps.engine.discard(entries);
  }

  ringScan(options: RingScanOptions): Promise<RingScanEntry[]> {
    return this.deps.engine.ringScan(options);
  }

  ringKeys(options: RingScanOptions): Promise<RingKeyEntry[]> {
    return this.deps.engine.ringKeys(options);
  }

  summarize(start: number, end: number): Promise<RangeSummary> {
    return this.deps.engine.summarize(start, end);
  }

  purgeable(options: PurgeableOptions): Promise<PurgeableEntry[]> {
    return this.deps.engine.purgeable(options);
  }

  keyCount(): number {
    return this.deps.engine.keyCount();
  }

  liveCount(): number {
    return this.deps.engine.liveCount();
  }

  close(): Promise<void> {
    return this.deps.engine.close();
  }

  /** A member's answer to a watch (watch/watch-session.ts): its entries after `after` under the prefix, and its floor. */
  changesFor(request: ChangesRequest): ChangesReply {
    const prunedThrough = this.deps.store.prunedThrough();
    // The floor is taken before reading: an entry stored meanwhile is read too, and one
    // still being stored holds the floor below its own time.
    const floor = this.floor();
    if (request.after !== null && request.after < prunedThrough) return { type: 'changesReply', gone: true, entries: [], last: request.after, more: false, floor: 0, prunedThrough };
    // A new watch first learns each member's floor; it reads entries from the lowest of them.
    if (request.after === null) return { type: 'changesReply', gone: false, entries: [], last: this.deps.hlc.peek(), more: false, floor, prunedThrough };
    const after = request.after;
    const scanned = this.deps.store.read(after, Math.min(request.limit, changesScanMax));
    const entries: ChangeEntry[] = [];
    let bytes = 0;
    let last = after;
    let stoppedEarly = false;
    for (const entry of scanned) {
      last = entry.pos;
      if (!entry.key.startsWith(request.prefix)) continue;
      entries.push(entry);
      bytes += changeEntryBytes(entry);
      if (bytes >= changesReplyBytesMax) {
        stoppedEarly = true;
        break;
      }
    }
    const more = stoppedEarly || scanned.length >= Math.min(request.limit, changesScanMax);
    return { type: 'changesReply', gone: false, entries, last, more, floor: more ? 0 : floor, prunedThrough };
  }

  /** What /node-info and /metrics show of the log. */
  stats(): { entries: number; bytes: number; prunedThrough: number; floor: number; appendFailures: number; refusedWrites: number } {
    return { ...this.deps.store.size(), prunedThrough: this.deps.store.prunedThrough(), floor: this.floor(), appendFailures: this.appendFailures, refusedWrites: this.refused };
  }

  private hold(hlc: number): void {
    this.inFlight.set(hlc, (this.inFlight.get(hlc) ?? 0) + 1);
  }

  private release(hlc: number): void {
    const count = (this.inFlight.get(hlc) ?? 1) - 1;
    if (count <= 0) this.inFlight.delete(hlc);
    else this.inFlight.set(hlc, count);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimer(tickMs, () => {
      const work = this.tick().catch(() => undefined);
      this.appending = this.appending.then(() => work);
      void work.then(() => this.schedule());
    });
  }

  /** Logs the expiries time has closed past, and prunes the log now and then. */
  private async tick(): Promise<void> {
    const closed = this.closedBelow();
    const due: Array<{ key: string; record: StoredRecord }> = [];
    const held: number[] = [];
    const retry: PendingExpiry[] = [];
    try {
      // The expiries time has closed past whose value is still this replica's copy.
      const candidates: Array<{ expiry: PendingExpiry; record: StoredRecord }> = [];
      for (let next = this.expiries.peek(); next !== undefined && next.at <= closed && candidates.length < expiriesPerTickMax; next = this.expiries.peek()) {
        this.expiries.pop();
        // Held until stored (or put back), so the floor stays below it meanwhile.
        this.hold(next.at);
        held.push(next.at);
        const current = await this.deps.engine.get(next.key);
        if (current === undefined || current.tombstone || compareVersions(current, next) !== 0 || current.expiresAt !== next.at) continue;
        candidates.push({ expiry: next, record: current });
      }
      const newest = candidates.length === 0 ? new Map<string, KeyVersionSeen>() : await this.newestOf(candidates.map(({ expiry }) => expiry.key));
      const nowMs = this.deps.clock.nowMs();
      for (const { expiry, record } of candidates) {
        // null is an answer (no replica holds a version of the key); a key missing from the map is not.
        const seen = newest.has(expiry.key) ? (newest.get(expiry.key) as KeyVersionSeen) : nothingHeard;
        if (seen === null || !('fewAnswered' in seen)) {
          if (seen === null || compareVersions(seen, record) <= 0) due.push({ key: expiry.key, record });
          continue;
        }
        // One answer holding a newer version is enough to refute the expiry, however few
        // answered: otherwise it would be logged unconfirmed below, after that newer write
        // (slow-gossip seed 3601432: a replica of a ring only the coordinator knew, its own
        // gossip starved, heard only from the replica holding the newer quorum write).
        if (seen.fewAnswered !== null && compareVersions(seen.fewAnswered, record) > 0) continue;
        // Asked again on the next tick (the floor stays below it), for a while.
        const sinceMs = expiry.unconfirmedSinceMs ?? nowMs;
        if (nowMs - sinceMs < expiryConfirmMsMax) retry.push({ ...expiry, unconfirmedSinceMs: sinceMs });
        // Then logged unconfirmed only if a majority of this replica's own replicas answered
        // (a ring change left another ring short). One that heard no such majority may be
        // the one that missed the newer write, and it cannot tell: it leaves the expiry to
        // the replicas that hold the value and can confirm it (a watch takes each change from
        // whichever replica logs it) rather than hold every watch's floor while it is cut off
        // (slow-gossip seed 4000313: gossip starved, it held the others down and heard only itself).
        else if (seen.ownRingMajority) due.push({ key: expiry.key, record });
      }
      // Positions are taken as the entries are appended, so they follow the log's order.
      const entries = due.map(({ key, record }) => ({ pos: this.deps.hlc.now(), key, record, expired: true }));
      if (entries.length > 0) await this.deps.store.append(entries);
    } finally {
      for (const item of retry) this.expiries.push(item);
      for (const hlc of held) this.release(hlc);
    }
    const nowMs = this.deps.clock.nowMs();
    if (nowMs - this.lastPruneMs >= pruneEveryMs) {
      this.lastPruneMs = nowMs;
      await this.deps.store.prune(hlcPlusMs(this.deps.hlc.peek(), -this.options.retentionMs), this.options.retentionBytes);
    }
  }

  /** What the keys' replicas hold (newestVersions); without it, nothing newer is known. */
  private async newestOf(keys: readonly string[]): Promise<Map<string, KeyVersionSeen>> {
    if (this.deps.newestVersions === undefined) return new Map(keys.map((key) => [key, null]));
    try {
      return await this.deps.newestVersions(keys);
    } catch {
      return new Map();
    }
  }

  /** Finds the stored values with a ttl from the engine's purgeable list (tombstones come in it too and are skipped). */
  private async findExpiring(): Promise<void> {
    let after: { goneAt: number; key: string } | undefined;
    try {
      for (;;) {
        const page = await this.deps.engine.purgeable({ below: Number.POSITIVE_INFINITY, limit: expiringPage, ...(after !== undefined ? { after } : {}) });
        for (const entry of page) {
          if (!entry.tombstone) this.expiries.push({ at: entry.goneAt, key: entry.key, hlc: entry.hlc, nodeId: entry.nodeId });
        }
        const last = page[page.length - 1];
        if (last === undefined || page.length < expiringPage || this.stopped) break;
        after = { goneAt: last.goneAt, key: last.key };
        await new Promise<void>((resolve) => this.deps.clock.setTimer(0, resolve));
      }
    } finally {
      this.scanHold = undefined;
    }
  }
}

/** Expiries in time order (a binary heap); a superseded one is skipped when it comes up. */
class ExpiryHeap {
  private readonly items: PendingExpiry[] = [];

  peek(): PendingExpiry | undefined {
    return this.items[0];
  }

  push(item: PendingExpiry): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      if ((items[parent] as PendingExpiry).at <= item.at) break;
      items[index] = items[parent] as PendingExpiry;
      index = parent;
    }
    items[index] = item;
  }

  pop(): PendingExpiry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as PendingExpiry).at < (items[left] as PendingExpiry).at ? right : left;
      if ((items[child] as PendingExpiry).at >= last.at) break;
      items[index] = items[child] as PendingExpiry;
      index = child;
    }
    items[index] = last;
    return top;
  }
}
