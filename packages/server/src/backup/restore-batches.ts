// How `ringkv restore` sends a backup: records grouped into POST /admin/restore batches
// bounded in records and bytes, with no key twice in one batch (the node refuses that);
// a batch the node finds too large (413: its --max-value-bytes is smaller than assumed) is
// split in halves down to single records; keys the node could not get a quorum for (503,
// restore-incomplete) are sent again, a bounded number of times. Resending is safe: a
// restore keeps versions, so a record already restored changes nothing.
import { restoreRecordsPerBatchMax } from '@ringkv/core';
import type { AdminApi } from './admin-api.js';
import type { BackupRecord } from './backup-record.js';

export interface RestoreBatch {
  records: BackupRecord[];
  /** Bytes of the records as JSON (the request body, near enough). */
  bytes: number;
}

/** Bytes of one batch at most, unless one record alone is larger (it then goes alone). Below the nodes' default --max-value-bytes (1 MiB). */
export const restoreBatchBytesMax = 512 * 1024;

/** Groups `records` into batches of at most `recordsMax` records and about `bytesMax` bytes, each key at most once per batch. */
export async function* restoreBatches(
  records: AsyncIterable<BackupRecord> | Iterable<BackupRecord>,
  recordsMax = restoreRecordsPerBatchMax,
  bytesMax = restoreBatchBytesMax,
): AsyncGenerator<RestoreBatch> {
  let batch: RestoreBatch = { records: [], bytes: 0 };
  let keys = new Set<string>();
  for await (const record of records) {
    const bytes = Buffer.byteLength(JSON.stringify(record)) + 1;
    const full = batch.records.length >= recordsMax || (batch.records.length > 0 && batch.bytes + bytes > bytesMax);
    if (full || keys.has(record.key)) {
      yield batch;
      batch = { records: [], bytes: 0 };
      keys = new Set();
    }
    batch.records.push(record);
    batch.bytes += bytes;
    keys.add(record.key);
  }
  if (batch.records.length > 0) yield batch;
}

/** What happened to the records of the batches sent so far. */
export interface RestoreTally {
  applied: number;
  keptNewer: number;
  /** Copies the replicas stored anew (0 for a backup restored before). */
  stored: number;
  failed: Array<{ key: string; reason: string }>;
}

export function emptyTally(): RestoreTally {
  return { applied: 0, keptNewer: 0, stored: 0, failed: [] };
}

interface RestoredKeyAnswer {
  key: string;
  outcome: 'applied' | 'kept-newer' | 'failed';
}

interface RestoreAnswerBody {
  results?: RestoredKeyAnswer[];
  stored?: number;
  failedKeys?: string[];
  detail?: string;
  type?: string;
}

export interface SendOptions {
  /** Tries per key while its replicas do not confirm it (503). */
  attemptsMax: number;
  /** Waits between tries (real time in the CLI; tests pass a short one). */
  pause(ms: number): Promise<void>;
}

export const restoreSendDefaults: SendOptions = {
  attemptsMax: 5,
  pause: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Sends one batch, splitting it on 413 and resending failed keys on 503, and adds what
 * happened to `tally`. Other answers (401, 403, 400...) throw: they would fail every batch.
 */
export async function sendRestoreBatch(api: AdminApi, records: readonly BackupRecord[], tally: RestoreTally, options: SendOptions = restoreSendDefaults): Promise<void> {
  let pending = records;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const answer = await api.post<RestoreAnswerBody>('/admin/restore', { records: pending }, [413, 503]);
    if (answer.status === 413) {
      await splitOnTooLarge(api, pending, tally, options, answer.body.detail ?? 'the batch is larger than the node takes');
      return;
    }
    const results = answer.body.results ?? [];
    tally.stored += answer.body.stored ?? 0;
    for (const result of results) {
      if (result.outcome === 'applied') tally.applied++;
      else if (result.outcome === 'kept-newer') tally.keptNewer++;
    }
    if (answer.status !== 503) return;
    // A 503 without results (the node is starting) leaves the whole batch to send again.
    const failedKeys = new Set(answer.body.failedKeys ?? pending.map((record) => record.key));
    pending = pending.filter((record) => failedKeys.has(record.key));
    if (attempt >= options.attemptsMax) {
      const reason = answer.body.detail ?? 'not confirmed by a majority of its replicas';
      for (const record of pending) tally.failed.push({ key: record.key, reason });
      return;
    }
    await options.pause(Math.min(4000, 250 * 2 ** attempt));
  }
}

async function splitOnTooLarge(api: AdminApi, records: readonly BackupRecord[], tally: RestoreTally, options: SendOptions, detail: string): Promise<void> {
  if (records.length === 1) {
    const [record] = records as [BackupRecord];
    tally.failed.push({ key: record.key, reason: `the node refused it as too large (${detail}): start the nodes with a larger --max-value-bytes` });
    return;
  }
  const half = Math.ceil(records.length / 2);
  await sendRestoreBatch(api, records.slice(0, half), tally, options);
  await sendRestoreBatch(api, records.slice(half), tally, options);
}
