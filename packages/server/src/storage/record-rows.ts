// How a record is kept on disk beside LMDB's own encoding: an array whose third field says
// what the rest is (a value, a tombstone, or a value kept as the JSON text it came as).
// JsonText (storage/json-text.ts in @ringkv/core) is a class, which LMDB's encoder would
// flatten into a plain object, so it is stored as its text and rebuilt on reading.
import { JsonText, type StoredRecord } from '@ringkv/core';

// A value with a ttl has a fifth field, its expiry (an HLC timestamp); rows written before
// ttls existed have four and read as permanent values.
export type RecordRow =
  | [number, string, typeof rowValue, unknown, number?]
  | [number, string, typeof rowTombstone]
  | [number, string, typeof rowJsonText, string, number?];

const rowValue = 0;
const rowTombstone = 1;
const rowJsonText = 2;

export function recordToRow(record: StoredRecord): RecordRow {
  if (record.tombstone) return [record.hlc, record.nodeId, rowTombstone];
  const { expiresAt } = record;
  if (record.value instanceof JsonText) {
    return expiresAt === undefined ? [record.hlc, record.nodeId, rowJsonText, record.value.text] : [record.hlc, record.nodeId, rowJsonText, record.value.text, expiresAt];
  }
  return expiresAt === undefined ? [record.hlc, record.nodeId, rowValue, record.value] : [record.hlc, record.nodeId, rowValue, record.value, expiresAt];
}

export function isTombstoneRow(row: RecordRow): boolean {
  return row[2] === rowTombstone;
}

export function rowToRecord(row: RecordRow): StoredRecord {
  switch (row[2]) {
    case rowTombstone:
      return { hlc: row[0], nodeId: row[1], tombstone: true, value: undefined };
    case rowJsonText:
      return withExpiry({ hlc: row[0], nodeId: row[1], tombstone: false, value: new JsonText(row[3]) }, row[4]);
    default:
      return withExpiry({ hlc: row[0], nodeId: row[1], tombstone: false, value: row[3] }, row[4]);
  }
}

function withExpiry(record: StoredRecord, expiresAt: number | undefined): StoredRecord {
  if (expiresAt !== undefined) record.expiresAt = expiresAt;
  return record;
}
