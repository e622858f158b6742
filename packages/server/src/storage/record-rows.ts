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

/** What the write path needs of a stored record: its version, whether it is a tombstone, and its expiry. */
export type RowVersion = Pick<StoredRecord, 'hlc' | 'nodeId' | 'tombstone' | 'expiresAt'>;

/**
 * The version of a row as LMDB stores it (MessagePack), read without decoding its value,
 * when the value is a string (JSON text included) or absent; undefined for any other value,
 * or for bytes this reader does not follow, which the caller decodes whole instead. A write
 * compares versions only, and decoding a stored 1 MiB string to do so cost every replica
 * about a millisecond per overwrite.
 */
export function rowVersionOf(bytes: Uint8Array): RowVersion | undefined {
  const length = bytes[0] === undefined ? -1 : bytes[0] - 0x90;
  if (length < 3 || length > 5) return undefined;
  const reader = new RowReader(bytes, 1);
  const hlc = reader.number();
  const nodeId = reader.shortString();
  const flag = bytes[reader.at++];
  if (hlc === undefined || nodeId === undefined) return undefined;
  let version: RowVersion | undefined;
  if (flag === rowTombstone && length === 3) version = { hlc, nodeId, tombstone: true };
  else if ((flag === rowValue || flag === rowJsonText) && length >= 4 && reader.skipStringOrBinary()) {
    const expiresAt = length === 5 ? reader.number() : undefined;
    if (length === 5 && expiresAt === undefined) return undefined;
    version = expiresAt === undefined ? { hlc, nodeId, tombstone: false } : { hlc, nodeId, tombstone: false, expiresAt };
  }
  // Every byte accounted for, or the row is read the long way.
  return reader.at === bytes.length ? version : undefined;
}

/** Reads the few MessagePack types a row's version is made of. */
class RowReader {
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A number stored as a fixint, an unsigned or signed int of up to 32 bits, or a float; undefined for anything else (64-bit ints included). */
  number(): number | undefined {
    const type = this.bytes[this.at];
    if (type === undefined) return undefined;
    const at = this.at + 1;
    const fits = (size: number) => at + size <= this.bytes.length;
    let value: number | undefined;
    let size = 0;
    if (type <= 0x7f) value = type;
    else if (type >= 0xe0) value = type - 0x100;
    else if (type === 0xcb && fits((size = 8))) value = this.view.getFloat64(at);
    else if (type === 0xca && fits((size = 4))) value = this.view.getFloat32(at);
    else if (type === 0xcc && fits((size = 1))) value = this.view.getUint8(at);
    else if (type === 0xcd && fits((size = 2))) value = this.view.getUint16(at);
    else if (type === 0xce && fits((size = 4))) value = this.view.getUint32(at);
    else if (type === 0xd0 && fits((size = 1))) value = this.view.getInt8(at);
    else if (type === 0xd1 && fits((size = 2))) value = this.view.getInt16(at);
    else if (type === 0xd2 && fits((size = 4))) value = this.view.getInt32(at);
    if (value === undefined) return undefined;
    this.at = at + size;
    return value;
  }

  /** A string (a node id). */
  shortString(): string | undefined {
    const span = this.stringOrBinary(false);
    return span === undefined ? undefined : Buffer.from(this.bytes.buffer, this.bytes.byteOffset + span.start, span.size).toString('utf8');
  }

  /** Moves past a string or binary of any length; false for any other type. */
  skipStringOrBinary(): boolean {
    return this.stringOrBinary(true) !== undefined;
  }

  /** Where the string (or, with `binary`, the binary) at the cursor lies, moving past it; undefined for any other type. */
  private stringOrBinary(binary: boolean): { start: number; size: number } | undefined {
    const type = this.bytes[this.at];
    const at = this.at + 1;
    let header = 0;
    let size: number;
    if (type === undefined) return undefined;
    if (type >= 0xa0 && type <= 0xbf) size = type - 0xa0;
    else if ((type === 0xd9 || (binary && type === 0xc4)) && at + 1 <= this.bytes.length) [header, size] = [1, this.view.getUint8(at)];
    else if ((type === 0xda || (binary && type === 0xc5)) && at + 2 <= this.bytes.length) [header, size] = [2, this.view.getUint16(at)];
    else if ((type === 0xdb || (binary && type === 0xc6)) && at + 4 <= this.bytes.length) [header, size] = [4, this.view.getUint32(at)];
    else return undefined;
    const start = at + header;
    if (start + size > this.bytes.length) return undefined;
    this.at = start + size;
    return { start, size };
  }
}
