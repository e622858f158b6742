// "Update only if unchanged" in the key explorer: which condition a write carries (If-Match
// with the version the explorer loaded, or If-None-Match: * when the key was absent), and
// the sentence for a write the node refused because the key changed meanwhile (HTTP 412).

/** What the explorer last read for a key: its version, or null when the key was absent or deleted. */
export interface LoadedVersion {
  key: string;
  version: string | null;
}

export type WriteCondition = { kind: 'if-match'; version: string } | { kind: 'if-absent' };

/** The condition that makes a write apply only if the key is as it was loaded. */
export function conditionFor(loaded: LoadedVersion): WriteCondition {
  return loaded.version === null ? { kind: 'if-absent' } : { kind: 'if-match', version: loaded.version };
}

/** The checkbox label: what "unchanged" means for the loaded key. */
export function unchangedLabel(loaded: LoadedVersion): string {
  return loaded.version === null ? 'Only if still absent (as when loaded)' : `Only if unchanged since loaded (version ${loaded.version})`;
}

interface RefusedCondition {
  status: number;
  problem: { currentVersion?: unknown; deleted?: unknown };
}

/** True for a client error carrying a 412 problem (RingkvPreconditionFailedError, or its shape). */
export function isConditionRefused(error: unknown): error is RefusedCondition {
  if (typeof error !== 'object' || error === null || !('status' in error) || !('problem' in error)) return false;
  const { status, problem } = error as { status: unknown; problem: unknown };
  return status === 412 && typeof problem === 'object' && problem !== null;
}

/** One sentence on a refused "only if unchanged" write: what was loaded, what the key holds now, what to do. */
export function describeConditionRefused(error: RefusedCondition, loaded: LoadedVersion): string {
  const current = typeof error.problem.currentVersion === 'string' ? error.problem.currentVersion : null;
  const was = loaded.version === null ? 'was absent when you loaded it' : `was at version ${loaded.version} when you loaded it`;
  const now = current === null ? 'is absent now' : error.problem.deleted === true ? `has been deleted since (tombstone ${current})` : `holds version ${current} now`;
  return `Not written: the key changed. It ${was} and ${now}. Nothing was stored; the current state is shown below. Check it, then try again.`;
}
