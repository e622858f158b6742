// Checks the move to data format 3 on real LMDB stores written in the old layout (records
// only, as format 2 wrote them through lmdb-js): the engine builds its ring index on open,
// in several transactions, equal to a brute-force pass over the records, which stay
// untouched; a build cut short by a failed commit starts again cleanly on the next open; a
// store marked built but written since by an older release is rebuilt when asked; and a
// node started on a format 2 directory moves its marker to 3 only with the index built.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import { loadKeyHasher, type StoredRecord } from '@ringkv/core';
import { nodeConfigDefaults } from '../config.js';
import { startNode } from '../node.js';
import { LmdbEngine, type TransactionRunner } from './lmdb-engine.js';
import { ringIndexBuiltName } from './lmdb-ring-index.js';
import { recordToRow, rowToRecord, type RecordRow } from './record-rows.js';
import { assertRingOrderMatches } from './ring-order-compliance.js';

const hash = await loadKeyHasher();

const directories: string[] = [];
after(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

function freshDir(): string {
  const path = mkdtempSync(join(tmpdir(), 'ringkv-ring-build-'));
  directories.push(path);
  return path;
}

/** Values, tombstones, ttl values, values kept as JSON text and non-ASCII keys, as format 2 stored them. */
function oldRecords(count: number): Map<string, StoredRecord> {
  const records = new Map<string, StoredRecord>();
  for (let i = 0; i < count; i++) {
    const key = i % 13 === 0 ? `ü-${i}-\u{1F680}` : `user:${i}`;
    const hlc = 10_000 + i;
    if (i % 7 === 0) records.set(key, { hlc, nodeId: 'n2', tombstone: true, value: undefined });
    else if (i % 5 === 0) records.set(key, { hlc, nodeId: 'n1', tombstone: false, value: { i }, expiresAt: 90_000 - i });
    else records.set(key, { hlc, nodeId: 'n1', tombstone: false, value: `value ${i}` });
  }
  return records;
}

/** Writes `records` the way a format 2 release did: the `records` database alone, through lmdb-js. */
async function writeOldLayout(path: string, records: ReadonlyMap<string, StoredRecord>): Promise<void> {
  const root = open({ path, compression: false });
  const table = root.openDB<RecordRow, string>({ name: 'records' });
  await root.transaction(() => {
    for (const [key, record] of records) table.putSync(key, recordToRow(record));
  });
  await root.close();
}

async function assertRecordsIntact(engine: LmdbEngine, records: ReadonlyMap<string, StoredRecord>): Promise<void> {
  const scanned = await engine.scan({ limit: records.size + 10 });
  assert.equal(scanned.length, records.size);
  for (const { key, record } of scanned) assert.deepEqual(record, records.get(key), key);
}

describe('LMDB ring index build (data format 3)', () => {
  it('builds the index of an old-layout store on open, in several transactions, logging progress', async () => {
    const path = freshDir();
    const records = oldRecords(2_500);
    await writeOldLayout(path, records);
    const logged: Array<Record<string, unknown>> = [];
    let commits = 0;
    const wrapTransaction = (run: TransactionRunner): TransactionRunner => (work, onLoop) => (commits++, run(work, onLoop));
    const engine = await LmdbEngine.open({ hash, path, durable: false, buildKeysPerCommit: 400, wrapTransaction, log: { info: (fields) => logged.push(fields) } });
    assert.ok(commits >= 2 + Math.ceil(2_500 / 400), `one transaction per 400 records, plus the clear and the finish (${commits})`);
    assert.deepEqual(logged[0], { keysTotal: 2_500 });
    assert.deepEqual(logged.at(-1)?.['keysDone'], 2_500);
    await assertRecordsIntact(engine, records);
    await assertRingOrderMatches(engine, records, 11);
    await engine.close();
    const again = await LmdbEngine.open({ hash, path, durable: false, log: { info: () => assert.fail('a built index is not built again') } });
    await assertRingOrderMatches(again, records, 12);
    await again.close();
  });

  it('starts a build cut short by a failed commit again from nothing on the next open', async () => {
    const path = freshDir();
    const records = oldRecords(1_200);
    await writeOldLayout(path, records);
    let commits = 0;
    const failThird = (run: TransactionRunner): TransactionRunner => (work, onLoop) => (++commits === 3 ? Promise.reject(new Error('the machine lost power')) : run(work, onLoop));
    await assert.rejects(LmdbEngine.open({ hash, path, durable: false, buildKeysPerCommit: 300, wrapTransaction: failThird }), /could not build the ring index .*the machine lost power.*starts again on the next start/);
    const engine = await LmdbEngine.open({ hash, path, durable: false, buildKeysPerCommit: 300 });
    await assertRecordsIntact(engine, records);
    await assertRingOrderMatches(engine, records, 13);
    await engine.close();
  });

  it('rebuilds an index marked complete when the directory says an older release wrote to it since', async () => {
    const path = freshDir();
    const records = oldRecords(300);
    const engine = await LmdbEngine.open({ hash, path, durable: false });
    for (const [key, record] of [...records].slice(0, 100)) await engine.apply(key, record);
    await engine.close();
    // An older release writes the rest around the index (it does not know it).
    await writeOldLayout(path, new Map([...records].slice(100)));
    const rebuilt = await LmdbEngine.open({ hash, path, durable: false, rebuildRingIndex: true });
    await assertRingOrderMatches(rebuilt, records, 14);
    await rebuilt.close();
  });

  it('moves a format 2 node directory to format 3 once its index is built, and serves its records', async () => {
    const dataDir = freshDir();
    const records = oldRecords(500);
    await writeOldLayout(join(dataDir, 'lmdb'), records);
    writeFileSync(join(dataDir, 'FORMAT'), JSON.stringify({ format: 2, createdBy: '0.4.0' }));
    const running = await startNode({ ...nodeConfigDefaults, id: 'n1', port: 0, storage: 'lmdb', lmdbMapBytes: 16 * 1024 * 1024, storageReserveBytes: 65_536, dataDir });
    assert.deepEqual(JSON.parse(readFileSync(join(dataDir, 'FORMAT'), 'utf8')), { format: 3, createdBy: '0.4.0' });
    const response = await fetch(`${running.url}/store/${encodeURIComponent('user:1')}?r=one`);
    assert.equal(response.status, 200);
    await running.close();
    const root = open({ path: join(dataDir, 'lmdb'), compression: false, readOnly: true });
    assert.equal(root.openDB<unknown, string>({ name: 'meta' }).get(ringIndexBuiltName), 1);
    assert.equal(rowToRecord(root.openDB<RecordRow, string>({ name: 'records' }).get('user:1') as RecordRow).value, 'value 1');
    await root.close();
    const engine = await LmdbEngine.open({ hash, path: join(dataDir, 'lmdb'), durable: false });
    await assertRingOrderMatches(engine, records, 15);
    await engine.close();
  });
});
