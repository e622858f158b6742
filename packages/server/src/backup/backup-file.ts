// The backup file (`ringkv backup`, `ringkv restore`): newline-delimited JSON, readable with
// any JSON tool. The first line is the header (format name and version, the cluster, the
// cut), then one line per record (backup-record.ts), then a trailer with the record count
// and the SHA-256 of every byte before the trailer line. A file is trusted only whole: a
// reader checks the header, every record's shape, the count and the checksum before it
// hands out a single record, so a truncated or altered file is refused with nothing done.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { backupRecordProblem, type BackupRecord } from './backup-record.js';

export const backupFormatName = 'ringkv-backup';
export const backupFormatVersion = 1;

export interface BackupHeader {
  format: typeof backupFormatName;
  formatVersion: number;
  clusterName: string;
  /** The node's HLC when the backup began (GET /admin/backup-cut): every write acknowledged before then is in the file, at its version or a newer one. */
  cutHlc: number;
  /** The wall-clock time of cutHlc, RFC 3339 UTC. */
  cutAt: string;
  /** The node that gave the cut and the records. */
  takenFrom: string;
}

export interface BackupTrailer {
  end: typeof backupFormatName;
  records: number;
  /** Hex SHA-256 of the header and record lines, newlines included: every byte before the trailer line. */
  sha256: string;
}

/** A backup file that cannot be trusted; `line` is 1-based, when one line is to blame. */
export class BackupFileError extends Error {
  readonly line: number | undefined;

  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'BackupFileError';
    this.line = line;
  }
}

/** Bytes the writer gathers before each write to the file. */
const writeChunkBytes = 1024 * 1024;

/**
 * Writes a backup to `<path>.partial` and renames it to `path` only once the trailer is on
 * disk (fsynced), so a backup that fails half-way never looks like a finished one.
 */
export class BackupWriter {
  private readonly hash: Hash = createHash('sha256');
  private pending: string[] = [];
  private pendingChars = 0;
  private recordCount = 0;
  private bytesWritten = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly path: string,
  ) {}

  static async create(path: string, header: Omit<BackupHeader, 'format' | 'formatVersion'>): Promise<BackupWriter> {
    const writer = new BackupWriter(await open(`${path}.partial`, 'w'), path);
    await writer.line(JSON.stringify({ format: backupFormatName, formatVersion: backupFormatVersion, ...header }));
    return writer;
  }

  get records(): number {
    return this.recordCount;
  }

  /** Bytes handed to the writer so far (header and records). */
  get bytes(): number {
    return this.bytesWritten;
  }

  async add(record: BackupRecord): Promise<void> {
    this.recordCount++;
    await this.line(JSON.stringify(record));
  }

  /** Writes the trailer, syncs, and puts the file in place; resolves with the trailer. */
  async finish(): Promise<BackupTrailer> {
    await this.flush();
    const trailer: BackupTrailer = { end: backupFormatName, records: this.recordCount, sha256: this.hash.digest('hex') };
    await this.file.write(`${JSON.stringify(trailer)}\n`);
    await this.file.sync();
    await this.file.close();
    await rename(`${this.path}.partial`, this.path);
    return trailer;
  }

  /** Closes and deletes the partial file (the backup failed). */
  async abandon(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
  }

  private async line(text: string): Promise<void> {
    const line = `${text}\n`;
    this.hash.update(line);
    this.bytesWritten += Buffer.byteLength(line);
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= writeChunkBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    await this.file.write(text);
  }
}

/** One line of a file: its bytes without the newline, and whether a newline ended it. */
interface FileLine {
  bytes: Buffer;
  terminated: boolean;
  /** Bytes of the file read so far, this line included. */
  offset: number;
}

/** Lines of a file, read in chunks (a line longer than memory allows is the caller's limit to set). */
async function* fileLines(path: string, lineBytesMax: number): AsyncGenerator<FileLine> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let offset = 0;
  let lineNumber = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, newline);
      const bytes = carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
      carryBytes = 0;
      offset += bytes.length + 1;
      lineNumber++;
      yield { bytes, terminated: true, offset };
      start = newline + 1;
    }
    if (start < chunk.length) {
      carry.push(chunk.subarray(start));
      carryBytes += chunk.length - start;
      if (carryBytes > lineBytesMax) throw new BackupFileError(`longer than ${lineBytesMax} bytes: this is not a ringkv backup, or it is damaged`, lineNumber + 1);
    }
  }
  if (carryBytes > 0) {
    offset += carryBytes;
    yield { bytes: Buffer.concat(carry), terminated: false, offset };
  }
}

/** A line of a file longer than this is refused (a record's value is bounded by the nodes' --max-value-bytes, at most 64 MiB). */
const backupLineBytesMax = 200 * 1024 * 1024;

export interface BackupSummary {
  header: BackupHeader;
  trailer: BackupTrailer;
  /** Bytes of the whole file. */
  bytes: number;
}

export interface VerifyProgress {
  (records: number, bytes: number): void;
}

/**
 * Reads the whole file and checks it: the header, the shape of every record, the trailer's
 * count and checksum, and that nothing follows the trailer. Resolves with the header and
 * trailer; rejects with a BackupFileError that says what is wrong and where.
 */
export async function verifyBackupFile(path: string, progress?: VerifyProgress): Promise<BackupSummary> {
  const hash = createHash('sha256');
  let header: BackupHeader | undefined;
  let held: FileLine | undefined;
  let lineNumber = 0;
  let records = 0;
  let bytes = 0;
  for await (const line of readable(path)) {
    // The line before this one is not the last: it is the header or a record.
    if (held !== undefined) {
      if (header === undefined) header = parseHeader(held.bytes);
      else {
        checkRecordLine(held.bytes, lineNumber);
        records++;
        if (records % 1000 === 0) progress?.(records, held.offset);
      }
      hash.update(held.bytes);
      hash.update('\n');
    }
    held = line;
    lineNumber++;
    bytes = line.offset;
  }
  if (held === undefined) throw new BackupFileError('the file is empty: not a ringkv backup');
  if (header === undefined) {
    parseHeader(held.bytes);
    throw new BackupFileError('the file ends after its header: it has no trailer, so the backup was cut short (truncated)');
  }
  const trailer = parseTrailer(held, lineNumber, records, hash.digest('hex'));
  progress?.(records, bytes);
  return { header, trailer, bytes };
}

/** The lines of `path`; a missing or unreadable file is a BackupFileError. */
async function* readable(path: string): AsyncGenerator<FileLine> {
  try {
    yield* fileLines(path, backupLineBytesMax);
  } catch (error) {
    if (error instanceof BackupFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupFileError(`cannot read ${path} (${code ?? (error as Error).message})`);
  }
}

function parseJsonLine(bytes: Buffer, lineNumber: number, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new BackupFileError(`is not JSON, where ${what} should be: the file is damaged`, lineNumber);
  }
}

function parseHeader(bytes: Buffer): BackupHeader {
  const header = parseJsonLine(bytes, 1, 'the header') as Partial<BackupHeader> | null;
  if (header === null || typeof header !== 'object' || header.format !== backupFormatName) {
    throw new BackupFileError(`the header does not name the format "${backupFormatName}": this is not a ringkv backup (for plain {"key","value"} lines use \`ringkv import\`)`, 1);
  }
  if (header.formatVersion !== backupFormatVersion) {
    throw new BackupFileError(`the backup is format version ${String(header.formatVersion)}; this ringkv reads version ${backupFormatVersion}: restore it with the ringkv release that wrote it`, 1);
  }
  if (typeof header.clusterName !== 'string' || !Number.isSafeInteger(header.cutHlc) || typeof header.cutAt !== 'string' || typeof header.takenFrom !== 'string') {
    throw new BackupFileError('the header lacks clusterName, cutHlc, cutAt or takenFrom: the file is damaged', 1);
  }
  return header as BackupHeader;
}

function checkRecordLine(bytes: Buffer, lineNumber: number): BackupRecord {
  const record = parseJsonLine(bytes, lineNumber, 'a record');
  if ((record as Partial<BackupTrailer> | null)?.end === backupFormatName) {
    throw new BackupFileError('the trailer is followed by more lines: something was appended after the backup was written', lineNumber);
  }
  const problem = backupRecordProblem(record);
  if (problem !== null) throw new BackupFileError(`not a backup record: ${problem}`, lineNumber);
  return record as BackupRecord;
}

function parseTrailer(line: FileLine, lineNumber: number, records: number, sha256: string): BackupTrailer {
  const truncated = 'the file does not end with its trailer, so the backup was cut short (truncated) or damaged';
  if (!line.terminated) throw new BackupFileError(truncated, lineNumber);
  let trailer: Partial<BackupTrailer> | null;
  try {
    trailer = JSON.parse(line.bytes.toString('utf8')) as Partial<BackupTrailer> | null;
  } catch {
    throw new BackupFileError(truncated, lineNumber);
  }
  if (trailer === null || typeof trailer !== 'object' || trailer.end !== backupFormatName) throw new BackupFileError(truncated, lineNumber);
  if (trailer.records !== records) {
    throw new BackupFileError(`the trailer counts ${String(trailer.records)} records but the file holds ${records}: records were lost or added`, lineNumber);
  }
  if (trailer.sha256 !== sha256) {
    throw new BackupFileError('the SHA-256 of the file does not match its trailer: the file was altered or damaged after it was written', lineNumber);
  }
  return trailer as BackupTrailer;
}

/**
 * The records of a file that verifyBackupFile accepted, in order. Each line is checked
 * again as it is read, so a file changed since it was verified fails rather than feeds
 * unchecked records.
 */
export async function* backupRecords(path: string): AsyncGenerator<BackupRecord> {
  let lineNumber = 0;
  let previous: FileLine | undefined;
  for await (const line of readable(path)) {
    lineNumber++;
    // Each line is yielded once the next is seen: the last one is the trailer.
    if (previous !== undefined && lineNumber > 2) yield checkRecordLine(previous.bytes, lineNumber - 1);
    previous = line;
  }
}
