// Cluster-wide listing (GET /cluster/keys, /admin/records): every member that has not left
// answers a page of its own records after a cursor, and the pages are merged by key into
// the newest copy of each. Stateless between pages: the cursor is a key, so a scan resumes
// through any node, and ranges that move between two pages (join, leave) are still read
// from whoever holds them then.
//
// Why the merged page is cut where it is: a member that said `more` has keys after its
// last one that this round did not see, and another member may hold a copy of exactly
// those keys. Keys up to the smallest such "last key" were seen by every member that
// answered; anything beyond it could be missing a member's copy, so the page ends there
// and the next round starts after it.
import { invariant } from '../assert.js';
import { compareUtf8, isValidKey, utf8Length } from '../keys.js';
import { keyBytesMax, scanRecordsLimitMax, scanRecordsReplyBytesMax } from '../limits.js';
import type { MemberAddress, PeerReply, ScannedRecordsReply, ScanRecordsRequest } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { Engine } from '../storage/engine.js';
import { JsonText } from '../storage/json-text.js';
import { supersedes, type StoredRecord } from '../storage/record.js';

/** One member's answer to a scanRecords request. */
export interface MemberScanPage {
  nodeId: string;
  entries: ReadonlyArray<readonly [string, StoredRecord]>;
  more: boolean;
}

/** A merged page: the newest copy of each key in key order. */
export interface MergedScanPage {
  entries: Array<[string, StoredRecord]>;
  /** The last key this page covers (scan on strictly after it); null when every member's keys are exhausted. */
  next: string | null;
}

/**
 * Merges members' pages (each in key order, strictly after the same cursor) into at most
 * `limit` entries, keeping per key the version that compares newest, and cuts the page at
 * the smallest last key among members that have more (see the top of this file).
 */
export function mergeScanPages(pages: readonly MemberScanPage[], limit: number): MergedScanPage {
  invariant(Number.isSafeInteger(limit) && limit >= 1, `a scan page holds at least one entry, not ${limit}`);
  let cut: string | undefined;
  for (const page of pages) {
    if (!page.more) continue;
    const last = page.entries[page.entries.length - 1];
    invariant(last !== undefined, `member ${page.nodeId} said it has more keys but sent none`);
    if (cut === undefined || compareUtf8(last[0], cut) < 0) cut = last[0];
  }
  const newest = new Map<string, StoredRecord>();
  for (const page of pages) {
    for (const [key, record] of page.entries) {
      if (cut !== undefined && compareUtf8(key, cut) > 0) break;
      if (supersedes(record, newest.get(key))) newest.set(key, record);
    }
  }
  const entries = [...newest.entries()].sort(([a], [b]) => compareUtf8(a, b));
  if (entries.length > limit) {
    entries.length = limit;
    return { entries, next: (entries[limit - 1] as [string, StoredRecord])[0] };
  }
  return { entries, next: cut ?? null };
}

/**
 * The replica side: this member's records under `prefix` after `after`, as stored
 * (tombstones and expired values included), at most `limit` and about
 * scanRecordsReplyBytesMax of values; `more` says whether keys remain after the last.
 */
export async function scannedRecordsOf(engine: Pick<Engine, 'scan'>, request: ScanRecordsRequest): Promise<PeerReply> {
  if (utf8Length(request.prefix) > keyBytesMax || (request.after !== null && !isValidKey(request.after))) {
    return { type: 'failure', code: 'bad-request', message: `prefix and cursor must be keys of at most ${keyBytesMax} UTF-8 bytes` };
  }
  const limit = Math.max(1, Math.min(request.limit, scanRecordsLimitMax));
  // One more than asked for tells whether keys remain without a second scan.
  const scanned = await engine.scan({ prefix: request.prefix, ...(request.after === null ? {} : { after: request.after }), limit: limit + 1 });
  const entries: Array<[string, StoredRecord]> = [];
  let valueBytes = 0;
  for (const { key, record } of scanned) {
    if (entries.length === limit || (entries.length > 0 && valueBytes >= scanRecordsReplyBytesMax)) break;
    entries.push([key, record]);
    valueBytes += valueBytesOf(record);
  }
  return { type: 'scannedRecords', entries, more: scanned.length > entries.length };
}

/** The JSON size of a record's value, what it costs a frame (a tombstone costs nothing). */
export function valueBytesOf(record: StoredRecord): number {
  if (record.tombstone) return 0;
  if (record.value instanceof JsonText) return record.value.text.length;
  // A string's length and its quotes, escapes aside: no copy of a large value just to count it.
  if (typeof record.value === 'string') return record.value.length + 2;
  return JSON.stringify(record.value)?.length ?? 0;
}

/** A record's payload as the jobs count it (bytesMoved): its key's UTF-8 bytes and its value's JSON size. */
export function payloadBytesOf(key: string, record: StoredRecord): number {
  return utf8Length(key) + valueBytesOf(record);
}

/** Too many members did not answer: a key whose every replica is among them could be missing. */
export class ScanUnavailableError extends Error {
  readonly unanswered: readonly string[];
  readonly tolerated: number;

  constructor(unanswered: readonly string[], tolerated: number, reasons: readonly string[]) {
    super(
      `members ${unanswered.join(', ')} did not answer the scan (${reasons.join('; ')}); ` +
        `at most ${tolerated} may be missing, so that every key written at quorum still has a replica that answers; retry once they are back`,
    );
    this.name = 'ScanUnavailableError';
    this.unanswered = unanswered;
    this.tolerated = tolerated;
  }
}

export interface KeyScanDeps {
  selfId: string;
  /** Every member that has not left (self included), with its address. */
  members(): readonly MemberAddress[];
  /** False for a member known to be down: it counts as unanswered without waiting out a timeout. */
  isAvailable(nodeId: string): boolean;
  /** N, the replicas per key: up to N minus a majority of N members may fail to answer. */
  replicas: number;
  /** This node's own answer, without the network. */
  local(request: ScanRecordsRequest): Promise<PeerReply>;
  transport: Transport;
  timeoutMs: number;
}

export interface ScanPageRequest {
  prefix: string;
  /** Scan keys strictly after this one; null starts at the beginning of the prefix. */
  after: string | null;
  limit: number;
}

export interface ClusterScanPage extends MergedScanPage {
  /** Members that did not answer this page (their keys came from other replicas). */
  unanswered: string[];
}

/**
 * One page of the whole cluster's records: asks every member that has not left for its
 * page after the cursor, and merges the answers (mergeScanPages). Rejects with
 * ScanUnavailableError when more than N minus a majority of N members failed.
 */
export async function scanClusterPage(deps: KeyScanDeps, page: ScanPageRequest): Promise<ClusterScanPage> {
  const limit = Math.max(1, Math.min(page.limit, scanRecordsLimitMax));
  const request: ScanRecordsRequest = { type: 'scanRecords', prefix: page.prefix, after: page.after, limit };
  const members = deps.members();
  const answers = await Promise.all(members.map((member) => askMember(deps, member, request)));
  const pages: MemberScanPage[] = [];
  const unanswered: string[] = [];
  const reasons: string[] = [];
  answers.forEach((answer, index) => {
    const nodeId = (members[index] as MemberAddress).nodeId;
    if (typeof answer === 'string') {
      unanswered.push(nodeId);
      reasons.push(`${nodeId}: ${answer}`);
    } else {
      pages.push({ nodeId, entries: answer.entries, more: answer.more });
    }
  });
  // A key written at quorum is on a majority of its n replicas: it still has one that answers
  // while at most n - majority members are missing (1 of 3). More could hide it.
  const n = Math.min(deps.replicas, members.length);
  const tolerated = Math.max(0, n - (Math.floor(n / 2) + 1));
  if (unanswered.length > tolerated || pages.length === 0) throw new ScanUnavailableError(unanswered, tolerated, reasons);
  return { ...mergeScanPages(pages, limit), unanswered };
}

/** A member's page, or why it has none: a failure, a timeout, or an answer that breaks the request. */
async function askMember(deps: KeyScanDeps, member: MemberAddress, request: ScanRecordsRequest): Promise<ScannedRecordsReply | string> {
  if (member.nodeId !== deps.selfId && !deps.isAvailable(member.nodeId)) return 'known to be down';
  let reply: PeerReply;
  try {
    reply = member.nodeId === deps.selfId ? await deps.local(request) : await deps.transport.request(member.address, request, deps.timeoutMs);
  } catch (error) {
    return (error as Error).message;
  }
  if (reply.type === 'failure') return `${reply.code}: ${reply.message}`;
  if (reply.type !== 'scannedRecords') return `answered ${reply.type}`;
  return wellFormed(reply, request) ? reply : 'answered records out of order, outside the prefix, or "more" with none';
}

/** Entries strictly ascending, after the cursor, under the prefix, at most the limit; `more` only with entries. */
function wellFormed(reply: ScannedRecordsReply, request: ScanRecordsRequest): boolean {
  if (reply.entries.length > request.limit || (reply.more && reply.entries.length === 0)) return false;
  let previous = request.after;
  for (const [key] of reply.entries) {
    if (!key.startsWith(request.prefix) || (previous !== null && compareUtf8(key, previous) <= 0)) return false;
    previous = key;
  }
  return true;
}
