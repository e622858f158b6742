// `ringkv backup` and `ringkv restore`. A backup notes the cut first (GET /admin/backup-cut:
// the node's HLC, above the version of every write acknowledged before it), then pages
// through every key's newest record across the cluster (GET /admin/records, tombstones and
// expired values included) into a backup file (backup-file.ts). A restore checks the whole
// file before it sends anything, then sends it in batches (restore-batches.ts).
import { scanRecordsLimitMax } from '@ringkv/core';
import { CommandFailure, exitCodes } from '../exit-codes.js';
import type { ApiTarget } from '../ring-commands.js';
import { adminApiFor, type AdminApi } from './admin-api.js';
import { BackupFileError, backupRecords, BackupWriter, verifyBackupFile, type BackupTrailer } from './backup-file.js';
import { backupRecordOfListing } from './backup-record.js';
import { emptyTally, restoreBatches, restoreSendDefaults, sendRestoreBatch, type RestoreTally, type SendOptions } from './restore-batches.js';
import { TransferProgress } from './transfer-progress.js';

export interface CommandOutput {
  /** The summary line(s). */
  out: { write(text: string): unknown };
  /** Progress and notes. */
  err: { isTTY?: boolean; write(text: string): unknown };
}

interface BackupCut {
  cutHlc: number;
  cutAt: string;
  clusterName: string;
  nodeId: string;
}

interface RecordsPage {
  records: unknown[];
  nextCursor: string | null;
}

/** Pages of /admin/records one backup reads at most: far more than any cluster this ringkv holds needs. */
const backupPagesMax = 10_000_000;

/** Takes a backup through `target` into `file`; resolves with the exit code. */
export async function backupCommand(target: ApiTarget, file: string, io: CommandOutput): Promise<number> {
  const api = adminApiFor(target);
  const cut = await api.get<BackupCut>('/admin/backup-cut');
  const writer = await BackupWriter.create(file, { clusterName: cut.clusterName, cutHlc: cut.cutHlc, cutAt: cut.cutAt, takenFrom: cut.nodeId });
  const progress = new TransferProgress(io.err, undefined);
  let tombstones = 0;
  let trailer: BackupTrailer;
  try {
    for await (const record of listedRecords(api)) {
      if (record.tombstone) tombstones++;
      await writer.add(record);
      progress.update(writer.records, writer.bytes);
    }
    trailer = await writer.finish();
  } catch (error) {
    await writer.abandon();
    throw error;
  }
  progress.update(writer.records, writer.bytes, 'done', true);
  progress.finish();
  io.out.write(
    `backup of cluster ${cut.clusterName} at cut ${cut.cutAt} (HLC ${cut.cutHlc}, from ${cut.nodeId}): ${trailer.records} records ` +
      `(${tombstones} tombstones) in ${file}, sha256 ${trailer.sha256}\n`,
  );
  return exitCodes.ok;
}

/** Every record of GET /admin/records, page by page, as backup records. */
async function* listedRecords(api: AdminApi) {
  let cursor: string | null = null;
  for (let page = 0; page < backupPagesMax; page++) {
    const query: string = cursor === null ? `limit=${scanRecordsLimitMax}` : `limit=${scanRecordsLimitMax}&cursor=${encodeURIComponent(cursor)}`;
    const answer: RecordsPage = await api.get<RecordsPage>(`/admin/records?${query}`);
    for (const listed of answer.records) {
      const record = backupRecordOfListing(listed);
      if (record === null) {
        throw new CommandFailure(exitCodes.outcomeUnknown, `${api.baseUrl} listed a record this ringkv cannot read (${JSON.stringify(listed).slice(0, 200)}); no backup was written: is it another ringkv release?`);
      }
      yield record;
    }
    if (answer.nextCursor === null) return;
    if (answer.nextCursor === cursor) throw new CommandFailure(exitCodes.outcomeUnknown, `${api.baseUrl} answered the same cursor twice; no backup was written`);
    cursor = answer.nextCursor;
  }
  throw new CommandFailure(exitCodes.outcomeUnknown, `more than ${backupPagesMax} pages of records; no backup was written`);
}

/** Batches of one restore in flight at once. */
const restoreBatchesInFlightMax = 4;

/** Checks `file` whole, then restores it through `target`; resolves with the exit code. */
export async function restoreCommand(target: ApiTarget, file: string, io: CommandOutput, send: SendOptions = restoreSendDefaults): Promise<number> {
  let summary: Awaited<ReturnType<typeof verifyBackupFile>>;
  try {
    summary = await verifyBackupFile(file);
  } catch (error) {
    if (error instanceof BackupFileError) throw new CommandFailure(exitCodes.usage, `${file} is refused: ${error.message}. Nothing was restored`);
    throw error;
  }
  const api = adminApiFor(target);
  const here = await api.get<BackupCut>('/admin/backup-cut');
  if (here.clusterName !== summary.header.clusterName) {
    io.err.write(`note: the backup is of cluster ${summary.header.clusterName}; restoring into cluster ${here.clusterName}\n`);
  }
  const total = summary.trailer.records;
  const progress = new TransferProgress(io.err, total);
  const tally = emptyTally();
  let sent = 0;
  let sentBytes = 0;
  const inFlight = new Set<Promise<void>>();
  for await (const batch of restoreBatches(backupRecords(file))) {
    const sending: Promise<void> = sendRestoreBatch(api, batch.records, tally, send).then(() => {
      sent += batch.records.length;
      sentBytes += batch.bytes;
      progress.update(sent, sentBytes, tally.failed.length > 0 ? `${tally.failed.length} failed` : '');
    });
    inFlight.add(sending);
    void sending.then(
      () => inFlight.delete(sending),
      () => inFlight.delete(sending),
    );
    if (inFlight.size >= restoreBatchesInFlightMax) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  progress.update(sent, sentBytes, 'done', true);
  progress.finish();
  return reportRestore(file, summary.header.cutAt, total, tally, io);
}

function reportRestore(file: string, cutAt: string, total: number, tally: RestoreTally, io: CommandOutput): number {
  io.out.write(
    `restored ${file} (cut ${cutAt}): ${total} records, ${tally.applied} applied, ${tally.keptNewer} kept a newer version already stored, ` +
      `${tally.stored} replica copies written, ${tally.failed.length} failed\n`,
  );
  if (tally.failed.length === 0) return exitCodes.ok;
  const shown = tally.failed.slice(0, 20).map((failure) => `  ${JSON.stringify(failure.key)}: ${failure.reason}`);
  const more = tally.failed.length > shown.length ? `\n  ... and ${tally.failed.length - shown.length} more` : '';
  throw new CommandFailure(
    exitCodes.unavailable,
    `${tally.failed.length} of ${total} records were not restored:\n${shown.join('\n')}${more}\nRun the same restore again once every node is up: records already restored change nothing`,
  );
}
