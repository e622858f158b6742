// A stored record and its version order (docs/design.md, "The request path"): a version is a
// hybrid logical clock timestamp plus the writer's node id, and the larger version wins on
// every replica, so replicas that saw the same writes in any order agree.

import { hlcPlusMs } from '../clock/hlc.js';

export interface StoredRecord {
  /** Any JSON value; undefined for a tombstone. */
  value: unknown;
  /** Hybrid logical clock timestamp of the write (see clock/hlc.ts). */
  hlc: number;
  /** The node that coordinated the write: breaks ties between equal timestamps. */
  nodeId: string;
  /** A delete is a tombstone, kept so that older copies cannot come back. */
  tombstone: boolean;
  /**
   * For a value written with a ttl: the HLC timestamp from which it counts as deleted (a
   * tombstone at the same version), judged by the HLC of whoever reads it, so replicas agree
   * without writing anything at expiry (docs/design.md, "Expiring keys").
   */
  expiresAt?: number | undefined;
}

/** Negative when `a` is older than `b`, zero when they are the same version. */
export function compareVersions(a: Pick<StoredRecord, 'hlc' | 'nodeId'>, b: Pick<StoredRecord, 'hlc' | 'nodeId'>): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

/** True when `candidate` should replace `current` (it is strictly newer, or nothing is stored). */
export function supersedes(candidate: Pick<StoredRecord, 'hlc' | 'nodeId'>, current: Pick<StoredRecord, 'hlc' | 'nodeId'> | undefined): boolean {
  return current === undefined || compareVersions(candidate, current) > 0;
}

/** The newest of several records (undefined entries are replicas holding nothing). */
export function newestOf(records: ReadonlyArray<StoredRecord | undefined>): StoredRecord | undefined {
  let newest: StoredRecord | undefined;
  for (const record of records) {
    if (record !== undefined && supersedes(record, newest)) newest = record;
  }
  return newest;
}

/** The version as users see it (JSON field and ETag): `<hlc>-<nodeId>`. */
export function formatVersion(record: Pick<StoredRecord, 'hlc' | 'nodeId'>): string {
  return `${record.hlc}-${record.nodeId}`;
}

export function parseVersion(text: string): Pick<StoredRecord, 'hlc' | 'nodeId'> | undefined {
  const dash = text.indexOf('-');
  if (dash <= 0) return undefined;
  const hlc = Number(text.slice(0, dash));
  const nodeId = text.slice(dash + 1);
  if (!Number.isSafeInteger(hlc) || hlc < 0 || nodeId.length === 0) return undefined;
  return { hlc, nodeId };
}

/** True when `record` is a value whose ttl has passed at HLC time `atHlc`. */
export function isExpired(record: Pick<StoredRecord, 'expiresAt' | 'tombstone'>, atHlc: number): boolean {
  return !record.tombstone && record.expiresAt !== undefined && record.expiresAt <= atHlc;
}

/** A value a read at HLC time `atHlc` returns: neither a tombstone nor expired. */
export function isLiveAt(record: StoredRecord | undefined, atHlc: number): record is StoredRecord {
  return record !== undefined && !record.tombstone && !isExpired(record, atHlc);
}

/** When a record stopped being a value: a tombstone at its version, an expiring value at its expiry; undefined while it may still be read. */
export function goneAt(record: Pick<StoredRecord, 'expiresAt' | 'tombstone' | 'hlc'>): number | undefined {
  return record.tombstone ? record.hlc : record.expiresAt;
}

/** The expiry of a value written at `hlc` with a ttl of `ttlSeconds`, or undefined for a permanent one. */
export function expiryOf(hlc: number, ttlSeconds: number | undefined): number | undefined {
  return ttlSeconds === undefined ? undefined : hlcPlusMs(hlc, ttlSeconds * 1000);
}

/**
 * The record as a read at HLC time `atHlc` sees it: an expired value is a tombstone at the
 * same version (its `expiresAt` kept, which tells an expiry from a delete). Only reads and
 * conditions see this view; replicas, repair and hints keep and move the record itself.
 */
export function visibleAt(record: StoredRecord | undefined, atHlc: number): StoredRecord | undefined {
  if (record === undefined || !isExpired(record, atHlc)) return record;
  return { hlc: record.hlc, nodeId: record.nodeId, tombstone: true, value: undefined, expiresAt: record.expiresAt };
}

/** A tombstone seen by `visibleAt` that was an expired value rather than a delete. */
export function isExpiredView(record: StoredRecord | undefined): boolean {
  return record !== undefined && record.tombstone && record.expiresAt !== undefined;
}

/** What a write stores: a value (with a ttl in seconds, or none) or a tombstone. */
export interface WriteChange {
  value: unknown;
  tombstone: boolean;
  ttlSeconds?: number | undefined;
}

/** The record of `change` at version (`hlc`, `nodeId`); a ttl counts from the version's time. */
export function recordOf(change: WriteChange, hlc: number, nodeId: string): StoredRecord {
  const record: StoredRecord = { value: change.value, tombstone: change.tombstone, hlc, nodeId };
  const expiresAt = change.tombstone ? undefined : expiryOf(hlc, change.ttlSeconds);
  if (expiresAt !== undefined) record.expiresAt = expiresAt;
  return record;
}
