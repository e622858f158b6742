// Files replaced atomically: the text goes to a temp file in the same folder, created
// with its final mode from the start (a key or token file is never readable by others,
// not even for a moment), flushed, then renamed over the target, so a reader never sees
// half a file and a crash leaves the old one whole.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Keys, secrets and token files: the owner only. */
export const privateFileMode = 0o600;
/** Certificates: public by nature. */
export const publicFileMode = 0o644;

export function writeFileAtomic(path: string, text: string, mode: number): void {
  const temporary = createTempFile(path, text, mode);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Like writeFileAtomic, but never replaces an existing file (a hard link fails when the
 * name is taken), so two processes creating the same file at once agree on one content.
 * Returns false when the file already existed.
 */
export function createFileExclusive(path: string, text: string, mode: number): boolean {
  const temporary = createTempFile(path, text, mode);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

function createTempFile(path: string, text: string, mode: number): string {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temporary, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  return temporary;
}
