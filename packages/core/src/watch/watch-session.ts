// One watch (docs/design.md, "Watch"): follows every member's change log
// (watch/change-log.ts) and delivers the changes under a prefix in the order of their change
// time, each (key, version, kind) once.
//
// A member's answer carries its floor: no entry it appends later has a change time at or
// below it. Once a set of members that holds a majority of every key's replicas has
// answered, the lowest of their floors is *resolved*: every change up to it that a majority
// of its replicas took has been read from at least one of them (a majority of replicas
// meets every other majority), so the changes held up to it are delivered in order, and
// the resolved time is the cursor a client resumes from. A member that stops answering no
// longer holds the watch back while the others still cover every key; what it logged
// meanwhile reached a majority through the others.
import type { Clock, TimerHandle } from '../clock/clock.js';
import { changesScanMax, watchHeartbeatMsDefault, watchMemberStaleMs, watchPendingEventsMax, watchPollMsDefault } from '../limits.js';
import type { ChangesReply, ChangesRequest, MemberAddress, PeerReply } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import { compareVersions, type StoredRecord } from '../storage/record.js';
import { changeAt } from './change-log.js';
import { comparePositions, formatCursor, isAfterCursor, type ChangeKind, type ChangePosition, type WatchCursor } from './watch-cursor.js';

export interface WatchEvent {
  kind: ChangeKind;
  key: string;
  record: StoredRecord;
  /** Resume after this event. */
  cursor: string;
}

export interface WatchListener {
  /** The watch has begun: changes after `cursor` will be delivered. */
  ready(cursor: string): void;
  change(event: WatchEvent): void;
  /** Every change up to `cursor` was delivered (a heartbeat). */
  progress(cursor: string): void;
  /** The watch ended on its own (a cursor too old, too far behind, closed); it delivers nothing more. */
  ended(error: WatchError): void;
}

export class WatchError extends Error {
  /** gone: the cursor is older than a member's retention; behind: the watch held too much; unavailable: too few members answer; closed: the node stops. */
  readonly reason: 'gone' | 'behind' | 'unavailable' | 'closed';
  constructor(reason: WatchError['reason'], message: string) {
    super(message);
    this.name = 'WatchError';
    this.reason = reason;
  }
}

export interface WatchSessionDeps {
  selfId: string;
  /** Every member in the ring, and any that has left but is still up, with its address. */
  members(): readonly MemberAddress[];
  /** False for a member known to be down: a new watch does not wait for it. */
  isAvailable(nodeId: string): boolean;
  /** Whether these members hold a majority of the replicas of every key, in every ring writes reach. */
  covers(nodeIds: ReadonlySet<string>): boolean;
  /** This node's own answer, without the network. */
  local(request: ChangesRequest): PeerReply;
  /** The time the members' floors resolve (the lowest: every member has passed it); testing/ plants a bug here. */
  resolvedOf?(floors: readonly number[]): number;
  transport: Transport;
  clock: Clock;
}

export interface WatchSessionOptions {
  prefix: string;
  /** Where to resume; none starts now. */
  cursor: WatchCursor | undefined;
  pollMs?: number;
  heartbeatMs?: number;
  /** How long to wait for members to answer before the watch begins. */
  startTimeoutMs: number;
}

interface MemberFollow {
  address: MemberAddress;
  /** The position read through. */
  after: number;
  /** Its floor, once an answer read everything up to it; undefined before. */
  floor: number | undefined;
  lastAnswerMs: number;
  asking: boolean;
  /** Ask again at once: the last answer had more. */
  more: boolean;
  lastError: string | undefined;
}

interface Held {
  position: ChangePosition;
  record: StoredRecord;
}

function lowestFloor(floors: readonly number[]): number {
  return Math.min(...floors);
}

/** How long a new watch waits for a member's floor before it begins without it (if the others cover every key). */
const watchProbeTimeoutMs = 1000;
/** How long a new watch still waits for the last members once those that answered cover every key. */
const watchProbeGraceMs = 50;

/** Keys whose last delivered version a watch remembers (to keep each key's order); the oldest are forgotten. */
const deliveredKeysMax = 100_000;

export class WatchSession {
  private readonly deps: WatchSessionDeps;
  private readonly options: WatchSessionOptions;
  private readonly listener: WatchListener;
  private readonly members = new Map<string, MemberFollow>();
  /** Changes read but not yet resolved, by position. */
  private readonly held = new Map<string, Held>();
  private readonly lastDelivered = new Map<string, { record: StoredRecord; expired: boolean }>();
  /** Every change up to here was delivered. */
  private resolved = 0;
  /** Changes at `resolved` up to this one were delivered (a resumed event cursor), if any. */
  private resumedAfter: ChangePosition | undefined;
  private lastProgressMs = 0;
  private progressedTo = 0;
  private timer: TimerHandle | undefined;
  private ended = false;

  constructor(deps: WatchSessionDeps, options: WatchSessionOptions, listener: WatchListener) {
    this.deps = deps;
    this.options = options;
    this.listener = listener;
  }

  /** Begins: learns where to start, then says `ready` and follows the members. */
  async start(): Promise<void> {
    const probe = await this.probe();
    if (this.ended) return;
    const cursor = this.options.cursor ?? { at: probe.lowestFloor };
    // An event cursor resumes inside its change time: changes at it up to the event were delivered.
    const startAfter = cursor.change === undefined ? cursor.at : cursor.at - 1;
    for (const [nodeId, prunedThrough] of probe.prunedThrough) {
      if (startAfter < prunedThrough) {
        throw new WatchError('gone', `member ${nodeId} no longer keeps the changes after this cursor (its change log was pruned past it); list the keys again and start a new watch without a cursor`);
      }
    }
    this.resolved = startAfter;
    this.resumedAfter = cursor.change;
    for (const address of this.deps.members()) this.follow(address);
    this.progressedTo = this.resolved;
    this.lastProgressMs = this.deps.clock.nowMs();
    this.listener.ready(formatCursor(cursor));
    this.tick();
  }

  close(): void {
    this.end(new WatchError('closed', 'the watch was closed'));
  }

  /** How many changes are held waiting to be resolved. */
  heldCount(): number {
    return this.held.size;
  }

  /**
   * Asks the members for their floors and what they pruned. The lowest floor of members
   * covering every key is where a new watch starts: a write that begins after they answered
   * is stamped above it on each of them.
   */
  private async probe(): Promise<{ lowestFloor: number; prunedThrough: Map<string, number> }> {
    const members = this.deps.members();
    const floors = new Map<string, number>();
    const prunedThrough = new Map<string, number>();
    const errors: string[] = [];
    const request: ChangesRequest = { type: 'changes', prefix: this.options.prefix, after: null, limit: 0 };
    // Begins once every member answered, or once those that did cover every key and a short
    // grace passed (a member that is slow to answer is followed all the same afterwards).
    await new Promise<void>((resolve) => {
      let waiting = members.length;
      let graceArmed = false;
      const settled = () => {
        waiting--;
        if (waiting <= 0) resolve();
        else if (!graceArmed && this.deps.covers(new Set(floors.keys()))) {
          graceArmed = true;
          this.deps.clock.setTimer(watchProbeGraceMs, resolve);
        }
      };
      if (members.length === 0) resolve();
      for (const member of members) {
        if (member.nodeId !== this.deps.selfId && !this.deps.isAvailable(member.nodeId)) {
          errors.push(`${member.nodeId}: known to be down`);
          settled();
          continue;
        }
        void this.ask(member, request, Math.min(this.options.startTimeoutMs, watchProbeTimeoutMs)).then((reply) => {
          if (typeof reply === 'string') errors.push(`${member.nodeId}: ${reply}`);
          else {
            floors.set(member.nodeId, reply.floor);
            prunedThrough.set(member.nodeId, reply.prunedThrough);
          }
          settled();
        });
      }
    });
    if (!this.deps.covers(new Set(floors.keys()))) {
      throw new WatchError('unavailable', `too few members answered to begin the watch, so changes on some keys could be missed (${errors.join('; ')}); retry once they are back`);
    }
    return { lowestFloor: Math.min(...floors.values()), prunedThrough: new Map(prunedThrough) };
  }

  private follow(address: MemberAddress): void {
    this.members.set(address.nodeId, { address, after: this.resolved, floor: undefined, lastAnswerMs: this.deps.clock.nowMs(), asking: false, more: false, lastError: undefined });
  }

  private tick(): void {
    if (this.ended) return;
    this.refreshMembers();
    for (const member of this.members.values()) if (!member.asking) void this.poll(member);
    this.advance();
    this.timer = this.deps.clock.setTimer(this.options.pollMs ?? watchPollMsDefault, () => this.tick());
  }

  /** Members joined are followed from the resolved time; members gone from the list (left and stopped) are dropped. */
  private refreshMembers(): void {
    const current = this.deps.members();
    const ids = new Set(current.map((member) => member.nodeId));
    for (const nodeId of this.members.keys()) if (!ids.has(nodeId)) this.members.delete(nodeId);
    for (const address of current) {
      const known = this.members.get(address.nodeId);
      if (known === undefined) this.follow(address);
      else known.address = address;
    }
  }

  private async poll(member: MemberFollow): Promise<void> {
    member.asking = true;
    try {
      for (let pages = 0; pages < 16 && !this.ended; pages++) {
        const reply = await this.ask(member.address, { type: 'changes', prefix: this.options.prefix, after: member.after, limit: changesScanMax }, this.options.startTimeoutMs);
        if (this.ended || this.members.get(member.address.nodeId) !== member) return;
        if (typeof reply === 'string') {
          member.lastError = reply;
          return;
        }
        if (reply.gone) {
          this.end(new WatchError('gone', `member ${member.address.nodeId} no longer keeps changes after this cursor (its change log was pruned through ${reply.prunedThrough}); list the keys again and start a new watch`));
          return;
        }
        this.take(reply);
        member.after = Math.max(member.after, reply.last);
        member.lastAnswerMs = this.deps.clock.nowMs();
        member.lastError = undefined;
        if (!reply.more) {
          member.floor = Math.max(member.floor ?? 0, reply.floor);
          this.advance();
          return;
        }
      }
    } finally {
      member.asking = false;
    }
  }

  private take(reply: ChangesReply): void {
    for (const entry of reply.entries) {
      const at = changeAt(entry);
      if (at <= this.resolved) continue; // passed already: a copy of a change delivered, or one too late to keep order
      const kind: ChangeKind = entry.expired ? 'expire' : entry.record.tombstone ? 'delete' : 'put';
      const position: ChangePosition = { at, key: entry.key, nodeId: entry.record.nodeId, kind };
      const id = `${at}\u0000${entry.key}\u0000${entry.record.nodeId}\u0000${kind}`;
      if (!this.held.has(id)) this.held.set(id, { position, record: entry.record });
    }
    if (this.held.size > watchPendingEventsMax) {
      this.end(new WatchError('behind', `the watch holds more than ${watchPendingEventsMax} changes waiting for slow members; resume from the last cursor`));
    }
  }

  /** Delivers what every covering member has passed. */
  private advance(): void {
    if (this.ended) return;
    const nowMs = this.deps.clock.nowMs();
    const counted = new Set<string>();
    const floors: number[] = [];
    // A member that is up but has not answered yet (a watch that just began or resumed, one
    // that just joined) is waited for while it is up: after a ring change the members covering
    // every key now need not hold what changed before it, and the one that does may be the
    // slowest. Only a member that answered and then went quiet is passed after
    // watchMemberStaleMs. Timing the quiet from when the member was first followed passed a
    // live member whose first question was lost (its answer is awaited for startTimeoutMs,
    // longer than the 2 s): ring-changes seed 4700099, where its log alone still held a
    // quorum put overwritten before the other replica that took it left the ring.
    let waiting = false;
    for (const [nodeId, member] of this.members) {
      if (member.floor === undefined) {
        if (nodeId === this.deps.selfId || this.deps.isAvailable(nodeId)) waiting = true;
        continue;
      }
      if (nowMs - member.lastAnswerMs > watchMemberStaleMs) continue;
      counted.add(nodeId);
      floors.push(member.floor);
    }
    const passed = floors.length === 0 ? 0 : (this.deps.resolvedOf ?? lowestFloor)(floors);
    if (!waiting && passed > this.resolved && this.deps.covers(counted)) this.deliverThrough(passed);
    const heartbeatMs = this.options.heartbeatMs ?? watchHeartbeatMsDefault;
    const due = this.resolved > this.progressedTo ? Math.min(1000, heartbeatMs) : heartbeatMs;
    if (nowMs - this.lastProgressMs >= due) {
      this.lastProgressMs = nowMs;
      this.progressedTo = this.resolved;
      this.listener.progress(formatCursor({ at: this.resolved }));
    }
  }

  private deliverThrough(time: number): void {
    const due: Held[] = [];
    for (const [id, held] of this.held) {
      if (held.position.at > time) continue;
      this.held.delete(id);
      due.push(held);
    }
    due.sort((a, b) => comparePositions(a.position, b.position));
    this.resolved = time;
    const resumedAfter = this.resumedAfter;
    this.resumedAfter = undefined;
    for (const { position, record } of due) {
      if (resumedAfter !== undefined && !isAfterCursor(position, { at: resumedAfter.at, change: resumedAfter })) continue;
      if (!this.keepsOrder(position, record)) continue;
      this.listener.change({ kind: position.kind, key: position.key, record, cursor: formatCursor({ at: position.at, change: position }) });
      if (this.ended) return;
    }
  }

  /**
   * Each key's changes go out in version order. An expiry of a version another replica had
   * already replaced (by a write stamped before the expiry) is not a change of the key.
   */
  private keepsOrder(position: ChangePosition, record: StoredRecord): boolean {
    const expired = position.kind === 'expire';
    const last = this.lastDelivered.get(position.key);
    if (last !== undefined) {
      const order = compareVersions(record, last.record);
      if (order < 0 || (order === 0 && (!expired || last.expired))) return false;
      this.lastDelivered.delete(position.key);
    } else if (this.lastDelivered.size >= deliveredKeysMax) {
      const oldest = this.lastDelivered.keys().next().value as string;
      this.lastDelivered.delete(oldest);
    }
    this.lastDelivered.set(position.key, { record, expired });
    return true;
  }

  private async ask(member: MemberAddress, request: ChangesRequest, timeoutMs: number): Promise<ChangesReply | string> {
    try {
      const reply = member.nodeId === this.deps.selfId ? this.deps.local(request) : await this.deps.transport.request(member.address, request, timeoutMs);
      if (reply.type === 'failure') return `${reply.code}: ${reply.message}`;
      if (reply.type !== 'changesReply') return `answered ${reply.type}`;
      return reply;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private end(error: WatchError): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer !== undefined) this.deps.clock.clearTimer(this.timer);
    this.held.clear();
    this.listener.ended(error);
  }
}
