// Space reserved ahead of LMDB in its data file (docs/architecture.md, "Disk full").
//
// LMDB must never meet a full disk in the middle of a commit. With its write map, a page
// it cannot back kills the process with SIGBUS; without it, lmdb-js reports the failed
// write through a path that overruns a heap buffer (its error text is longer than the
// buffer it mallocs) and the process aborts soon after. So the node keeps the file
// allocated ahead of what LMDB uses: it writes zeros past LMDB's last page (pages LMDB
// neither reads nor has written), and admits a commit only when the pages that commit can
// add fit in that allocated stretch. Overwriting allocated blocks needs no new space on
// ext4, xfs and tmpfs, so a full disk shows up here, as a refusal, before LMDB runs.
// Copy-on-write filesystems (btrfs, zfs) allocate on every write: there this is a best effort.
//
// The engine grows the reserve with `ensureAsync`, off the event loop: under a flood of
// large writes the kernel throttles writers of dirty pages, and a synchronous write of MiBs
// of zeros then stopped the node's event loop for hundreds of ms (issue 13).
import { closeSync, fstatSync, openSync, statfsSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FilesystemSpace {
  /** Bytes an unprivileged process may still allocate. */
  freeBytes: number;
  totalBytes: number;
}

export function filesystemSpace(path: string): FilesystemSpace {
  const stats = statfsSync(path);
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
}

export interface DataFileReserveOptions {
  /** LMDB's data file (data.mdb). */
  filePath: string;
  /** Bytes kept allocated ahead of LMDB once a commit needs more. */
  reserveBytes: number;
  /** Free space on the filesystem the reserve never takes. */
  marginBytes: number;
  /** Allocation unit; extensions are whole pages. */
  pageBytes: number;
  /** The filesystem's free space (statfs); a test may pass its own. */
  space?: (path: string) => FilesystemSpace;
}

/** Zeros are written a MiB at a time, so a full disk stops an extension within a MiB. */
const zeroChunk = Buffer.alloc(1024 * 1024);

export class DataFileReserve {
  private readonly options: DataFileReserveOptions;
  private readonly fd: number;
  private readonly space: (path: string) => FilesystemSpace;
  private allocatedEnd: number;
  private overruns = 0;

  /** `usedEndBytes`: where LMDB's last page ends; everything past it is free to overwrite. */
  constructor(options: DataFileReserveOptions, usedEndBytes: number) {
    this.options = options;
    this.space = options.space ?? filesystemSpace;
    this.fd = openSync(options.filePath, 'r+');
    this.allocatedEnd = usedEndBytes;
    // Take back what an earlier run reserved: rewriting blocks the file already holds needs
    // no free space, so a node restarted on a full disk still has its reserve for upkeep.
    // Where the file has holes (a store once written through a write map) this stops at
    // the first one the disk cannot fill.
    const reclaimEnd = Math.min(fstatSync(this.fd).size, usedEndBytes + options.reserveBytes);
    if (reclaimEnd > usedEndBytes) this.extend(reclaimEnd - usedEndBytes);
  }

  /** Bytes allocated past LMDB's last page. */
  headroomBytes(usedEndBytes: number): number {
    return Math.max(0, this.allocatedEnd - usedEndBytes);
  }

  /** Commits that grew the file past the reserve (an estimate was too small); 0 is expected. */
  get overrunCount(): number {
    return this.overruns;
  }

  /**
   * Makes sure `needBytes` past `usedEndBytes` are allocated, extending the stretch to a
   * full reserve beyond them when it is short. False when the disk has no room for them.
   * Throws what the filesystem throws other than "no space" (an I/O error).
   */
  ensure(usedEndBytes: number, needBytes: number): boolean {
    this.noteUsed(usedEndBytes);
    if (this.allocatedEnd - usedEndBytes >= needBytes) return true;
    this.extend(this.grantBytes(usedEndBytes, needBytes));
    return this.allocatedEnd - usedEndBytes >= needBytes;
  }

  /**
   * `ensure`, writing the zeros on libuv's threads. The caller makes sure nothing else
   * extends the file or writes past LMDB's end until it resolves (the engine commits one
   * batch at a time and calls this only between commits).
   */
  async ensureAsync(usedEndBytes: number, needBytes: number): Promise<boolean> {
    this.noteUsed(usedEndBytes);
    if (this.allocatedEnd - usedEndBytes >= needBytes) return true;
    await this.extendAsync(this.grantBytes(usedEndBytes, needBytes));
    return this.allocatedEnd - usedEndBytes >= needBytes;
  }

  /** Whole pages to add: up to a full reserve past what is needed, within the free space less the margin. */
  private grantBytes(usedEndBytes: number, needBytes: number): number {
    const { pageBytes, reserveBytes, marginBytes, filePath } = this.options;
    const wanted = usedEndBytes + needBytes + reserveBytes - this.allocatedEnd;
    const available = this.space(dirname(filePath)).freeBytes - marginBytes;
    return Math.floor(Math.min(wanted, Math.max(0, available)) / pageBytes) * pageBytes;
  }

  /** After a commit: LMDB's pages are allocated by LMDB's own writes, whatever the estimate said. */
  noteUsed(usedEndBytes: number): void {
    if (usedEndBytes <= this.allocatedEnd) return;
    this.overruns++;
    this.allocatedEnd = usedEndBytes;
  }

  close(): void {
    closeSync(this.fd);
  }

  private extend(bytes: number): void {
    const end = this.allocatedEnd + bytes;
    while (this.allocatedEnd < end) {
      const length = Math.min(zeroChunk.length, end - this.allocatedEnd);
      try {
        this.allocatedEnd += writeSync(this.fd, zeroChunk, 0, length, this.allocatedEnd);
      } catch (error) {
        if (isNoSpace(error)) return;
        throw error;
      }
    }
  }

  private async extendAsync(bytes: number): Promise<void> {
    const end = this.allocatedEnd + bytes;
    while (this.allocatedEnd < end) {
      const length = Math.min(zeroChunk.length, end - this.allocatedEnd);
      try {
        this.allocatedEnd += await writeZeros(this.fd, length, this.allocatedEnd);
      } catch (error) {
        if (isNoSpace(error)) return;
        throw error;
      }
    }
  }
}

function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function writeZeros(fd: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, zeroChunk, 0, length, position, (error, written) => (error ? reject(error) : resolve(written))));
}
