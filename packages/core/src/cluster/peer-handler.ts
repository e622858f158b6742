// What a node does with every request another node sends it: membership's pings and state
// exchanges, and the replica side of the data path (puts, gets, repair, transfers). The
// node's own writes come through here too (cluster-node.ts wires the coordinator's local
// replica to it), so "newer", the purge watermark and the clock are decided in one place.
// Writes fold the writer's clock into ours before they are applied, so versions this node
// issues later are larger than any it has stored.
import { ClockSkewError, type HybridLogicalClock } from '../clock/hlc.js';
import { isValidKey, utf8Length } from '../keys.js';
import { keyBytesMax, recordsPerMessageMax } from '../limits.js';
import type { ChangeLog } from '../watch/change-log.js';
import type { AntiEntropy } from '../repair/anti-entropy.js';
import { purgedBy, settledBy } from '../repair/tombstone-purge.js';
import type { Membership } from '../membership/membership.js';
import type { LocalReplica } from './coordinator.js';
import { scannedRecordsOf } from './key-scan.js';

/** What the handler asks of membership: to answer its messages. */
export type PeerMembership = Pick<Membership, 'handlePing' | 'handlePingReq' | 'handleState'>;
import type { MemberAddress, PaxosAcceptRequest, PaxosCommitRequest, PaxosPrepareRequest, PeerReply, PutReply, Routed, TransferBatchReply, TransferScanRequest } from '../protocol/messages.js';
import type { PaxosAcceptor } from './paxos.js';
import { expectReply, type DataRequest, type RequestHandler } from '../protocol/transport.js';
import type { Engine } from '../storage/engine.js';
import { isStorageFull, StorageFullError } from '../storage/storage-errors.js';
import { compareVersions, type StoredRecord } from '../storage/record.js';

export interface PeerHandlerDeps {
  engine: Engine;
  hlc: HybridLogicalClock;
  membership: PeerMembership;
  antiEntropy: Pick<AntiEntropy, 'digestsFor' | 'rangeEntriesFor'>;
  /** The tombstone watermark (repair/tombstone-purge.ts). */
  watermark?(): number;
  /** Whether this node is a replica of the key in a ring that writes reach now. */
  replicates?(key: string): boolean;
  /**
   * Fencing (cluster/cluster-state.ts): whether a put or get routed by the sender's state
   * may be served; false refuses it with `stale-epoch`. Without it every request is served.
   */
  fence?(request: Routed, from: MemberAddress): { serve: true } | { serve: false; message: string };
  /**
   * False once this node has left the ring: its copies are no longer kept up to date and
   * no longer count toward the tombstone purge cutoff (repair/tombstone-purge.ts), so it
   * must not feed repair, where an old copy could revive a purged delete.
   */
  servesRepair?(): boolean;
  /** True while this node lost its data and repair has not brought it back (versionsReply.incomplete). */
  dataIncomplete?(): boolean;
  /** The replica's change log (watch/change-log.ts): its closed time and its answers to watches. */
  changes?: Pick<ChangeLog, 'refusesAt' | 'changesFor'>;
  /** Answers a transfer scan (rebalance/transfer-source.ts). */
  transferBatch?(request: TransferScanRequest): Promise<TransferBatchReply>;
  /** The acceptor of conditional writes (cluster/paxos.ts); without it Paxos messages are refused. */
  paxos?: PaxosAcceptor;
}

/** Requests whose duplicate deliveries get the first delivery's answer (createPeerHandler). */
const answeredOnce: ReadonlySet<DataRequest['type']> = new Set(['put', 'paxosPrepare', 'paxosAccept', 'paxosCommit']);

export function createPeerHandler(deps: PeerHandlerDeps): RequestHandler {
  // Answers to puts and Paxos steps, by request identity: a duplicate delivery of a
  // request gets the answer of its first delivery, even while that one is still in the
  // engine. Without it a duplicate of a put refused for a full disk (the coordinator may
  // have answered 507, "nothing was written") could apply once space returned, and a
  // proposer could hear "refused" from an acceptor that took its proposal. TCP delivers a
  // request once; the simulated network can deliver the same request twice. A read repair
  // of the same version is a new request.
  const putAnswers = new WeakMap<DataRequest, Promise<PeerReply>>();
  const handle = async (body: DataRequest, from: MemberAddress): Promise<PeerReply> => {
    switch (body.type) {
      case 'ping':
        return deps.membership.handlePing(body, from);
      case 'pingReq':
        return deps.membership.handlePingReq(body, from);
      case 'state':
        return deps.membership.handleState(body, from);
      case 'versions': {
        const versions: Array<[number, string] | null> = [];
        for (const key of body.keys.slice(0, recordsPerMessageMax)) {
          const record = await deps.engine.get(key);
          versions.push(record === undefined ? null : [record.hlc, record.nodeId]);
        }
        return deps.dataIncomplete?.() === true ? { type: 'versionsReply', versions, incomplete: true } : { type: 'versionsReply', versions };
      }
      case 'get': {
        if (!isValidKey(body.key)) return failure('bad-request', 'key must be 1..1024 UTF-8 bytes');
        const fenced = deps.fence?.(body, from);
        if (fenced !== undefined && !fenced.serve) return failure('stale-epoch', fenced.message);
        return { type: 'getReply', record: (await deps.engine.get(body.key)) ?? null };
      }
      case 'put':
        if (!isValidKey(body.key)) return failure('bad-request', 'key must be 1..1024 UTF-8 bytes');
        {
          const fenced = deps.fence?.(body, from);
          if (fenced !== undefined && !fenced.serve) return failure('stale-epoch', fenced.message);
        }
        return storeReplicaWrite(deps, body.key, body.record, body.repair !== true);
      case 'digests':
        if (deps.servesRepair?.() === false) return leftRing();
        return deps.antiEntropy.digestsFor(body);
      case 'rangeEntries':
        if (deps.servesRepair?.() === false) return leftRing();
        return deps.antiEntropy.rangeEntriesFor(body);
      case 'pullRecords': {
        if (deps.servesRepair?.() === false) return leftRing();
        const entries: Array<[string, StoredRecord | null]> = [];
        for (const key of body.keys.slice(0, recordsPerMessageMax)) entries.push([key, (await deps.engine.get(key)) ?? null]);
        return { type: 'records', entries };
      }
      case 'pushRecords': {
        let applied = 0;
        const watermark = deps.watermark?.() ?? 0;
        // Composed before the watermark was set (held up somewhere): it may carry what a purge removed.
        // A restore is old on purpose, and an operator's (cluster/restore-writes.ts): it passes.
        const restore = body.restore === true;
        if (body.sentHlc < watermark && !restore) return { type: 'pushAck', applied: 0 };
        try {
          for (const [key, record] of body.entries.slice(0, recordsPerMessageMax)) {
            if (!isValidKey(key) || (restore ? !(deps.replicates?.(key) ?? true) : purgedBy(record, watermark))) continue;
            if (body.hinted && !acceptsHint(deps, key, record, watermark)) continue;
            deps.hlc.observe(record.hlc);
            if ((await deps.engine.apply(key, record)).applied) applied++;
          }
        } catch (error) {
          if (error instanceof ClockSkewError) return failure('clock-skew', error.message);
          return storageFailure(error);
        }
        return { type: 'pushAck', applied };
      }
      case 'paxosPrepare':
      case 'paxosAccept':
      case 'paxosCommit': {
        if (!isValidKey(body.key)) return failure('bad-request', 'key must be 1..1024 UTF-8 bytes');
        if (deps.paxos === undefined) return { type: 'failure', code: 'refused', message: 'this node takes no part in conditional writes' };
        const fenced = deps.fence?.(body, from);
        if (fenced !== undefined && !fenced.serve) return failure('stale-epoch', fenced.message);
        try {
          return await paxosStep(deps.paxos, body);
        } catch (error) {
          if (error instanceof ClockSkewError) return failure('clock-skew', error.message);
          return storageFailure(error);
        }
      }
      case 'changes':
        if (deps.changes === undefined) return { type: 'failure', code: 'refused', message: 'this node keeps no change log' };
        if (utf8Length(body.prefix) > keyBytesMax) return failure('bad-request', `a watch prefix is at most ${keyBytesMax} UTF-8 bytes`);
        return deps.changes.changesFor(body);
      case 'scanRecords':
        // A member that left no longer keeps its copies up to date: an old one must not reach a listing.
        if (deps.servesRepair?.() === false) return leftRing();
        try {
          return await scannedRecordsOf(deps.engine, body);
        } catch (error) {
          return failure('storage-error', (error as Error).message);
        }
      case 'transferScan':
        if (deps.transferBatch === undefined) return { type: 'failure', code: 'refused', message: 'this node does not serve transfers' };
        try {
          return await deps.transferBatch(body);
        } catch (error) {
          return failure('storage-error', (error as Error).message);
        }
    }
  };
  return (body, from) => {
    if (!answeredOnce.has(body.type)) return handle(body, from);
    let answer = putAnswers.get(body);
    if (answer === undefined) {
      answer = handle(body, from);
      putAnswers.set(body, answer);
    }
    return answer;
  };
}

/**
 * A replica's write, from a peer's put or from the node's own coordinator (cluster-node.ts
 * wires its local replica here, without the network and without the dedupe of network
 * deliveries): the clock follows the writer's, a write below the tombstone watermark is
 * refused as superseded (the coordinator re-stamps it above), and the record is stored only
 * if newer, else the newer version's HLC is returned. A write being `coordinated` (not a
 * read repair's copy nor a chosen Paxos value) stamped at or below the replica's closed
 * time is refused the same way (watch/change-log.ts): a watch has passed that time.
 */
export async function storeReplicaWrite(deps: Pick<PeerHandlerDeps, 'engine' | 'hlc' | 'watermark' | 'changes'>, key: string, record: StoredRecord, coordinated: boolean): Promise<PeerReply> {
  try {
    deps.hlc.observe(record.hlc);
  } catch (error) {
    if (error instanceof ClockSkewError) return failure('clock-skew', error.message);
    throw error;
  }
  const watermark = deps.watermark?.() ?? 0;
  if (record.hlc < watermark) return { type: 'putAck', applied: false, newerHlc: watermark };
  const closed = coordinated ? deps.changes?.refusesAt(record.hlc) : undefined;
  if (closed !== undefined) {
    const held = await deps.engine.get(key);
    // Already stored (a retry): acknowledged as before. Otherwise re-stamped above the closed time.
    if (held !== undefined && compareVersions(held, record) === 0) return { type: 'putAck', applied: false };
    return { type: 'putAck', applied: false, newerHlc: Math.max(closed, held?.hlc ?? 0) };
  }
  try {
    const outcome = await deps.engine.apply(key, record);
    if (outcome.applied || compareVersions(outcome.current, record) === 0) return { type: 'putAck', applied: outcome.applied };
    return { type: 'putAck', applied: false, newerHlc: outcome.current.hlc };
  } catch (error) {
    return storageFailure(error);
  }
}

/** One Paxos step of the replica's acceptor, as the reply a peer gets. */
async function paxosStep(acceptor: PaxosAcceptor, body: PaxosPrepareRequest | PaxosAcceptRequest | PaxosCommitRequest): Promise<PeerReply> {
  switch (body.type) {
    case 'paxosPrepare': {
      const answer = await acceptor.prepare(body.key, body.ballot, body.idempotencyKey);
      return answer.promised
        ? {
            type: 'paxosPromise',
            promised: true,
            highest: null,
            accepted: answer.accepted,
            committed: answer.committed,
            current: answer.current,
            remembered: answer.remembered,
            committedTags: answer.committedTags,
          }
        : { type: 'paxosPromise', promised: false, highest: answer.highest, accepted: null, committed: null, current: null, remembered: null, committedTags: [] };
    }
    case 'paxosAccept': {
      const answer = await acceptor.accept(body.key, body.ballot, body.record, body.tags);
      return { type: 'paxosAccepted', accepted: answer.accepted, highest: answer.accepted ? null : answer.highest };
    }
    case 'paxosCommit':
      await acceptor.commit(body.key, body.ballot, body.record, body.tags);
      return { type: 'paxosCommitted' };
  }
}

/**
 * A chosen record applied to this replica as any write is (storeReplicaWrite): one that a
 * newer version already supersedes changes nothing; a refusal of the disk rejects.
 */
export async function applyChosen(deps: Pick<PeerHandlerDeps, 'engine' | 'hlc' | 'watermark' | 'changes'>, key: string, record: StoredRecord): Promise<void> {
  const reply = await storeReplicaWrite(deps, key, record, false);
  if (reply.type === 'failure') throw reply.code === 'storage-full' ? new StorageFullError(reply.message) : new Error(reply.message);
}

/** The coordinator's own replica over `deps`: its writes are stored by storeReplicaWrite, as a peer's put is. */
export function localReplicaOf(deps: Pick<PeerHandlerDeps, 'engine' | 'hlc' | 'watermark' | 'changes'>): LocalReplica {
  return {
    put: async (key, record, repair = false) => {
      const ack = expectReply<PutReply>(await storeReplicaWrite(deps, key, record, !repair), 'putAck');
      return { applied: ack.applied, newerHlc: ack.newerHlc };
    },
    get: (key) => deps.engine.get(key),
  };
}

/**
 * A hint is as old as its write, however late it comes: one below the purge cutoff is
 * dropped (it could revive a purged delete), and so is one for a key this node no longer
 * replicates (the ring changed while it waited; it would be a stray copy).
 */
function acceptsHint(deps: PeerHandlerDeps, key: string, record: StoredRecord, watermark: number): boolean {
  return !settledBy(record, watermark) && (deps.replicates?.(key) ?? true);
}

function leftRing(): PeerReply {
  return { type: 'failure', code: 'refused', message: 'this node has left the ring: its copies are not kept up to date, so it serves no repair' };
}

function failure(code: 'bad-request' | 'clock-skew' | 'storage-error' | 'storage-full' | 'stale-epoch', message: string): PeerReply {
  return { type: 'failure', code, message };
}

/** A full disk is its own answer: the coordinator reports it as such (507) and hints the write. */
function storageFailure(error: unknown): PeerReply {
  return failure(isStorageFull(error) ? 'storage-full' : 'storage-error', (error as Error).message);
}
