// Peer frames: a 4-byte big-endian length, then a MessagePack array (msgpackr). Messages
// are packed as positional arrays `[kind, id, typeCode, ...fields]`, which is smaller and
// faster than maps with field names. Decoding checks every field, so a malformed or
// hostile frame becomes a CodecError, never a crash or a half-read message.
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { frameBytesMax, incarnationMax, peerProofsMax } from '../limits.js';
import { JsonText } from '../storage/json-text.js';
import type { StoredRecord } from '../storage/record.js';
import type { RingCursor } from '../storage/ring-order.js';
import type { Ballot, Frame, MemberAddress, MemberUpdate, PeerReply, PeerRequest, RememberedWrite } from './messages.js';

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

const requestCodes = { hello: 1, put: 2, get: 3, ping: 4, digests: 5, rangeEntries: 6, pullRecords: 7, pushRecords: 8, pingReq: 9, transferScan: 10, state: 11, versions: 12, paxosPrepare: 13, paxosAccept: 14, paxosCommit: 15, scanRecords: 16, changes: 17 } as const;
const replyCodes = { welcome: 1, putAck: 2, getReply: 3, pong: 4, failure: 5, digestsReply: 6, rangeEntriesReply: 7, records: 8, pushAck: 9, pingReqReply: 10, transferBatch: 11, stateReply: 12, versionsReply: 13, paxosPromise: 14, paxosAccepted: 15, paxosCommitted: 16, scannedRecords: 17, changesReply: 18 } as const;
const kindRequest = 0;
const kindReply = 1;

/** Bytes before a frame's MessagePack: its length, big-endian. */
const prefixBytes = 4;

/**
 * Encodes a frame with its length prefix, ready for the socket. The prefix is room msgpackr
 * leaves ahead of what it packs (RESERVE_START_SPACE), so a frame is not copied once more to
 * put it in front: for a replica write of a 1 MiB value that copy cost about 1 ms.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const fields = frame.kind === 'request' ? requestFields(frame.body) : replyFields(frame.body);
  const out = packr.pack([frame.kind === 'request' ? kindRequest : kindReply, frame.id, ...fields], RESERVE_START_SPACE | prefixBytes);
  const payloadBytes = out.length - prefixBytes;
  if (payloadBytes > frameBytesMax) throw new CodecError(`frame of ${payloadBytes} bytes exceeds ${frameBytesMax}`);
  out.writeUInt32BE(payloadBytes, 0);
  return out;
}

/** Decodes one frame payload (without its length prefix). */
export function decodeFrame(payload: Uint8Array): Frame {
  let decoded: unknown;
  try {
    decoded = packr.unpack(payload);
  } catch (error) {
    throw new CodecError(`frame is not valid MessagePack: ${(error as Error).message}`);
  }
  if (!Array.isArray(decoded) || decoded.length < 3) throw new CodecError('frame is not a message array');
  const [kind, id, code, ...fields] = decoded as unknown[];
  if (!Number.isSafeInteger(id) || (id as number) < 0) throw new CodecError('frame has no valid request id');
  if (kind === kindRequest) return { kind: 'request', id: id as number, body: decodeRequest(code, fields) };
  if (kind === kindReply) return { kind: 'reply', id: id as number, body: decodeReply(code, fields) };
  throw new CodecError(`unknown frame kind ${String(kind)}`);
}

function requestFields(body: PeerRequest): unknown[] {
  switch (body.type) {
    case 'hello':
      return [requestCodes.hello, body.clusterName, body.protocolVersion, body.nodeId, body.address, body.proofs];
    case 'put':
      return [requestCodes.put, body.key, body.epoch ?? 0, body.digest ?? 0, body.repair === true ? 1 : 0, ...recordFields(body.record)];
    case 'get':
      return [requestCodes.get, body.key, body.epoch ?? 0, body.digest ?? 0];
    case 'state':
      return [requestCodes.state, body.updates.map(updateFields)];
    case 'versions':
      return [requestCodes.versions, body.keys];
    case 'ping':
      return [requestCodes.ping, memberFields(body.from), body.updates.map(updateFields)];
    case 'pingReq':
      return [requestCodes.pingReq, memberFields(body.target), body.updates.map(updateFields)];
    case 'digests':
      return [requestCodes.digests, body.ring, body.ranges, body.watermark];
    case 'rangeEntries':
      return [requestCodes.rangeEntries, body.ring, body.range];
    case 'pullRecords':
      return [requestCodes.pullRecords, body.keys];
    case 'pushRecords':
      return [requestCodes.pushRecords, body.entries.map(recordEntryFields), body.sentHlc, body.hinted ? 1 : 0, body.restore === true ? 1 : 0];
    case 'transferScan':
      return [requestCodes.transferScan, body.readRing, body.targetRing, body.forNode, body.unavailable, cursorFields(body.after), body.limit];
    case 'paxosPrepare':
      return [requestCodes.paxosPrepare, body.key, body.epoch ?? 0, body.digest ?? 0, ballotFields(body.ballot), body.idempotencyKey ?? null];
    case 'paxosAccept':
      return [requestCodes.paxosAccept, body.key, body.epoch ?? 0, body.digest ?? 0, ballotFields(body.ballot), recordFields(body.record), tagsFields(body.tags)];
    case 'paxosCommit':
      return [requestCodes.paxosCommit, body.key, body.epoch ?? 0, body.digest ?? 0, ballotFields(body.ballot), recordFields(body.record), tagsFields(body.tags)];
    case 'scanRecords':
      return [requestCodes.scanRecords, body.prefix, body.after, body.limit];
    case 'changes':
      return [requestCodes.changes, body.prefix, body.after, body.limit];
  }
}

function replyFields(body: PeerReply): unknown[] {
  switch (body.type) {
    case 'welcome':
      return [replyCodes.welcome, body.nodeId, body.address, body.proofs];
    case 'putAck':
      return body.newerHlc === undefined ? [replyCodes.putAck, body.applied] : [replyCodes.putAck, body.applied, body.newerHlc];
    case 'getReply':
      return body.record === null ? [replyCodes.getReply] : [replyCodes.getReply, ...recordFields(body.record)];
    case 'pong':
      return [replyCodes.pong, body.updates.map(updateFields)];
    case 'pingReqReply':
      return [replyCodes.pingReqReply, body.reached, body.updates.map(updateFields)];
    case 'failure':
      return [replyCodes.failure, body.code, body.message];
    case 'digestsReply':
      return [replyCodes.digestsReply, body.ring, body.summaries, body.watermark];
    case 'rangeEntriesReply':
      return [replyCodes.rangeEntriesReply, body.ring, body.entries];
    case 'records':
      return [replyCodes.records, body.entries.map(([key, record]) => (record === null ? [key] : [key, recordFields(record)]))];
    case 'pushAck':
      return [replyCodes.pushAck, body.applied];
    case 'transferBatch':
      return [replyCodes.transferBatch, body.ringsMatch, body.entries.map(recordEntryFields), cursorFields(body.next), body.scanned, body.total];
    case 'stateReply':
      return [replyCodes.stateReply, body.updates.map(updateFields)];
    case 'versionsReply':
      return body.incomplete === true ? [replyCodes.versionsReply, body.versions, true] : [replyCodes.versionsReply, body.versions];
    case 'paxosPromise':
      return [
        replyCodes.paxosPromise,
        body.promised,
        body.highest === null ? null : ballotFields(body.highest),
        body.accepted === null ? null : [ballotFields(body.accepted.ballot), recordFields(body.accepted.record), tagsFields(body.accepted.tags)],
        body.committed === null ? null : ballotFields(body.committed),
        body.current === null ? null : recordFields(body.current),
        body.remembered === null ? null : rememberedFields(body.remembered),
        tagsFields(body.committedTags),
      ];
    case 'paxosAccepted':
      return [replyCodes.paxosAccepted, body.accepted, body.highest === null ? null : ballotFields(body.highest)];
    case 'paxosCommitted':
      return [replyCodes.paxosCommitted];
    case 'scannedRecords':
      return [replyCodes.scannedRecords, body.entries.map(recordEntryFields), body.more];
    case 'changesReply':
      return [
        replyCodes.changesReply,
        body.gone,
        body.entries.map((entry) => [entry.pos, entry.key, recordFields(entry.record), entry.expired]),
        body.last,
        body.more,
        body.floor,
        body.prunedThrough,
      ];
  }
}

function decodeRequest(code: unknown, f: unknown[]): PeerRequest {
  switch (code) {
    case requestCodes.hello:
      return {
        type: 'hello',
        clusterName: str(f[0], 'clusterName'),
        protocolVersion: int(f[1], 'protocolVersion'),
        nodeId: str(f[2], 'nodeId'),
        address: str(f[3], 'address'),
        proofs: proofs(f[4]),
      };
    case requestCodes.put:
      return { type: 'put', key: str(f[0], 'key'), ...routed(f[1], f[2]), ...(f[3] === 1 ? { repair: true } : {}), record: decodeRecord(f.slice(4)) };
    case requestCodes.get:
      return { type: 'get', key: str(f[0], 'key'), ...routed(f[1], f[2]) };
    case requestCodes.state:
      return { type: 'state', updates: decodeUpdates(f[0]) };
    case requestCodes.versions:
      return { type: 'versions', keys: array(f[0], 'keys').map((item) => str(item, 'key')) };
    case requestCodes.ping:
      return { type: 'ping', from: decodeMember(f[0]), updates: decodeUpdates(f[1]) };
    case requestCodes.pingReq:
      return { type: 'pingReq', target: decodeMember(f[0]), updates: decodeUpdates(f[1]) };
    case requestCodes.digests:
      return { type: 'digests', ring: int(f[0], 'ring'), ranges: array(f[1], 'ranges').map((item) => int(item, 'range')), watermark: int(f[2], 'watermark') };
    case requestCodes.rangeEntries:
      return { type: 'rangeEntries', ring: int(f[0], 'ring'), range: int(f[1], 'range') };
    case requestCodes.pullRecords:
      return { type: 'pullRecords', keys: array(f[0], 'keys').map((item) => str(item, 'key')) };
    case requestCodes.pushRecords: {
      // A sender from before restores existed sends no fifth field.
      const restore = f[3] !== undefined && int(f[3], 'restore') === 1;
      return { type: 'pushRecords', entries: array(f[0], 'entries').map(decodeRecordEntry), sentHlc: int(f[1], 'sentHlc'), hinted: int(f[2], 'hinted') === 1, ...(restore ? { restore } : {}) };
    }
    case requestCodes.transferScan:
      return {
        type: 'transferScan',
        readRing: int(f[0], 'readRing'),
        targetRing: int(f[1], 'targetRing'),
        forNode: str(f[2], 'forNode'),
        unavailable: array(f[3], 'unavailable').map((item) => str(item, 'unavailable')),
        after: decodeCursor(f[4], 'after'),
        limit: int(f[5], 'limit'),
      };
    case requestCodes.paxosPrepare:
      return { type: 'paxosPrepare', key: str(f[0], 'key'), ...routed(f[1], f[2]), ballot: decodeBallot(f[3]), ...(f[4] === null || f[4] === undefined ? {} : { idempotencyKey: str(f[4], 'idempotencyKey') }) };
    case requestCodes.paxosAccept:
      return { type: 'paxosAccept', key: str(f[0], 'key'), ...routed(f[1], f[2]), ballot: decodeBallot(f[3]), record: decodeRecord(array(f[4], 'record')), ...decodeTags(f[5]) };
    case requestCodes.paxosCommit:
      return { type: 'paxosCommit', key: str(f[0], 'key'), ...routed(f[1], f[2]), ballot: decodeBallot(f[3]), record: decodeRecord(array(f[4], 'record')), ...decodeTags(f[5]) };
    case requestCodes.scanRecords:
      return { type: 'scanRecords', prefix: str(f[0], 'prefix'), after: f[1] === null ? null : str(f[1], 'after'), limit: int(f[2], 'limit') };
    case requestCodes.changes:
      return { type: 'changes', prefix: str(f[0], 'prefix'), after: f[1] === null ? null : int(f[1], 'after'), limit: int(f[2], 'limit') };
    default:
      throw new CodecError(`unknown request type ${String(code)}`);
  }
}

function decodeReply(code: unknown, f: unknown[]): PeerReply {
  switch (code) {
    case replyCodes.welcome:
      return { type: 'welcome', nodeId: str(f[0], 'nodeId'), address: str(f[1], 'address'), proofs: proofs(f[2]) };
    case replyCodes.putAck:
      return f.length > 1
        ? { type: 'putAck', applied: bool(f[0], 'applied'), newerHlc: int(f[1], 'newerHlc') }
        : { type: 'putAck', applied: bool(f[0], 'applied') };
    case replyCodes.getReply:
      return { type: 'getReply', record: f.length === 0 ? null : decodeRecord(f) };
    case replyCodes.pong:
      return { type: 'pong', updates: decodeUpdates(f[0]) };
    case replyCodes.pingReqReply:
      return { type: 'pingReqReply', reached: bool(f[0], 'reached'), updates: decodeUpdates(f[1]) };
    case replyCodes.failure:
      return { type: 'failure', code: str(f[0], 'code') as never, message: str(f[1], 'message') };
    case replyCodes.digestsReply:
      return {
        type: 'digestsReply',
        ring: int(f[0], 'ring'),
        summaries: array(f[1], 'summaries').map((item) => {
          const pair = array(item, 'summary');
          return [int(pair[0], 'digest'), int(pair[1], 'keys')] as [number, number];
        }),
        watermark: int(f[2], 'watermark'),
      };
    case replyCodes.rangeEntriesReply:
      return {
        type: 'rangeEntriesReply',
        ring: int(f[0], 'ring'),
        entries: array(f[1], 'entries').map((item) => {
          const pair = array(item, 'entry');
          return [str(pair[0], 'key'), int(pair[1], 'hash')] as [string, number];
        }),
      };
    case replyCodes.records:
      return {
        type: 'records',
        entries: array(f[0], 'entries').map((item) => {
          const pair = array(item, 'entry');
          return [str(pair[0], 'key'), pair.length < 2 ? null : decodeRecord(array(pair[1], 'record'))] as [string, StoredRecord | null];
        }),
      };
    case replyCodes.pushAck:
      return { type: 'pushAck', applied: int(f[0], 'applied') };
    case replyCodes.transferBatch:
      return {
        type: 'transferBatch',
        ringsMatch: bool(f[0], 'ringsMatch'),
        entries: array(f[1], 'entries').map(decodeRecordEntry),
        next: decodeCursor(f[2], 'next'),
        scanned: int(f[3], 'scanned'),
        total: int(f[4], 'total'),
      };
    case replyCodes.stateReply:
      return { type: 'stateReply', updates: decodeUpdates(f[0]) };
    case replyCodes.versionsReply:
      return {
        type: 'versionsReply',
        versions: array(f[0], 'versions').map((item) => {
          if (item === null) return null;
          const pair = array(item, 'version');
          return [int(pair[0], 'version.hlc'), str(pair[1], 'version.nodeId')] as [number, string];
        }),
        ...(f[1] === true ? { incomplete: true as const } : {}),
      };
    case replyCodes.paxosPromise: {
      const accepted = f[2] === null ? null : array(f[2], 'accepted');
      return {
        type: 'paxosPromise',
        promised: bool(f[0], 'promised'),
        highest: f[1] === null ? null : decodeBallot(f[1]),
        accepted: accepted === null ? null : { ballot: decodeBallot(accepted[0]), record: decodeRecord(array(accepted[1], 'accepted.record')), ...decodeTags(accepted[2]) },
        committed: f[3] === null ? null : decodeBallot(f[3]),
        current: f[4] === null ? null : decodeRecord(array(f[4], 'current')),
        remembered: f[5] === null || f[5] === undefined ? null : decodeRemembered(f[5]),
        committedTags: decodeTags(f[6]).tags ?? [],
      };
    }
    case replyCodes.paxosAccepted:
      return { type: 'paxosAccepted', accepted: bool(f[0], 'accepted'), highest: f[1] === null ? null : decodeBallot(f[1]) };
    case replyCodes.paxosCommitted:
      return { type: 'paxosCommitted' };
    case replyCodes.scannedRecords:
      return { type: 'scannedRecords', entries: array(f[0], 'entries').map(decodeRecordEntry), more: bool(f[1], 'more') };
    case replyCodes.changesReply:
      return {
        type: 'changesReply',
        gone: bool(f[0], 'gone'),
        entries: array(f[1], 'entries').map(decodeChangeEntry),
        last: int(f[2], 'last'),
        more: bool(f[3], 'more'),
        floor: int(f[4], 'floor'),
        prunedThrough: int(f[5], 'prunedThrough'),
      };
    default:
      throw new CodecError(`unknown reply type ${String(code)}`);
  }
}

/**
 * What a record's third field says about the rest: a value, a tombstone, or a value carried
 * as JSON text (storage/json-text.ts). A field of the record rather than a msgpackr
 * extension: extensions are registered for the whole process, and a flag is checked here.
 */
const recordValue = 0;
const recordTombstone = 1;
const recordJsonText = 2;

/** A value with a ttl carries its expiry as a fifth field; a permanent value has four. */
function recordFields(record: StoredRecord): unknown[] {
  if (record.tombstone) return [record.hlc, record.nodeId, recordTombstone];
  const fields = record.value instanceof JsonText ? [record.hlc, record.nodeId, recordJsonText, record.value.text] : [record.hlc, record.nodeId, recordValue, record.value];
  if (record.expiresAt !== undefined) fields.push(record.expiresAt);
  return fields;
}

function decodeRecord(f: unknown[]): StoredRecord {
  const hlc = int(f[0], 'record.hlc');
  const nodeId = str(f[1], 'record.nodeId');
  const flag = f[2];
  if (flag === recordTombstone) return { hlc, nodeId, tombstone: true, value: undefined };
  if (flag !== recordValue && flag !== recordJsonText) throw new CodecError(`record.flag must be ${recordValue}, ${recordTombstone} or ${recordJsonText}`);
  if (f.length < 4) throw new CodecError('record without a value');
  const value = flag === recordValue ? f[3] : jsonText(f[3]);
  if (f.length < 5) return { hlc, nodeId, tombstone: false, value };
  const expiresAt = int(f[4], 'record.expiresAt');
  if (expiresAt <= hlc) throw new CodecError('record.expiresAt must be after its version');
  return { hlc, nodeId, tombstone: false, value, expiresAt };
}

/** Checked once here, so a GET that writes the value out cannot fail on it later. */
function jsonText(value: unknown): JsonText {
  const text = str(value, 'record.value');
  try {
    JSON.parse(text);
  } catch {
    throw new CodecError('record.value is not valid JSON text');
  }
  return new JsonText(text);
}

function rememberedFields(write: RememberedWrite): unknown[] {
  return [write.key, write.fingerprint, write.hlc, write.nodeId];
}

function tagsFields(tags: readonly RememberedWrite[] | undefined): unknown[] | null {
  return tags === undefined || tags.length === 0 ? null : tags.map(rememberedFields);
}

/** An optional list of idempotent writes, spread into the message: absent or empty stays absent. */
function decodeTags(value: unknown): { tags?: RememberedWrite[] } {
  if (value === null || value === undefined) return {};
  const tags = array(value, 'tags').map(decodeRemembered);
  return tags.length === 0 ? {} : { tags };
}

function decodeRemembered(value: unknown): RememberedWrite {
  const f = array(value, 'remembered');
  return { key: str(f[0], 'remembered.key'), fingerprint: str(f[1], 'remembered.fingerprint'), hlc: int(f[2], 'remembered.hlc'), nodeId: str(f[3], 'remembered.nodeId') };
}

function ballotFields(ballot: Ballot): unknown[] {
  return [ballot.hlc, ballot.nodeId];
}

function decodeBallot(value: unknown): Ballot {
  const pair = array(value, 'ballot');
  return { hlc: int(pair[0], 'ballot.hlc'), nodeId: str(pair[1], 'ballot.nodeId') };
}

function decodeChangeEntry(item: unknown): { pos: number; key: string; record: StoredRecord; expired: boolean } {
  const f = array(item, 'change');
  const record = decodeRecord(array(f[2], 'change.record'));
  const expired = bool(f[3], 'change.expired');
  if (expired && record.expiresAt === undefined) throw new CodecError('an expiry entry without an expiry');
  return { pos: int(f[0], 'change.pos'), key: str(f[1], 'change.key'), record, expired };
}

function cursorFields(cursor: RingCursor | null): unknown[] | null {
  return cursor === null ? null : [cursor.token, cursor.key];
}

function decodeCursor(value: unknown, name: string): RingCursor | null {
  if (value === null) return null;
  const fields = array(value, name);
  const token = int(fields[0], `${name}.token`);
  if (token < 0 || token > 0xffffffff) throw new CodecError(`${name}.token ${token} is not a 32-bit ring token`);
  return { token, key: str(fields[1], `${name}.key`) };
}

function recordEntryFields([key, record]: [string, StoredRecord]): unknown[] {
  return [key, recordFields(record)];
}

function decodeRecordEntry(item: unknown): [string, StoredRecord] {
  const pair = array(item, 'entry');
  return [str(pair[0], 'key'), decodeRecord(array(pair[1], 'record'))];
}

/** Epoch 0 stands for "not routed by the ring" (every real state has an epoch of at least 1). */
function routed(epoch: unknown, digest: unknown): { epoch?: number; digest?: number } {
  const value = int(epoch, 'epoch');
  return value === 0 ? {} : { epoch: value, digest: int(digest, 'digest') };
}

function array(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new CodecError(`${name} must be an array`);
  return value;
}

function memberFields(member: MemberAddress): unknown[] {
  return [member.nodeId, member.address];
}

function decodeMember(value: unknown): MemberAddress {
  if (!Array.isArray(value)) throw new CodecError('member is not an array');
  return { nodeId: str(value[0], 'member.nodeId'), address: str(value[1], 'member.address') };
}

const stateCodes = ['up', 'suspect', 'down'] as const;
const ringCodes = ['joining', 'normal', 'leaving', 'left', 'standby'] as const;

function updateFields(update: MemberUpdate): unknown[] {
  return [update.nodeId, update.address, stateCodes.indexOf(update.state), update.incarnation, ringCodes.indexOf(update.ring), update.synced, update.horizon, update.serving ? 1 : 0, update.epoch, update.life];
}

function decodeUpdates(value: unknown): MemberUpdate[] {
  return array(value, 'updates').map((item) => {
    const fields = array(item, 'update');
    const state = stateCodes[int(fields[2], 'update.state')];
    if (state === undefined) throw new CodecError('unknown member state');
    const ring = ringCodes[int(fields[4], 'update.ring')];
    if (ring === undefined) throw new CodecError('unknown ring status');
    return {
      nodeId: str(fields[0], 'update.nodeId'),
      address: str(fields[1], 'update.address'),
      state,
      incarnation: incarnation(fields[3]),
      ring,
      synced: int(fields[5], 'update.synced'),
      horizon: int(fields[6], 'update.horizon'),
      serving: int(fields[7], 'update.serving') === 1,
      epoch: int(fields[8], 'update.epoch'),
      life: int(fields[9], 'update.life'),
    };
  });
}

/**
 * Incarnations are refused above incarnationMax: one a node could never refute (its
 * answer would have to be larger still) must not enter anyone's member table.
 */
function incarnation(value: unknown): number {
  const parsed = int(value, 'update.incarnation');
  if (parsed < 0 || parsed > incarnationMax) throw new CodecError(`update.incarnation must be 0..${incarnationMax}`);
  return parsed;
}

function proofs(value: unknown): string[] {
  const items = array(value, 'proofs');
  if (items.length < 1 || items.length > peerProofsMax) throw new CodecError(`proofs must hold 1..${peerProofsMax} entries`);
  return items.map((item) => str(item, 'proof'));
}

function str(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new CodecError(`${name} must be a string`);
  return value;
}

function int(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value)) throw new CodecError(`${name} must be an integer`);
  return value as number;
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new CodecError(`${name} must be a boolean`);
  return value;
}
