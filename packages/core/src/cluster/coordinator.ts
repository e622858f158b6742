// The coordinator (docs/design.md, "The request path"): any node runs it for any key. It sends
// a write to the key's N replicas and answers after W acks; it reads from R replicas
// (itself first), answers with the newest version, and repairs stale replicas in the
// background. Only the key's own replicas count toward R and W. While the ring changes
// (ring/placement.ts), a write needs W acks among the key's replicas in every ring a
// reader may be using; reads use the read ring.
import type { Clock } from '../clock/clock.js';
import type { HybridLogicalClock } from '../clock/hlc.js';
import type { Placement } from '../ring/placement.js';
import type { Rng } from '../rng.js';
import { reroutesMax, speculativeRetryFloorMsDefault, speculativeRetryMaxMsDefault, speculativeRetryPercentileDefault, writeAttemptsMax } from '../limits.js';
import { isStorageFull } from '../storage/storage-errors.js';
import { newestOf, compareVersions, recordOf, visibleAt, type StoredRecord, type WriteChange } from '../storage/record.js';
import { PeerError, type Transport } from '../protocol/transport.js';
import { resolveReplicaCount, type ReplicaCount } from './consistency.js';
import { decideWrite, type WriteAnswer } from './decide-write.js';
import { describeFailures, InsufficientStorageError, OutcomeUnknownError, UnavailableError, type ReplicaFailure, type WriteFailureAnswer } from './outcomes.js';
import { strictQuorum, type QuorumPolicy } from './quorum-policy.js';
import { ReadLatencyTracker } from './latency-tracker.js';
import { QuorumRead } from './quorum-read.js';
import { readOrder } from './read-plan.js';

export interface CoordinatorOptions {
  /** How long one replica may take to ack a write. */
  writeTimeoutMs: number;
  /** How long one replica may take to answer a read. */
  readTimeoutMs: number;
  /** Chance that a read also checks the replicas it did not need, to repair them. */
  readRepairChance: number;
  /**
   * Rapid read protection (read-plan.ts): a read whose replicas have not answered within
   * this percentile of recent answers asks one more replica; 0 turns it off.
   */
  speculativeRetryPercentile: number;
  /** The wait before asking one more replica is at least this… */
  speculativeRetryFloorMs: number;
  /** …and at most this (and below the read timeout). */
  speculativeRetryMaxMs: number;
}

export const coordinatorDefaults: CoordinatorOptions = {
  writeTimeoutMs: 2000,
  readTimeoutMs: 2000,
  readRepairChance: 0,
  speculativeRetryPercentile: speculativeRetryPercentileDefault,
  speculativeRetryFloorMs: speculativeRetryFloorMsDefault,
  speculativeRetryMaxMs: speculativeRetryMaxMsDefault,
};

/**
 * This node's own replica, reached without the network but through the same replica code
 * as a peer's put (cluster-node.ts wires it to the peer handler), so that "newer", the
 * purge watermark and the clock are decided in one place.
 */
export interface LocalReplica {
  /**
   * Whether the record was stored, and the HLC of a newer version held instead; rejects when
   * nothing was stored (a full disk, a storage error). `repair`: a read repair's copy, not a
   * write being coordinated (see PutRequest).
   */
  put(key: string, record: StoredRecord, repair?: boolean): Promise<ApplyResult>;
  get(key: string): Promise<StoredRecord | undefined>;
}

export interface CoordinatorEvents {
  replicaWriteFailed?(nodeId: string, reason: string): void;
  readRepaired?(nodeId: string): void;
  /** A read asked one more replica because those it asked were slow (rapid read protection). */
  speculativeRead?(): void;
  hintDropped?(nodeId: string): void;
}

/** Where the coordinator leaves a hint for a replica that missed a write. */
export interface HintSink {
  /** Resolves false when the hint was dropped (bounds reached). */
  hold(target: string, key: string, record: StoredRecord): Promise<boolean>;
}

export interface CoordinatorDeps {
  selfId: string;
  placement(): Placement;
  addressOf(nodeId: string): string | undefined;
  isAvailable(nodeId: string): boolean;
  local: LocalReplica;
  transport: Transport;
  hlc: HybridLogicalClock;
  rng: Rng;
  /** Times speculative reads; without it reads wait for answers or the read timeout. */
  clock?: Clock;
  events?: CoordinatorEvents;
  /** Hints for replicas that miss writes; never counted toward W or R. */
  hints?: HintSink;
  /** Which rings a write must reach and when its acks make it written; `strictQuorum` by default. */
  quorum?: QuorumPolicy;
}

export interface WriteResult {
  record: StoredRecord;
  acks: number;
}

export interface ReadResult {
  /** The newest record among the replies, an expired value seen as a tombstone (record.ts, visibleAt); undefined when no replica holds the key. */
  record: StoredRecord | undefined;
  replies: number;
}

type WriteAttempt = { kind: 'written'; acks: number } | { kind: 'superseded'; newerHlc: number } | { kind: 'rerouted' };

export interface ApplyResult {
  applied: boolean;
  newerHlc: number | undefined;
}

export interface ReplicaCopy {
  nodeId: string;
  status: 'ok' | 'missing' | 'unreachable';
  record: StoredRecord | undefined;
  error?: string;
}

export class Coordinator {
  private readonly deps: CoordinatorDeps;
  private readonly options: CoordinatorOptions;
  private readonly quorum: QuorumPolicy;
  /** How fast replicas answered this node's reads: when to ask one more, whom to ask last. */
  private readonly readLatency: ReadLatencyTracker;

  constructor(deps: CoordinatorDeps, options: Partial<CoordinatorOptions> = {}) {
    this.deps = deps;
    this.options = { ...coordinatorDefaults, ...options };
    this.quorum = deps.quorum ?? strictQuorum;
    // A speculative wait as long as the read timeout would protect nothing.
    const maxMs = Math.max(0, Math.min(this.options.speculativeRetryMaxMs, Math.floor(this.options.readTimeoutMs / 2)));
    this.readLatency = new ReadLatencyTracker({
      percentile: this.options.speculativeRetryPercentile,
      floorMs: Math.min(this.options.speculativeRetryFloorMs, maxMs),
      maxMs,
    });
  }

  /** The key's replicas in the read ring: those that hold it now. */
  replicasOf(key: string): readonly string[] {
    return this.deps.placement().read.preferenceList(key);
  }

  /** The key's replica set in each ring a write must reach. */
  writeGroups(key: string): ReadonlyArray<readonly string[]> {
    const placement = this.deps.placement();
    const rings = this.quorum.writeRings(placement);
    if (rings.length === 1) return [(rings[0] as Placement['read']).preferenceList(key)];
    const groups: Array<readonly string[]> = [];
    for (const ring of rings) {
      const group = ring.preferenceList(key);
      if (!groups.some((held) => held.length === group.length && held.every((nodeId, i) => group[i] === nodeId))) groups.push(group);
    }
    return groups;
  }

  /** With `ttlSeconds` the value expires that long after its version's time (record.ts, expiryOf). */
  put(key: string, value: unknown, required: ReplicaCount, ttlSeconds?: number): Promise<WriteResult> {
    return this.write(key, { value, tombstone: false, ttlSeconds }, required);
  }

  delete(key: string, required: ReplicaCount): Promise<WriteResult> {
    return this.write(key, { value: undefined, tombstone: true }, required);
  }

  /**
   * Sends the write to every replica; resolves on `required` acks. A replica that already
   * holds a newer version of the key does not ack: its version is folded into this node's
   * clock and the write is re-stamped above it and sent again (bounded). Without this, a
   * coordinator whose clock runs behind would acknowledge a write that every replica had
   * refused as older — an acknowledged write lost to clock skew.
   */
  async write(key: string, change: WriteChange, count: ReplicaCount): Promise<WriteResult> {
    let groups = this.writeGroups(key);
    // A level is resolved against each group's size: a cluster smaller than N has fewer replicas per key.
    const requiredIn = (of: ReadonlyArray<readonly string[]>) => of.map((group) => resolveReplicaCount(count, group.length));
    let requiredPerGroup = requiredIn(groups);
    groups.forEach((group, i) => this.refuseIfTooFewAvailable(group, requiredPerGroup[i] as number, 'write'));
    let reroutes = 0;
    for (let attempt = 1; ; attempt++) {
      const record = recordOf(change, this.deps.hlc.now(), this.deps.selfId);
      let outcome: WriteAttempt;
      try {
        outcome = await this.writeAttempt(key, record, groups, requiredPerGroup, reroutes < reroutesMax);
      } catch (error) {
        throw attempt === 1 ? error : afterSupersededAttempts(error, attempt);
      }
      if (outcome.kind === 'written') return { record, acks: outcome.acks };
      if (outcome.kind === 'rerouted') {
        // The refusing replica's state is learned by now (cluster-node.ts, routed): route
        // again by it, at most reroutesMax times. Replicas that acked the attempt may hold
        // it, so a later refusal answers 504, as after a re-stamp.
        reroutes++;
        groups = this.writeGroups(key);
        requiredPerGroup = requiredIn(groups);
        try {
          groups.forEach((group, i) => this.refuseIfTooFewAvailable(group, requiredPerGroup[i] as number, 'write'));
        } catch (error) {
          throw afterSupersededAttempts(error, attempt + 1);
        }
        continue;
      }
      this.observeVersion(outcome.newerHlc);
      if (attempt >= writeAttemptsMax) {
        throw new OutcomeUnknownError(
          `newer versions of the key kept arriving during ${attempt} attempts; the write may or may not have been applied: read the key to find out`,
          Math.max(...requiredPerGroup),
          0,
          [],
        );
      }
    }
  }

  /**
   * One attempt's I/O: sends the record to every replica, records each answer, and acts on
   * what `decideWrite` (decide-write.ts) makes of the answers so far.
   */
  private writeAttempt(
    key: string,
    record: StoredRecord,
    groups: ReadonlyArray<readonly string[]>,
    required: readonly number[],
    rerouteAllowed: boolean,
  ): Promise<WriteAttempt> {
    const replicas = groups.length === 1 ? (groups[0] as readonly string[]) : [...new Set(groups.flat())];
    return new Promise((resolve, reject) => {
      const answers = new Map<string, WriteAnswer>();
      let settled = false;
      let restampWaitOver = false;
      let restampTimerArmed = false;
      // Hints are left only for writes that may be visible (success or unknown outcome):
      // a write refused with nothing applied must stay unapplied everywhere.
      let hinting = false;
      const hint = (nodeId: string) => {
        this.deps.hints?.hold(nodeId, key, record).then(
          (kept) => kept || this.deps.events?.hintDropped?.(nodeId),
          () => this.deps.events?.hintDropped?.(nodeId),
        );
      };
      const startHinting = () => {
        hinting = true;
        for (const [nodeId, answer] of answers) if (answer.kind === 'failed') hint(nodeId);
      };
      const armRestampTimer = () => {
        const waitMs = this.readLatency.speculateAfterMs();
        if (restampTimerArmed || this.deps.clock === undefined || waitMs === undefined) return;
        restampTimerArmed = true;
        this.deps.clock.setTimer(waitMs, () => {
          restampWaitOver = true;
          act();
        });
      };
      const act = () => {
        if (settled) return;
        const decision = decideWrite({ groups, required, answers, restampWaitOver, rerouteAllowed, quorum: this.quorum });
        switch (decision.kind) {
          case 'pending':
            if (decision.restampAfterWait) armRestampTimer();
            return;
          case 'written':
            settled = true;
            startHinting();
            resolve({ kind: 'written', acks: decision.acks });
            return;
          case 'superseded':
            settled = true;
            resolve({ kind: 'superseded', newerHlc: decision.newerHlc });
            return;
          case 'rerouted':
            settled = true;
            resolve({ kind: 'rerouted' });
            return;
          case 'outcome-unknown':
          case 'insufficient-storage':
          case 'unavailable':
            settled = true;
            if (decision.kind === 'outcome-unknown') startHinting();
            reject(this.writeFailure(decision.kind, Math.max(...required), decision.acks, decision.failures));
            return;
        }
      };
      for (const nodeId of peersFirst(replicas, this.deps.selfId)) {
        if (nodeId !== this.deps.selfId && !this.deps.isAvailable(nodeId)) {
          // Known down: nothing is sent (it would only time out); it gets a hint instead.
          answers.set(nodeId, { kind: 'failed', failure: { nodeId, reason: 'down' }, maybeApplied: false });
          continue;
        }
        this.applyOn(nodeId, key, record, false).then(
          (result) => {
            answers.set(nodeId, result.newerHlc === undefined ? { kind: 'acked' } : { kind: 'newer', hlc: result.newerHlc });
            act();
          },
          (error: unknown) => {
            if (this.quorum.hintStandsInForAck && !settled) {
              // A wrong policy (testing/planted-bugs.ts): the hint left for the failed replica counts as its ack.
              hint(nodeId);
              answers.set(nodeId, { kind: 'acked' });
              act();
              return;
            }
            const reason = reasonOf(error);
            if (isMisrouted(error)) {
              answers.set(nodeId, { kind: 'misrouted', failure: { nodeId, reason } });
              act();
              return;
            }
            const failure: ReplicaFailure = isStorageFullRefusal(error) ? { nodeId, reason, storageFull: true } : { nodeId, reason };
            // A local engine error means the local write did not happen; a peer error says itself.
            const maybeApplied = error instanceof PeerError ? error.maybeDelivered : nodeId !== this.deps.selfId;
            answers.set(nodeId, { kind: 'failed', failure, maybeApplied });
            this.deps.events?.replicaWriteFailed?.(nodeId, reason);
            if (settled && hinting) hint(nodeId);
            act();
          },
        );
      }
      // Every replica may be known down: decide now rather than wait for nothing.
      act();
    });
  }

  /** Folds a version seen elsewhere into this node's clock (a far-future one is ignored). */
  private observeVersion(hlc: number): void {
    try {
      this.deps.hlc.observe(hlc);
    } catch {
      // ClockSkewError: a peer's clock is too far ahead to follow; the next attempt fails again.
    }
  }

  /**
   * Reads from `required` replicas (more if some fail, or if those asked are slower than
   * recent answers: rapid read protection) and returns the newest copy.
   */
  read(key: string, required: ReplicaCount): Promise<ReadResult> {
    return this.readRouted(key, required, 0);
  }

  /**
   * One read, routed by the placement now. A replica that refuses the routing as stale
   * (epoch fencing) has taught this node its state by the time its refusal arrives: the
   * answers gathered may come from the wrong replicas, so the read is routed again, at
   * most reroutesMax times.
   */
  private readRouted(key: string, count: ReplicaCount, reroutes: number): Promise<ReadResult> {
    const replicas = this.replicasOf(key);
    const required = resolveReplicaCount(count, replicas.length);
    // Refused before anyone is asked, as a rejection: callers handle one way of failing.
    const refusal = this.tooFewAvailable(replicas, required, 'read');
    if (refusal !== undefined) return Promise.reject(refusal);
    // One answer wanted, and this node holds a copy: a planned read would ask itself first
    // and be done, so its own copy is read without the plan, its timer and its promises.
    if (required === 1 && replicas.includes(this.deps.selfId)) return this.readOwnCopy(key, replicas, count, reroutes);
    return this.plannedRead(key, replicas, required, count, reroutes);
  }

  private readOwnCopy(key: string, replicas: readonly string[], count: ReplicaCount, reroutes: number): Promise<ReadResult> {
    return this.deps.local.get(key).then(
      (record) => {
        if (record !== undefined) this.observeVersion(record.hlc);
        // As a planned read does once answered: by chance, check the replicas it did not need.
        if (replicas.length > 1 && this.deps.rng.next() < this.options.readRepairChance) {
          for (const nodeId of replicas) {
            if (nodeId === this.deps.selfId) continue;
            this.getFrom(nodeId, key).then(
              (held) => this.repairIfStale(nodeId, key, held, record),
              () => undefined, // anti-entropy finds what an unanswered check would have
            );
          }
        }
        return { record: record?.expiresAt === undefined ? record : visibleAt(record, this.deps.hlc.now()), replies: 1 };
      },
      // Its own copy failed (a storage error): the planned read goes on to the other replicas.
      () => this.plannedRead(key, replicas, 1, count, reroutes),
    );
  }

  private plannedRead(key: string, replicas: readonly string[], required: number, count: ReplicaCount, reroutes: number): Promise<ReadResult> {
    const speculateAfterMs = this.deps.clock === undefined ? undefined : this.readLatency.speculateAfterMs();
    const nowMs = this.deps.clock?.nowMs() ?? 0;
    // Slow means slower than the wait itself; with speculation off nothing is reordered.
    const isSlow = (nodeId: string) => speculateAfterMs !== undefined && this.readLatency.isSlow(nodeId, nowMs, speculateAfterMs);
    const order = readOrder(replicas, this.deps.selfId, (nodeId) => this.deps.isAvailable(nodeId), isSlow);
    let newest: StoredRecord | undefined;
    let misrouted = false;
    const read = new QuorumRead(
      {
        selfId: this.deps.selfId,
        // Only a peer can refuse the routing: this node's own copy is read as it is.
        getFrom: (nodeId) =>
          nodeId === this.deps.selfId
            ? this.getFrom(nodeId, key)
            : this.getFrom(nodeId, key).catch((error: unknown) => {
                if (isMisrouted(error)) misrouted = true;
                throw error;
              }),
        clock: this.deps.clock,
        latency: this.readLatency,
        reasonOf,
        answered: (replies) => {
          newest = newestOf([...replies.values()]);
          // Versions read move this node's clock forward, so its next write to the key is newer.
          if (newest !== undefined) this.observeVersion(newest.hlc);
          for (const [nodeId, record] of replies) this.repairIfStale(nodeId, key, record, newest);
          if (read.hasUnasked() && this.deps.rng.next() < this.options.readRepairChance) read.askRest();
        },
        answeredLate: (nodeId, record) => this.repairIfStale(nodeId, key, record, newest),
        speculated: () => this.deps.events?.speculativeRead?.(),
      },
      { required, order, speculateAfterMs },
    );
    read.start();
    const again = () => misrouted && reroutes < reroutesMax;
    return read.result.then(
      // Only a value with a ttl needs a clock reading (which also advances the HLC).
      (replies) => (again() ? this.readRouted(key, count, reroutes + 1) : { record: newest?.expiresAt === undefined ? newest : visibleAt(newest, this.deps.hlc.now()), replies: replies.size }),
      (error: unknown) => {
        if (again()) return this.readRouted(key, count, reroutes + 1);
        throw error;
      },
    );
  }

  /** Every replica's copy of a key, for operators; no repair, no quorum. */
  async inspect(key: string): Promise<ReplicaCopy[]> {
    const replicas = this.replicasOf(key);
    return Promise.all(
      replicas.map(async (nodeId): Promise<ReplicaCopy> => {
        try {
          const record = await this.getFrom(nodeId, key);
          return { nodeId, status: record === undefined ? 'missing' : 'ok', record };
        } catch (error) {
          return { nodeId, status: 'unreachable', record: undefined, error: reasonOf(error) };
        }
      }),
    );
  }

  private refuseIfTooFewAvailable(replicas: readonly string[], required: number, operation: 'read' | 'write'): void {
    const refusal = this.tooFewAvailable(replicas, required, operation);
    if (refusal !== undefined) throw refusal;
  }

  /** The refusal of an operation that too few of `replicas` are up to serve, if it is one. */
  private tooFewAvailable(replicas: readonly string[], required: number, operation: 'read' | 'write'): UnavailableError | undefined {
    // Hot path: count first, build the failure list only when refusing. (Ring asserts at
    // build time that preference lists hold distinct members.)
    let available = 0;
    for (const nodeId of replicas) if (nodeId === this.deps.selfId || this.deps.isAvailable(nodeId)) available++;
    if (available >= required) return undefined;
    // Only a wrong policy (a sloppy quorum counted as a strict one) lets hints stand in for down replicas.
    if (operation === 'write' && this.quorum.hintStandsInForAck) return undefined;
    const down = replicas.filter((nodeId) => nodeId !== this.deps.selfId && !this.deps.isAvailable(nodeId));
    const failures = down.map((nodeId) => ({ nodeId, reason: 'down' }));
    if (down.length === 0) {
      return new UnavailableError(
        `the ${operation} needs ${required} replicas but the ring holds only [${replicas.join(', ')}] for this key: too few members are in the ring yet; ` +
          `nothing was ${operation === 'write' ? 'written' : 'read'}`,
        required,
        failures,
      );
    }
    return new UnavailableError(
      `the ${operation} needs ${required} of the key's replicas [${replicas.join(', ')}] but ${describeFailures(failures)} ` +
        `${down.length === 1 ? 'is' : 'are'} down; nothing was ${operation === 'write' ? 'written' : 'read'}`,
      required,
      failures,
    );
  }

  /** The error for a failed write's answer, chosen by `decideWrite` (504, else 507, else 503). */
  private writeFailure(answer: WriteFailureAnswer, required: number, acks: number, failures: ReplicaFailure[]): Error {
    const failed = describeFailures(failures);
    const full = failures.filter((failure) => failure.storageFull === true).map((failure) => failure.nodeId);
    switch (answer) {
      case 'unavailable':
        return new UnavailableError(`no replica accepted the write (needed ${required}); failed: ${failed}; nothing was written`, required, failures);
      case 'insufficient-storage':
        return new InsufficientStorageError(
          `no replica accepted the write (needed ${required}): ${full.join(', ')} ${full.length === 1 ? 'is' : 'are'} out of disk space; failed: ${failed}; ` +
            'nothing was written. Free space in their data directories (or grow the volumes): they accept writes again by themselves',
          required,
          failures,
        );
      case 'outcome-unknown':
        return new OutcomeUnknownError(
          `only ${acks} of the ${required} acks needed arrived; failed: ${failed}. The write may or may not have been applied: read the key to find out` +
            (full.length > 0 ? `. ${full.join(', ')} ${full.length === 1 ? 'is' : 'are'} out of disk space: free space there` : ''),
          required,
          acks,
          failures,
        );
    }
  }

  private repairIfStale(nodeId: string, key: string, held: StoredRecord | undefined, newest: StoredRecord | undefined): void {
    if (newest === undefined) return;
    if (held !== undefined && compareVersions(held, newest) >= 0) return;
    this.applyOn(nodeId, key, newest, true).then(
      (result) => {
        if (result.applied) this.deps.events?.readRepaired?.(nodeId);
      },
      () => undefined, // a failed repair is retried by the next read or by anti-entropy
    );
  }

  /** Whether the replica stored the record, and the HLC of a newer version it holds instead. */
  private async applyOn(nodeId: string, key: string, record: StoredRecord, repair: boolean): Promise<ApplyResult> {
    if (nodeId === this.deps.selfId) return this.localPut(key, record, repair);
    const reply = await this.deps.transport.request(this.addressFor(nodeId), { type: 'put', key, record, ...(repair ? { repair } : {}) }, this.options.writeTimeoutMs);
    return { applied: reply.applied, newerHlc: reply.newerHlc };
  }

  /**
   * The local write, bounded by the write timeout like a peer's: a crawling disk here must
   * not hold a write that needs this replica (W=all) for ever. Past the timeout the write
   * may still land, so it counts as a timeout that may have applied (504, not 503).
   */
  private localPut(key: string, record: StoredRecord, repair: boolean): Promise<ApplyResult> {
    const put = this.deps.local.put(key, record, repair);
    const clock = this.deps.clock;
    if (clock === undefined) return put;
    return new Promise((resolve, reject) => {
      const timer = clock.setTimer(this.options.writeTimeoutMs, () =>
        reject(new PeerError('timeout', `this node's own disk did not store the write within ${this.options.writeTimeoutMs} ms`, true)),
      );
      put.then(
        (result) => {
          clock.clearTimer(timer);
          resolve(result);
        },
        (error: unknown) => {
          clock.clearTimer(timer);
          reject(error);
        },
      );
    });
  }

  private async getFrom(nodeId: string, key: string): Promise<StoredRecord | undefined> {
    if (nodeId === this.deps.selfId) return this.deps.local.get(key);
    const reply = await this.deps.transport.request(this.addressFor(nodeId), { type: 'get', key }, this.options.readTimeoutMs);
    return reply.record ?? undefined;
  }

  private addressFor(nodeId: string): string {
    const address = this.deps.addressOf(nodeId);
    if (address === undefined) throw new PeerError('not-connected', `no address known for ${nodeId}`, false);
    return address;
  }
}

/**
 * The replicas to send a write to, this node last. A peer's request goes out on the turn
 * after it is queued (transports coalesce a turn's frames), and so does this node's own
 * commit (engines commit a turn's writes together): sent in ring order, a write whose own
 * replica came first held the frames to the later peers for the length of its commit,
 * which then added to the peer's commit instead of overlapping it.
 */
export function peersFirst(replicas: readonly string[], selfId: string): readonly string[] {
  const at = replicas.indexOf(selfId);
  return at < 0 || at === replicas.length - 1 ? replicas : [...replicas.slice(0, at), ...replicas.slice(at + 1), selfId];
}

/** A replica that refused because the request was routed by an older cluster state than it holds. */
function isMisrouted(error: unknown): boolean {
  return error instanceof PeerError && error.remoteCode === 'stale-epoch';
}

/** A replica (a peer, or this node's own engine) that refused because its disk is full. */
function isStorageFullRefusal(error: unknown): boolean {
  return error instanceof PeerError ? error.remoteCode === 'storage-full' : isStorageFull(error);
}

function reasonOf(error: unknown): string {
  if (error instanceof PeerError) return error.code === 'remote-failure' ? error.message : error.code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A re-stamped attempt that applied nothing does not make the whole write "nothing
 * written": an earlier attempt, superseded by a newer version on some replica, may have
 * been applied on others. So its 503 or 507 becomes 504 (outcome unknown).
 */
export function afterSupersededAttempts(error: unknown, attempt: number): unknown {
  if (!(error instanceof UnavailableError) && !(error instanceof InsufficientStorageError)) return error;
  return new OutcomeUnknownError(
    `${error.message}; an earlier of the ${attempt} attempts may have been applied: read the key to find out`,
    error.required,
    0,
    error.failures,
  );
}
