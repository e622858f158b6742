// Checks the backup file format on real files in a temporary folder: what the writer writes
// the reader verifies and gives back record for record, and a file cut short, with one byte
// changed, with a wrong header, or with data after its trailer is refused before any record
// is handed out, with a message that says what is wrong.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BackupFileError, backupRecords, BackupWriter, verifyBackupFile } from './backup-file.js';
import { backupRecordOf, backupRecordProblem, expiryHlcOf, storedRecordOf, type BackupRecord } from './backup-record.js';

let folder: string;
before(() => {
  folder = mkdtempSync(join(tmpdir(), 'ringkv-backup-file-'));
});
after(() => rmSync(folder, { recursive: true, force: true }));

const header = { clusterName: 'prod', cutHlc: 1_800_000_000_000 * 1024, cutAt: '2027-01-15T08:00:00.000Z', takenFrom: 'n1' };

const records: BackupRecord[] = [
  { key: 'a', hlc: 1_700_000_000_000 * 1024 + 3, nodeId: 'n1', tombstone: false, value: { nested: ['x', 1, null, true] } },
  { key: 'b/with/slashes', hlc: 1_700_000_000_001 * 1024, nodeId: 'n2', tombstone: true },
  { key: 'line\nbreak é', hlc: 1_700_000_000_002 * 1024, nodeId: 'n3', tombstone: false, value: 'two\nlines' },
  { key: 'ttl', hlc: 1_700_000_000_003 * 1024 + 7, nodeId: 'n1', tombstone: false, value: null, expiresAt: '2023-11-14T22:14:20.003Z' },
];

async function writeBackup(name: string, list: readonly BackupRecord[] = records): Promise<string> {
  const path = join(folder, name);
  const writer = await BackupWriter.create(path, header);
  for (const record of list) await writer.add(record);
  await writer.finish();
  return path;
}

async function readAll(path: string): Promise<BackupRecord[]> {
  const list: BackupRecord[] = [];
  for await (const record of backupRecords(path)) list.push(record);
  return list;
}

async function refusal(path: string): Promise<string> {
  try {
    await verifyBackupFile(path);
  } catch (error) {
    assert.ok(error instanceof BackupFileError, `expected a BackupFileError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`${path} was accepted`);
}

describe('backup file', () => {
  it('round-trips header, records and count', async () => {
    const path = await writeBackup('round-trip.backup');
    assert.equal(existsSync(`${path}.partial`), false, 'the partial file is renamed when complete');
    const summary = await verifyBackupFile(path);
    assert.deepEqual(summary.header, { format: 'ringkv-backup', formatVersion: 1, ...header });
    assert.equal(summary.trailer.records, records.length);
    assert.match(summary.trailer.sha256, /^[0-9a-f]{64}$/);
    assert.equal(summary.bytes, readFileSync(path).length);
    assert.deepEqual(await readAll(path), records);
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.length, records.length + 3, 'header, one line per record, trailer, and the final newline');
  });

  it('round-trips an empty cluster', async () => {
    const path = await writeBackup('empty.backup', []);
    assert.equal((await verifyBackupFile(path)).trailer.records, 0);
    assert.deepEqual(await readAll(path), []);
  });

  it('refuses a file cut short anywhere', async () => {
    const whole = readFileSync(await writeBackup('whole.backup'));
    const trailerStart = whole.lastIndexOf('\n', whole.length - 2) + 1;
    for (const length of [0, 10, 200, trailerStart, trailerStart + 5, whole.length - 1]) {
      const path = join(folder, `cut-${length}.backup`);
      writeFileSync(path, whole.subarray(0, length));
      const message = await refusal(path);
      assert.match(message, length === 0 ? /empty/ : /truncated|not JSON|counts|SHA-256/, `cut at ${length}: ${message}`);
    }
  });

  it('refuses a file with one byte changed, even when every line is still valid JSON', async () => {
    const whole = readFileSync(await writeBackup('flip.backup'));
    const at = whole.indexOf('"x"') + 1;
    const flipped = Buffer.from(whole);
    flipped[at] = 'y'.charCodeAt(0);
    const path = join(folder, 'flipped.backup');
    writeFileSync(path, flipped);
    assert.match(await refusal(path), /SHA-256 .* does not match/);
    const broken = Buffer.from(whole);
    broken[whole.indexOf('"tombstone":true')] = 0x7b;
    writeFileSync(path, broken);
    assert.match(await refusal(path), /line 3: is not JSON/);
  });

  it('refuses a file that is not a backup, another format version, or data after the trailer', async () => {
    const path = join(folder, 'other.backup');
    writeFileSync(path, '{"key":"a","value":1}\n{"key":"b","value":2}\n');
    assert.match(await refusal(path), /not a ringkv backup.*ringkv import/);
    const whole = readFileSync(await writeBackup('version.backup'), 'utf8');
    writeFileSync(path, whole.replace('"formatVersion":1', '"formatVersion":2'));
    assert.match(await refusal(path), /format version 2/);
    writeFileSync(path, `${whole}{"key":"extra","hlc":1,"nodeId":"n1","tombstone":true}\n`);
    assert.match(await refusal(path), /truncated|trailer/);
  });

  it('refuses a record of the wrong shape, naming its line', async () => {
    const path = await writeBackup('shape.backup', [{ key: 'k', hlc: 5, nodeId: 'n1', tombstone: true, value: 1 } as BackupRecord]);
    assert.match(await refusal(path), /line 2: not a backup record: a tombstone has no value/);
  });

  it('leaves no file behind when a backup is abandoned', async () => {
    const path = join(folder, 'abandoned.backup');
    const writer = await BackupWriter.create(path, header);
    await writer.add(records[0] as BackupRecord);
    await writer.abandon();
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}.partial`), false);
  });
});

describe('backup record', () => {
  it('rebuilds the exact HLC of an expiry from its RFC 3339 text and the version', () => {
    const hlc = 1_700_000_000_000 * 1024 + 517;
    const expiresAt = hlc + 3_600_000 * 1024;
    const record = { value: 1, hlc, nodeId: 'n1', tombstone: false, expiresAt };
    const backedUp = backupRecordOf('k', record);
    assert.equal(backedUp.expiresAt, '2023-11-14T23:13:20.000Z');
    assert.equal(expiryHlcOf(backedUp.expiresAt as string, hlc), expiresAt);
    assert.deepEqual(storedRecordOf(backedUp), record);
  });

  it('says what is wrong with a record', () => {
    assert.equal(backupRecordProblem(records[0]), null);
    assert.match(backupRecordProblem({ key: '', hlc: 1, nodeId: 'n1', tombstone: true }) ?? '', /key/);
    assert.match(backupRecordProblem({ key: 'k', hlc: 1.5, nodeId: 'n1', tombstone: true }) ?? '', /hlc/);
    assert.match(backupRecordProblem({ key: 'k', hlc: 1, nodeId: 'n1', tombstone: false }) ?? '', /has a value/);
    assert.match(backupRecordProblem({ key: 'k', hlc: 1, nodeId: 'n1', tombstone: true, extra: 1 }) ?? '', /unknown field "extra"/);
    assert.match(backupRecordProblem({ key: 'k', hlc: 1, nodeId: 'n1', tombstone: false, value: 1, expiresAt: 'tomorrow' }) ?? '', /RFC 3339/);
  });
});
