// One record of a backup, as the backup file holds it and POST /admin/restore takes it: a
// key's newest record with its version (hlc and nodeId, docs/design.md "The request path"),
// whether it is a tombstone, its value, and its expiry. The expiry travels as RFC 3339, as
// every answer of the API gives it; the HLC it stood for is rebuilt exactly from it (see
// expiryHlcOf).
import { hlcLogicalBits, isValidKey, nodeIdPattern, type StoredRecord } from '@ringkv/core';
import { hlcToIso } from '../api/write-options.js';

export interface BackupRecord {
  key: string;
  hlc: number;
  nodeId: string;
  tombstone: boolean;
  /** Absent for a tombstone; any JSON value (null included) otherwise. */
  value?: unknown;
  /** RFC 3339 UTC, for a value written with a ttl (it may have passed: an expired value counts as deleted). */
  expiresAt?: string;
}

const logicalSpan = 2 ** hlcLogicalBits;
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * The HLC of an expiry given as RFC 3339. A ttl's expiry is the write's HLC plus whole
 * milliseconds (core record.ts, expiryOf), so it keeps the write's logical counter: the
 * milliseconds come from the text and the counter from the version.
 */
export function expiryHlcOf(expiresAt: string, hlc: number): number {
  return Date.parse(expiresAt) * logicalSpan + (hlc % logicalSpan);
}

/** The record as replicas store it. `carry` puts a value into the form the cluster carries (proto-key-bodies.ts). */
export function storedRecordOf(record: BackupRecord, carry: (value: unknown) => unknown = (value) => value): StoredRecord {
  return {
    value: record.tombstone ? undefined : carry(record.value),
    hlc: record.hlc,
    nodeId: record.nodeId,
    tombstone: record.tombstone,
    expiresAt: record.expiresAt === undefined ? undefined : expiryHlcOf(record.expiresAt, record.hlc),
  };
}

/** The backup record of a stored record (tests, and anything that holds StoredRecords). */
export function backupRecordOf(key: string, record: StoredRecord): BackupRecord {
  return {
    key,
    hlc: record.hlc,
    nodeId: record.nodeId,
    tombstone: record.tombstone,
    ...(record.tombstone ? {} : { value: record.value }),
    ...(record.expiresAt === undefined ? {} : { expiresAt: hlcToIso(record.expiresAt) }),
  };
}

const fields = new Set(['key', 'hlc', 'nodeId', 'tombstone', 'value', 'expiresAt']);

/** What is wrong with `candidate` as a BackupRecord, or null when it is one. */
export function backupRecordProblem(candidate: unknown): string | null {
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) return 'a record is a JSON object';
  const record = candidate as Record<string, unknown>;
  const unknown = Object.keys(record).find((name) => !fields.has(name));
  if (unknown !== undefined) return `unknown field ${JSON.stringify(unknown)}`;
  if (typeof record.key !== 'string' || !isValidKey(record.key)) return 'key must be a string of 1..1024 UTF-8 bytes';
  if (!Number.isSafeInteger(record.hlc) || (record.hlc as number) <= 0) return 'hlc must be a positive whole number';
  if (typeof record.nodeId !== 'string' || !nodeIdPattern.test(record.nodeId)) return 'nodeId must be a node id (letters, digits, _ . -)';
  if (typeof record.tombstone !== 'boolean') return 'tombstone must be true or false';
  if (record.tombstone && 'value' in record) return 'a tombstone has no value';
  if (!record.tombstone && !('value' in record)) return 'a record that is not a tombstone has a value (null is one)';
  if ('expiresAt' in record && (typeof record.expiresAt !== 'string' || !rfc3339.test(record.expiresAt) || Number.isNaN(Date.parse(record.expiresAt)))) {
    return 'expiresAt must be an RFC 3339 UTC time such as 2026-11-29T08:00:00.000Z';
  }
  return null;
}

/**
 * A record of GET /admin/records (`{"key","version","tombstone","value"?,"expiresAt"?,"hlc","nodeId"}`)
 * as a backup record; null when it is not one (the answer is then not what this ringkv expects).
 */
export function backupRecordOfListing(listed: unknown): BackupRecord | null {
  if (listed === null || typeof listed !== 'object') return null;
  const { key, hlc, nodeId, tombstone, value, expiresAt } = listed as Record<string, unknown>;
  const record = { key, hlc, nodeId, tombstone, ...(tombstone === true ? {} : { value }), ...(expiresAt === undefined || expiresAt === null ? {} : { expiresAt }) };
  return backupRecordProblem(record) === null ? (record as BackupRecord) : null;
}
