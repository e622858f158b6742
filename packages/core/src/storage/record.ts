// A stored record and its version order (docs/design.md, "The request path"): a version is a
// hybrid logical clock timestamp plus the writer's node id, and the larger version wins on
// every replica, so replicas that saw the same writes in any order agree.

export interface StoredRecord {
  /** Any JSON value; undefined for a tombstone. */
  value: unknown;
  /** Hybrid logical clock timestamp of the write (see clock/hlc.ts). */
  hlc: number;
  /** The node that coordinated the write: breaks ties between equal timestamps. */
  nodeId: string;
  /** A delete is a tombstone, kept so that older copies cannot come back. */
  tombstone: boolean;
}

/** Negative when `a` is older than `b`, zero when they are the same version. */
export function compareVersions(a: Pick<StoredRecord, 'hlc' | 'nodeId'>, b: Pick<StoredRecord, 'hlc' | 'nodeId'>): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  return a.nodeId < b.nodeId ? -1 : 1;
}

/** True when `candidate` should replace `current` (it is strictly newer, or nothing is stored). */
export function supersedes(candidate: StoredRecord, current: StoredRecord | undefined): boolean {
  return current === undefined || compareVersions(candidate, current) > 0;
}

/** The newest of several records (undefined entries are replicas holding nothing). */
export function newestOf(records: ReadonlyArray<StoredRecord | undefined>): StoredRecord | undefined {
  let newest: StoredRecord | undefined;
  for (const record of records) {
    if (record !== undefined && supersedes(record, newest)) newest = record;
  }
  return newest;
}

/** The version as users see it (JSON field and ETag): `<hlc>-<nodeId>`. */
export function formatVersion(record: Pick<StoredRecord, 'hlc' | 'nodeId'>): string {
  return `${record.hlc}-${record.nodeId}`;
}

export function parseVersion(text: string): Pick<StoredRecord, 'hlc' | 'nodeId'> | undefined {
  const dash = text.indexOf('-');
  if (dash <= 0) return undefined;
  const hlc = Number(text.slice(0, dash));
  const nodeId = text.slice(dash + 1);
  if (!Number.isSafeInteger(hlc) || hlc < 0 || nodeId.length === 0) return undefined;
  return { hlc, nodeId };
}
