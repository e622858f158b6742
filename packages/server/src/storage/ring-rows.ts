// The binary rows of the LMDB engine's ring index and purge list
// (docs/design.md, "Storage"). Keys are compared by LMDB as bytes, so each key starts with
// a big-endian number: LMDB's order is then ring order (token, then key bytes) or purge
// order (goneAt, then key bytes) with no comparator of our own.

/** A ring row's key: the 4-byte big-endian token, then the key's UTF-8 bytes. */
export function ringRowKey(token: number, keyBytes: Buffer): Buffer {
  const row = Buffer.allocUnsafe(4 + keyBytes.length);
  row.writeUInt32BE(token, 0);
  keyBytes.copy(row, 4);
  return row;
}

/** The first ring row key of a token (the start of a span). */
export function ringTokenStart(token: number): Buffer {
  const row = Buffer.allocUnsafe(4);
  row.writeUInt32BE(token, 0);
  return row;
}

export function ringRowToken(row: Uint8Array): number {
  return readUint32(row, 0);
}

export function ringRowKeyText(row: Uint8Array): string {
  return Buffer.from(row.buffer, row.byteOffset + 4, row.length - 4).toString('utf8');
}

/**
 * A ring row's value: the version hash, and the record's goneAt when it has one, so that a
 * write replacing it finds the purge entry to remove without decoding the record.
 */
export function ringRowValue(versionHash: number, goneAt: number | undefined): Buffer {
  const value = Buffer.allocUnsafe(goneAt === undefined ? 4 : 12);
  value.writeUInt32BE(versionHash, 0);
  if (goneAt !== undefined) writeUint64(value, 4, goneAt);
  return value;
}

export function ringValueHash(value: Uint8Array): number {
  return readUint32(value, 0);
}

export function ringValueGoneAt(value: Uint8Array): number | undefined {
  return value.length >= 12 ? readUint64(value, 4) : undefined;
}

/** A purge row's key: goneAt as 8 big-endian bytes, then the key's UTF-8 bytes. */
export function purgeRowKey(goneAt: number, keyBytes: Buffer): Buffer {
  const row = Buffer.allocUnsafe(8 + keyBytes.length);
  writeUint64(row, 0, goneAt);
  keyBytes.copy(row, 8);
  return row;
}

/** The first purge row key at or after time `goneAt`. */
export function purgeTimeStart(goneAt: number): Buffer {
  const row = Buffer.allocUnsafe(8);
  writeUint64(row, 0, goneAt);
  return row;
}

export function purgeRowGoneAt(row: Uint8Array): number {
  return readUint64(row, 0);
}

export function purgeRowKeyText(row: Uint8Array): string {
  return Buffer.from(row.buffer, row.byteOffset + 8, row.length - 8).toString('utf8');
}

/** A purge row's value: the version it lists, so the purge reads no record. */
export type PurgeRow = [hlc: number, nodeId: string, tombstone: boolean];

/** HLC times and expiries are safe integers (clock/hlc.ts), so 8 bytes hold them in order. */
function writeUint64(target: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`a purge time must be a non-negative safe integer, not ${value}`);
  const high = Math.floor(value / 2 ** 32);
  target.writeUInt32BE(high, offset);
  target.writeUInt32BE(value - high * 2 ** 32, offset + 4);
}

function readUint64(source: Uint8Array, offset: number): number {
  return readUint32(source, offset) * 2 ** 32 + readUint32(source, offset + 4);
}

function readUint32(source: Uint8Array, offset: number): number {
  return (source[offset] as number) * 2 ** 24 + (((source[offset + 1] as number) << 16) | ((source[offset + 2] as number) << 8) | (source[offset + 3] as number));
}
