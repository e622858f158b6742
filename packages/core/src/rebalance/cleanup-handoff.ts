// Before a node drops keys it no longer owns (the cleanup after a ring change,
// rebalance/rebalancer.ts), it makes sure the key's replicas in the new ring hold it: it
// asks each available replica which versions it holds (`versions`, no values), pushes the
// records a replica lacks or holds older, and drops a key only once a majority of its
// replicas hold it or a newer version. A transfer pulls from the replicas a key leaves,
// but one that was unavailable while the transfer ran (a crash, a partition, a
// suspicion it could not refute) may hold a write no other replica has, acknowledged at
// W=1, or with the others' copies lost: dropped unseen, that write would be lost. Riak's
// handoff works the same way round: the old owner hands its data on before it lets go.
import { compareVersions, type StoredRecord } from '../storage/record.js';
import type { ScanEntry } from '../storage/engine.js';
import type { Ring } from '../ring/ring.js';
import type { Transport } from '../protocol/transport.js';

/** What a cleanup drops: what handOff confirms (the default), or a planted bug (testing/). */
export type CleanupHandoff = (foreign: readonly ScanEntry[], ring: Ring, deps: CleanupHandoffDeps) => Promise<ScanEntry[]>;

export interface CleanupHandoffDeps {
  selfId: string;
  transport: Transport;
  addressOf(nodeId: string): string | undefined;
  /** Worth asking: not known to be down. */
  isAvailable(nodeId: string): boolean;
  /** How long one replica may take to answer. */
  timeoutMs: number;
  /** This node's HLC now, stamped on pushes (the receiver's tombstone watermark check). */
  nowHlc(): number;
}

/**
 * The entries among `foreign` (keys this node holds outside its ranges in `ring`) that a
 * majority of their replicas in `ring` now hold at the same or a newer version: those may
 * be dropped. The rest stay for a later pass.
 */
export async function handOff(foreign: readonly ScanEntry[], ring: Ring, deps: CleanupHandoffDeps): Promise<ScanEntry[]> {
  const holders = new Map<string, number>();
  const majorities = new Map<string, number>();
  const byReplica = new Map<string, ScanEntry[]>();
  for (const entry of foreign) {
    const replicas = ring.preferenceList(entry.key);
    majorities.set(entry.key, Math.floor(replicas.length / 2) + 1);
    for (const nodeId of replicas) {
      if (nodeId === deps.selfId) continue;
      const list = byReplica.get(nodeId) ?? [];
      list.push(entry);
      byReplica.set(nodeId, list);
    }
  }
  await Promise.all(
    [...byReplica].map(async ([nodeId, entries]) => {
      for (const key of await confirmedOn(nodeId, entries, deps)) holders.set(key, (holders.get(key) ?? 0) + 1);
    }),
  );
  return foreign.filter((entry) => (holders.get(entry.key) ?? 0) >= (majorities.get(entry.key) ?? 1));
}

/** The keys of `entries` that `nodeId` holds at their version or newer, after pushing it those it lacked. */
async function confirmedOn(nodeId: string, entries: readonly ScanEntry[], deps: CleanupHandoffDeps): Promise<string[]> {
  const address = deps.addressOf(nodeId);
  if (address === undefined || !deps.isAvailable(nodeId)) return [];
  try {
    const reply = await deps.transport.request(address, { type: 'versions', keys: entries.map((entry) => entry.key) }, deps.timeoutMs);
    const held: string[] = [];
    const lacking: Array<[string, StoredRecord]> = [];
    entries.forEach((entry, i) => {
      const version = reply.versions[i];
      const theirs = version === null || version === undefined ? undefined : { hlc: version[0], nodeId: version[1] };
      if (theirs !== undefined && compareVersions(theirs, entry.record) >= 0) held.push(entry.key);
      else lacking.push([entry.key, entry.record]);
    });
    if (lacking.length === 0) return held;
    // Sent as hints: a record below the receiver's purge watermark is settled (every
    // replica verified it or what replaced it), so it is never needed, and taking it could
    // revive a key whose newer tombstone was purged; the receiver drops those. Otherwise
    // each is applied only where newer: once acknowledged, the replica holds the version,
    // a newer one, or knows it settled.
    await deps.transport.request(address, { type: 'pushRecords', entries: lacking, sentHlc: deps.nowHlc(), hinted: true }, deps.timeoutMs);
    return [...held, ...lacking.map(([key]) => key)];
  } catch {
    return []; // unreachable or refusing: its keys stay here for a later pass
  }
}
