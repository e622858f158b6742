// `ringkv export` and `ringkv import`: plain NDJSON, one `{"key","value"}` a line, for
// migration and inspection (no versions, no tombstones: a backup keeps those). Export pages
// through the cluster's live keys with their values (GET /cluster/keys?values=true). Import
// checks every line on its own: a bad line is reported by its number and not stored, and the
// others go on, as puts in POST /batch requests.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isValidKey } from '@ringkv/core';
import type { BatchAnswer, BatchOp, RingkvClient } from '@ringkv/client';
import { RingkvError } from '@ringkv/client';
import { CommandFailure, exitCodeOfStatus, exitCodes, type ExitCode } from '../exit-codes.js';
import { clientFor, type ApiTarget } from '../ring-commands.js';
import { adminApiFor } from './admin-api.js';
import type { CommandOutput } from './backup-commands.js';
import { TransferProgress } from './transfer-progress.js';

interface KeysWithValuesPage {
  keys: string[];
  items?: Array<{ key: string; value: unknown; version: string }>;
  nextCursor: string | null;
}

/** Keys one export page asks for. */
const exportPageKeys = 1000;
/** Pages one export reads at most. */
const exportPagesMax = 10_000_000;

/** Writes every live key under `prefix` with its value to `file` (stdout when undefined); resolves with the exit code. */
export async function exportCommand(target: ApiTarget, file: string | undefined, prefix: string, io: CommandOutput): Promise<number> {
  const api = adminApiFor(target);
  const sink: WriteStream | CommandOutput['out'] = file === undefined ? io.out : createWriteStream(file);
  const progress = new TransferProgress(io.err, undefined);
  let keys = 0;
  let bytes = 0;
  let cursor: string | null = null;
  for (let page = 0; page < exportPagesMax; page++) {
    const query = new URLSearchParams({ values: 'true', limit: String(exportPageKeys), ...(prefix === '' ? {} : { prefix }), ...(cursor === null ? {} : { cursor }) });
    const answer: KeysWithValuesPage = await api.get<KeysWithValuesPage>(`/cluster/keys?${query.toString()}`);
    if (answer.items === undefined) throw new CommandFailure(exitCodes.outcomeUnknown, `${api.baseUrl} answered /cluster/keys without values: is it another ringkv release?`);
    const text = answer.items.map((item) => `${JSON.stringify({ key: item.key, value: item.value })}\n`).join('');
    if (text !== '' && !sink.write(text) && 'once' in sink) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    keys += answer.items.length;
    bytes += Buffer.byteLength(text);
    progress.update(keys, bytes);
    if (answer.nextCursor === null || answer.nextCursor === cursor) break;
    cursor = answer.nextCursor;
  }
  if ('end' in sink) await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
  progress.update(keys, bytes, 'done', true);
  progress.finish();
  if (file !== undefined) io.out.write(`exported ${keys} keys to ${file}\n`);
  return exitCodes.ok;
}

/** One line of an import file, checked: what to put, or why the line is refused. */
export type ImportLine = { ok: true; key: string; value: unknown } | { ok: false; reason: string };

/** Checks one NDJSON line (pure). Blank lines are skipped by the caller. */
export function parseImportLine(text: string): ImportLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object {"key", "value"}' };
  const line = parsed as Record<string, unknown>;
  const extra = Object.keys(line).find((name) => name !== 'key' && name !== 'value');
  if (extra !== undefined) return { ok: false, reason: `unknown field ${JSON.stringify(extra)} (a line is {"key", "value"})` };
  if (typeof line.key !== 'string' || !isValidKey(line.key)) return { ok: false, reason: 'key must be a string of 1..1024 UTF-8 bytes' };
  if (!('value' in line)) return { ok: false, reason: 'no value (null is one)' };
  return { ok: true, key: line.key, value: line.value };
}

/** Puts per POST /batch, and bytes of values per batch, on import. */
const importBatchOps = 200;
const importBatchBytes = 256 * 1024;
/** Bad lines printed one by one; past this they are only counted. */
const badLinesShownMax = 100;

interface PendingPut {
  lineNumber: number;
  key: string;
  value: unknown;
  bytes: number;
}

interface ImportTally {
  stored: number;
  badLines: number;
  failedWrites: number;
  /** The exit code of the first failed write. */
  writeExitCode: ExitCode | undefined;
}

/** Stores each good line of `file` (stdin when "-"); resolves with the exit code. */
export async function importCommand(target: ApiTarget, file: string, io: CommandOutput): Promise<number> {
  const client = clientFor(target);
  const total = file === '-' ? undefined : await countLines(file);
  const progress = new TransferProgress(io.err, total);
  const tally: ImportTally = { stored: 0, badLines: 0, failedWrites: 0, writeExitCode: undefined };
  const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(file), crlfDelay: Infinity });
  let batch: PendingPut[] = [];
  let batchBytes = 0;
  let lineNumber = 0;
  let bytes = 0;
  const flush = async () => {
    await storeBatch(client, batch, tally, io);
    batch = [];
    batchBytes = 0;
  };
  try {
    for await (const text of lines) {
      lineNumber++;
      bytes += Buffer.byteLength(text) + 1;
      if (text.trim() === '') continue;
      const line = parseImportLine(text);
      if (!line.ok) {
        tally.badLines++;
        if (tally.badLines <= badLinesShownMax) io.err.write(`line ${lineNumber}: ${line.reason}; not stored\n`);
        continue;
      }
      const size = Buffer.byteLength(text);
      if (batch.length >= importBatchOps || (batch.length > 0 && batchBytes + size > importBatchBytes)) await flush();
      batch.push({ lineNumber, key: line.key, value: line.value, bytes: size });
      batchBytes += size;
      progress.update(lineNumber, bytes);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== undefined && !(error instanceof RingkvError)) {
      throw new CommandFailure(exitCodes.usage, `cannot read ${file} (${(error as NodeJS.ErrnoException).code}); nothing more was imported`);
    }
    throw error;
  }
  await flush();
  progress.update(lineNumber, bytes, 'done', true);
  progress.finish();
  io.out.write(`imported ${tally.stored} keys from ${file === '-' ? 'stdin' : file}; ${tally.badLines} bad lines not stored; ${tally.failedWrites} writes failed\n`);
  if (tally.writeExitCode !== undefined) return tally.writeExitCode;
  return tally.badLines > 0 ? exitCodes.usage : exitCodes.ok;
}

/** Sends the puts of one batch; a batch the node finds too large goes one put at a time. */
async function storeBatch(client: RingkvClient, batch: readonly PendingPut[], tally: ImportTally, io: CommandOutput): Promise<void> {
  if (batch.length === 0) return;
  const ops: BatchOp[] = batch.map((put) => ({ op: 'put', key: put.key, value: put.value }));
  let answer: BatchAnswer;
  try {
    answer = await client.batch(ops);
  } catch (error) {
    if (!(error instanceof RingkvError) || error.status !== 413) throw error;
    if (batch.length > 1) {
      for (const put of batch) await storeBatch(client, [put], tally, io);
      return;
    }
    tally.failedWrites++;
    tally.writeExitCode ??= exitCodes.usage;
    io.err.write(`line ${(batch[0] as PendingPut).lineNumber}: not stored: ${error.problem.detail}\n`);
    return;
  }
  answer.results.forEach((result, i) => {
    const put = batch[i] as PendingPut;
    if (result.status === 200) {
      tally.stored++;
      return;
    }
    tally.failedWrites++;
    tally.writeExitCode ??= exitCodeOfStatus(result.status);
    const detail = 'detail' in result.body ? String(result.body.detail) : `status ${result.status}`;
    io.err.write(`line ${put.lineNumber}: key ${JSON.stringify(put.key)} not stored: ${detail}\n`);
  });
}

async function countLines(file: string): Promise<number> {
  let count = 0;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) count++;
  } catch (error) {
    throw new CommandFailure(exitCodes.usage, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return count;
}
