// The sending side of a ring transition: the records the asking member takes over lie in
// the arcs where this node sends it keys (ring/placement.ts, sendingArcs), so one request
// walks only those arcs of the engine's ring index, in ring order, and returns everything
// it walks, up to a batch's bytes (storage/ring-order.ts; docs/design.md, "Membership and ring").
// A batch is walked a page at a time, paced by this node's budget between pages and after
// the last: the source serves clients meanwhile (a whole batch walked at once held its event
// loop for 50-170 ms, issue 14), and only its own walking counts as work, not the turns its
// clients took in between (pacedForPeers in cluster-node.ts leaves these requests alone).
import type { BackgroundPace } from '../clock/background-budget.js';
import type { Clock } from '../clock/clock.js';
import { valueBytesOf } from '../cluster/key-scan.js';
import { transferBatchBytesMax, transferBatchWallMsMax, transferRecordsPerBatchMax, transferTotalRefreshMs } from '../limits.js';
import type { TransferBatchReply, TransferScanRequest } from '../protocol/messages.js';
import { sendingArcs, type Placement } from '../ring/placement.js';
import type { RingArc } from '../ring/ring.js';
import type { Engine } from '../storage/engine.js';
import { arcSpans, type RingCursor, type TokenSpan } from '../storage/ring-order.js';
import type { StoredRecord } from '../storage/record.js';
import { tokenSpace } from '../ring/ring.js';

/** Entries read from the engine per call while a batch is gathered (a few ms of work), with a paced turn of the event loop between calls. */
const walkPage = 500;
/** What a record costs a message beside its key, node id and value: its version, flags and framing. */
const recordOverheadBytes = 24;

export interface TransferSourceDeps {
  selfId: string;
  placement(): Placement;
  engine: Engine;
  /** Paces the walk by its own work, a turn between pages and a pause after the last; without it the pages follow one another at once. */
  pace?: { budget: BackgroundPace; clock: Clock };
  /** Keeps each asker's total a while (SendingTotals); counted again for every batch without it. */
  totals?: SendingTotals;
}

/**
 * The keys this node sends each asking member in a transition, the `total` of every batch
 * it answers (the asker's progress): counted from the engine's bucket digests and the rows
 * at the arcs' edges, which takes tens of milliseconds of the event loop at once over a
 * few hundred arcs. Asked for every batch, that was a long task on the source for each
 * 256 KiB it sent; so a count is kept for `refreshMs`, per asker and transition.
 */
export class SendingTotals {
  private readonly counted = new Map<string, { of: string; total: number; atMs: number }>();
  private readonly nowMs: () => number;
  private readonly refreshMs: number;

  constructor(nowMs: () => number, refreshMs = transferTotalRefreshMs) {
    this.nowMs = nowMs;
    this.refreshMs = refreshMs;
  }

  /** The total for `forNode` over what `of` names (transition and unavailable members), counted by `count` when not kept or kept too long. */
  async of(forNode: string, of: string, count: () => Promise<number>): Promise<number> {
    const kept = this.counted.get(forNode);
    const nowMs = this.nowMs();
    if (kept !== undefined && kept.of === of && nowMs - kept.atMs < this.refreshMs) return kept.total;
    const total = await count();
    this.counted.set(forNode, { of, total, atMs: nowMs });
    return total;
  }
}

export async function transferBatchFor(request: TransferScanRequest, deps: TransferSourceDeps): Promise<TransferBatchReply> {
  const placement = deps.placement();
  if (placement.read.fingerprint !== request.readRing || placement.target.fingerprint !== request.targetRing) {
    return { type: 'transferBatch', ringsMatch: false, entries: [], next: request.after, scanned: 0, total: 0 };
  }
  const batchStartedAtMs = deps.pace?.clock.nowMs() ?? 0;
  let workStartedAtMs = batchStartedAtMs;
  const arcs = sendingArcs(placement.read, placement.target, deps.selfId, request.forNode, new Set(request.unavailable));
  const count = async () => {
    let keys = 0;
    for (const arc of arcs) keys += (await deps.engine.summarize(arc.start, arc.end)).keys;
    return keys;
  };
  const total = deps.totals === undefined ? await count() : await deps.totals.of(request.forNode, `${placement.transition} ${[...request.unavailable].sort().join(',')}`, count);
  const limit = Math.max(1, Math.min(request.limit, transferRecordsPerBatchMax));
  const entries: Array<[string, StoredRecord]> = [];
  let bytes = 0;
  const reply = (next: RingCursor | null): TransferBatchReply => ({ type: 'transferBatch', ringsMatch: true, entries, next, scanned: entries.length, total });
  const after = request.after ?? undefined;
  // The arcs' spans in ring order: a cursor is a place in ring order, whichever arc it is in.
  const spans = arcs.flatMap((arc) => arcSpans(arc.start, arc.end)).sort((a, b) => a.lo - b.lo);
  let walkedSinceTurn = 0;
  let last: RingCursor | undefined;
  for (const span of spans) {
    if (after !== undefined && after.token > span.hi) continue;
    let cursor = after !== undefined && after.token >= span.lo ? after : undefined;
    for (;;) {
      if (walkedSinceTurn >= walkPage && deps.pace !== undefined) {
        await deps.pace.budget.turn(workStartedAtMs);
        workStartedAtMs = deps.pace.clock.nowMs();
        walkedSinceTurn = 0;
        // Paced hard (a busy source), a batch ends early rather than outlast the asker's timeout.
        if (last !== undefined && workStartedAtMs - batchStartedAtMs >= transferBatchWallMsMax) return reply(last);
      }
      const wanted = Math.min(walkPage, limit - entries.length);
      const page = await deps.engine.ringScan({ ...arcOf(span), limit: wanted, ...(cursor !== undefined ? { after: cursor } : {}) });
      walkedSinceTurn += page.length;
      for (const { key, token, record } of page) {
        entries.push([key, record]);
        bytes += batchBytesOf(key, record);
        cursor = { token, key };
        last = cursor;
        if (entries.length >= limit || bytes >= transferBatchBytesMax) {
          await deps.pace?.budget.pause(workStartedAtMs);
          return reply(cursor);
        }
      }
      if (page.length < wanted) break;
    }
  }
  await deps.pace?.budget.pause(workStartedAtMs);
  return reply(null);
}

/** The arc (start, end] that is exactly the span [lo, hi] (a span starting at token 0 is the arc from the top). */
function arcOf(span: TokenSpan): RingArc {
  return { start: span.lo === 0 ? tokenSpace - 1 : span.lo - 1, end: span.hi };
}

/** About what one record adds to a batch's frame. */
function batchBytesOf(key: string, record: StoredRecord): number {
  return key.length + record.nodeId.length + valueBytesOf(record) + recordOverheadBytes;
}
