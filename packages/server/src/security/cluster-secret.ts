// The cluster secret file (`--cluster-secret-file`, docs/security.md "Peers"): peers prove
// they know the secret before anything they send is believed. The secret lives in a file
// rather than on a command line because /proc/<pid>/cmdline shows every process's
// arguments to every local user. While a secret is rotated the file holds two lines, the
// new one first: a node proves with the first and accepts either, so nodes move to the
// new secret one at a time and the old line is dropped once all have it.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createFileExclusive, privateFileMode } from './atomic-file.js';

/** Shorter secrets are refused: a guessable secret is no secret. */
export const clusterSecretLengthMin = 16;
/** One secret, or two while rotating (new, then old). */
const clusterSecretLinesMax = 2;
const generatedSecretBytes = 32;

export interface ClusterSecrets {
  /** The one to prove with first; either is accepted. */
  secrets: string[];
  /** For the log and /node-info: e.g. the file is readable by other users. */
  warnings: string[];
}

/** Reads and checks the file. Throws an Error naming the file and the fix. */
export function readClusterSecrets(path: string): ClusterSecrets {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new Error(`cannot read the cluster secret file ${path}: ${why}`);
  }
  const secrets = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (secrets.length === 0) throw new Error(`the cluster secret file ${path} is empty: put one secret of at least ${clusterSecretLengthMin} characters in it (e.g. \`openssl rand -hex 32\`)`);
  if (secrets.length > clusterSecretLinesMax) {
    throw new Error(`the cluster secret file ${path} has ${secrets.length} lines: it holds one secret, or two while rotating (the new one first, then the old one)`);
  }
  secrets.forEach((secret, index) => {
    if (secret.length < clusterSecretLengthMin) {
      throw new Error(`line ${index + 1} of the cluster secret file ${path} is ${secret.length} characters long: a secret needs at least ${clusterSecretLengthMin} (e.g. \`openssl rand -hex 32\`)`);
    }
  });
  const warning = permissionWarning(path);
  return { secrets, warnings: warning === null ? [] : [warning] };
}

/** A warning when the file is readable or writable by group or others (on POSIX), else null. */
function permissionWarning(path: string): string | null {
  if (process.platform === 'win32') return null;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  return `the cluster secret file ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users may read it; run \`chmod 600 ${path}\``;
}

/** Creates the file with a random 32-byte hex secret, mode 0600, unless it exists. Returns whether it created it. */
export function ensureClusterSecretFile(path: string): boolean {
  return createFileExclusive(path, `${randomBytes(generatedSecretBytes).toString('hex')}\n`, privateFileMode);
}
