// The version of a stored row read from its bytes without decoding its value: for rows
// LMDB itself encoded (a real database in a temporary directory), it equals the version of
// the row decoded whole whenever the value is a string or JSON text or the row a tombstone,
// and it declines (undefined, so the caller decodes) for every other value.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { open, type Database, type RootDatabase } from 'lmdb';
import { JsonText, type StoredRecord } from '@ringkv/core';
import { recordToRow, rowToRecord, rowVersionOf, type RecordRow } from './record-rows.js';

describe('rowVersionOf', () => {
  let dir: string;
  let root: RootDatabase;
  let rows: Database<RecordRow, string>;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ringkv-rows-'));
    root = open({ path: dir, compression: false });
    rows = root.openDB<RecordRow, string>({ name: 'records' });
  });

  after(async () => {
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hlc = fc.oneof(fc.nat({ max: 127 }), fc.nat({ max: 2 ** 32 }), fc.integer({ min: 2 ** 40, max: Number.MAX_SAFE_INTEGER }));
  const nodeId = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/), fc.string({ unit: 'grapheme', maxLength: 8 }));
  const stringValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat({ max: 70_000 }).map((length) => 'é'.repeat(length)));
  const otherValue = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.nat(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(), { maxKeys: 3 }));
  const expiresAt = fc.option(hlc, { nil: undefined });
  const record = fc.oneof(
    fc.record({ hlc, nodeId, tombstone: fc.constant(true as const), value: fc.constant(undefined) }),
    fc.tuple(hlc, nodeId, fc.oneof(stringValue, stringValue.map((text) => new JsonText(JSON.stringify(text)))), expiresAt).map(([at, id, value, expiry]) => withExpiry({ hlc: at, nodeId: id, tombstone: false, value }, expiry)),
    fc.tuple(hlc, nodeId, otherValue, expiresAt).map(([at, id, value, expiry]) => withExpiry({ hlc: at, nodeId: id, tombstone: false, value }, expiry)),
  );

  it('reads the version of every string, JSON text or tombstone row LMDB wrote, and declines the rest', () => {
    fc.assert(
      fc.property(record, (stored) => {
        rows.putSync('k', recordToRow(stored));
        const bytes = rows.getBinary('k') as Buffer;
        const whole = rowToRecord(rows.get('k') as RecordRow);
        const version = rowVersionOf(bytes);
        const readable = stored.tombstone || typeof stored.value === 'string' || stored.value instanceof JsonText;
        if (!readable) {
          assert.equal(version, undefined);
          return;
        }
        assert.ok(version !== undefined, `a ${stored.tombstone ? 'tombstone' : 'string'} row was declined`);
        assert.deepEqual(version, { hlc: whole.hlc, nodeId: whole.nodeId, tombstone: whole.tombstone, ...(whole.expiresAt === undefined ? {} : { expiresAt: whole.expiresAt }) });
      }),
      { numRuns: 300 },
    );
  });

  it('declines bytes it does not follow instead of misreading them', () => {
    rows.putSync('k', recordToRow({ hlc: 12, nodeId: 'n1', tombstone: false, value: 'abc' }));
    const bytes = rows.getBinary('k') as Buffer;
    assert.deepEqual(rowVersionOf(bytes), { hlc: 12, nodeId: 'n1', tombstone: false });
    for (let cut = 0; cut < bytes.length; cut++) assert.equal(rowVersionOf(bytes.subarray(0, cut)), undefined, `cut at ${cut}`);
    assert.equal(rowVersionOf(Buffer.concat([bytes, Buffer.from([0])])), undefined, 'a byte left over');
    assert.equal(rowVersionOf(Buffer.from([0x92, 1, 0xa1, 0x61])), undefined, 'two fields');
  });
});

function withExpiry(record: StoredRecord, expiresAt: number | undefined): StoredRecord {
  return expiresAt === undefined ? record : { ...record, expiresAt };
}
