// The sending side of a ring transition: one bounded scan of this node's keys in order,
// returning the records the asking member takes over (ring/placement.ts, sendsKey).
import type { TransferBatchReply, TransferScanRequest } from '../protocol/messages.js';
import { sendsKey, type Placement } from '../ring/placement.js';
import type { Engine } from '../storage/engine.js';
import type { StoredRecord } from '../storage/record.js';
import { recordsPerMessageMax } from '../limits.js';

/** Keys one request may walk, whatever it returns (bounds the time a request holds the node). */
export const transferScanMax = 5000;
const scanPage = 1000;

export interface TransferSourceDeps {
  selfId: string;
  placement(): Placement;
  engine: Engine;
  /** Keys (live and tombstones) this node holds. */
  totalKeys(): number;
}

export async function transferBatchFor(request: TransferScanRequest, deps: TransferSourceDeps): Promise<TransferBatchReply> {
  const placement = deps.placement();
  if (placement.read.fingerprint !== request.readRing || placement.target.fingerprint !== request.targetRing) {
    return { type: 'transferBatch', ringsMatch: false, entries: [], next: request.after, scanned: 0, total: 0 };
  }
  const limit = Math.max(1, Math.min(request.limit, recordsPerMessageMax));
  const unavailable = new Set(request.unavailable);
  const entries: Array<[string, StoredRecord]> = [];
  let after = request.after ?? undefined;
  let scanned = 0;
  const reply = (next: string | null): TransferBatchReply => ({ type: 'transferBatch', ringsMatch: true, entries, next, scanned, total: deps.totalKeys() });
  for (;;) {
    const wanted = Math.min(scanPage, transferScanMax - scanned);
    const page = await deps.engine.scan({ after, limit: wanted });
    for (const entry of page) {
      scanned++;
      after = entry.key;
      if (!sendsKey(placement.read, placement.target, entry.key, deps.selfId, request.forNode, unavailable)) continue;
      entries.push([entry.key, entry.record]);
      if (entries.length >= limit) return reply(after);
    }
    if (page.length < wanted) return reply(null);
    if (scanned >= transferScanMax) return reply(after ?? null);
  }
}
