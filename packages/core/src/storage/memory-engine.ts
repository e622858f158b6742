// An in-memory Engine for tests, the simulator and `--storage memory`. Keys are kept in a
// Map; the sorted key list for scans is rebuilt only after new keys arrive.
//
// Its ring index (storage/ring-order.ts) costs one slot per key, shared with the Map: each
// slot is filed in its fixed bucket, and each bucket keeps the XOR of its keys' version
// hashes, updated with every apply and discard. A bucket holds a handful of keys, so it
// sorts them into ring order only when a walk reaches it after new ones arrived: a write
// never re-sorts the whole circle, and a range's digest reads whole buckets in O(1) each.
import type {
  ApplyOutcome,
  Engine,
  KeyVersion,
  PurgeableEntry,
  PurgeableOptions,
  RingKeyEntry,
  RingScanEntry,
  RingScanOptions,
  ScanEntry,
  ScanOptions,
} from './engine.js';
import { goneAt, supersedes, type StoredRecord } from './record.js';
import { arcSpans, compareRingOrder, coverArc, ringBucketOf, versionHash, type RangeSummary, type RingCursor, type TokenSpan } from './ring-order.js';
import { compareUtf8 } from '../keys.js';
import type { KeyHasher } from '../ring/hash.js';

/** One stored key: its record and its place in ring order. */
interface Slot {
  readonly key: string;
  readonly token: number;
  record: StoredRecord;
  /** storage/ring-order.ts, versionHash, of `record`. */
  versionHash: number;
}

interface Bucket {
  slots: Slot[];
  /** Whether `slots` is in ring order (it is not after a key was added). */
  sorted: boolean;
  /** XOR of the slots' version hashes. */
  digest: number;
}

export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const;
  private readonly hash: KeyHasher;
  private readonly slots = new Map<string, Slot>();
  /** By bucket number, only those holding keys (a simulator run makes many small engines). */
  private readonly buckets = new Map<number, Bucket>();
  private sortedKeys: string[] | null = [];
  /** Tombstones and values with a ttl… */
  private readonly goneSlots = new Set<Slot>();
  /** …in purgeable order (goneAt, key), rebuilt when one of them changed. */
  private goneOrder: Slot[] | null = [];
  private live = 0;
  private closed = false;

  /** `hash` is the ring's: a key's token is hash(key). */
  constructor(hash: KeyHasher) {
    this.hash = hash;
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    this.assertOpen();
    return this.slots.get(key)?.record;
  }

  async applyBatch(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<ApplyOutcome[]> {
    this.assertOpen();
    return entries.map(([key, record]) => this.store(key, record));
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    this.assertOpen();
    return this.store(key, record);
  }

  private store(key: string, record: StoredRecord): ApplyOutcome {
    const slot = this.slots.get(key);
    const current = slot?.record;
    if (!supersedes(record, current)) return { applied: false, current: current as StoredRecord };
    const hash = versionHash(this.hash, key, record);
    if (slot === undefined) {
      const added: Slot = { key, token: this.hash(key), record, versionHash: hash };
      this.slots.set(key, added);
      this.file(added);
      this.noteGone(added, undefined);
      this.sortedKeys = null;
    } else {
      const bucket = this.buckets.get(ringBucketOf(slot.token)) as Bucket;
      bucket.digest = (bucket.digest ^ slot.versionHash ^ hash) >>> 0;
      slot.record = record;
      slot.versionHash = hash;
      this.noteGone(slot, current);
    }
    this.live += liveDelta(current, record);
    return { applied: true, current: record };
  }

  async scan(options: ScanOptions): Promise<ScanEntry[]> {
    this.assertOpen();
    const keys = this.keysInOrder();
    const prefix = options.prefix ?? '';
    const start = options.after !== undefined && compareUtf8(options.after, prefix) > 0 ? options.after : prefix;
    let index = lowerBound(keys, start);
    if (options.after !== undefined && keys[index] === options.after) index++;
    const entries: ScanEntry[] = [];
    for (; index < keys.length && entries.length < options.limit; index++) {
      const key = keys[index] as string;
      if (!key.startsWith(prefix)) break;
      entries.push({ key, record: (this.slots.get(key) as Slot).record });
    }
    return entries;
  }

  async discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    this.assertOpen();
    const removed: ScanEntry[] = [];
    for (const { key, hlc, nodeId } of entries) {
      const slot = this.slots.get(key);
      if (slot === undefined || slot.record.hlc !== hlc || slot.record.nodeId !== nodeId) continue;
      this.slots.delete(key);
      this.unfile(slot);
      if (this.goneSlots.delete(slot)) this.goneOrder = null;
      if (!slot.record.tombstone) this.live--;
      this.sortedKeys = null;
      removed.push({ key, record: slot.record });
    }
    return removed;
  }

  async ringScan(options: RingScanOptions): Promise<RingScanEntry[]> {
    this.assertOpen();
    const entries: RingScanEntry[] = [];
    if (options.limit > 0) this.walk(options, (slot) => entries.push({ key: slot.key, token: slot.token, record: slot.record }) < options.limit);
    return entries;
  }

  async ringKeys(options: RingScanOptions): Promise<RingKeyEntry[]> {
    this.assertOpen();
    const entries: RingKeyEntry[] = [];
    if (options.limit > 0) this.walk(options, (slot) => entries.push({ key: slot.key, token: slot.token, versionHash: slot.versionHash }) < options.limit);
    return entries;
  }

  async summarize(start: number, end: number): Promise<RangeSummary> {
    this.assertOpen();
    const cover = coverArc(start, end);
    let digest = 0;
    let keys = 0;
    for (const { first, last } of cover.buckets) {
      for (const bucket of this.bucketsBetween(first, last)) {
        digest ^= bucket.digest;
        keys += bucket.slots.length;
      }
    }
    for (const edge of cover.edges) {
      for (const bucket of this.bucketsBetween(ringBucketOf(edge.lo), ringBucketOf(edge.hi))) {
        for (const slot of bucket.slots) {
          if (slot.token < edge.lo || slot.token > edge.hi) continue;
          digest ^= slot.versionHash;
          keys++;
        }
      }
    }
    return { digest: digest >>> 0, keys };
  }

  async purgeable(options: PurgeableOptions): Promise<PurgeableEntry[]> {
    this.assertOpen();
    const order = this.goneInOrder();
    let index = 0;
    const after = options.after;
    if (after !== undefined) {
      let high = order.length;
      while (index < high) {
        const middle = (index + high) >>> 1;
        if (compareGone(order[middle] as Slot, after) <= 0) index = middle + 1;
        else high = middle;
      }
    }
    const entries: PurgeableEntry[] = [];
    for (; index < order.length && entries.length < options.limit; index++) {
      const { key, record } = order[index] as Slot;
      const gone = goneAt(record) as number;
      if (gone >= options.below) break;
      entries.push({ key, hlc: record.hlc, nodeId: record.nodeId, goneAt: gone, tombstone: record.tombstone });
    }
    return entries;
  }

  keyCount(): number {
    return this.slots.size;
  }

  liveCount(): number {
    return this.live;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Calls `visit` on each slot of the arc in walk order (engine.ts, RingOrderedEngine),
   * resuming after `options.after`, until it returns false.
   */
  private walk(options: RingScanOptions, visit: (slot: Slot) => boolean): void {
    const spans = arcSpans(options.start, options.end);
    const after = options.after;
    let first = 0;
    if (after !== undefined) {
      first = spans.findIndex((span) => after.token >= span.lo && after.token <= span.hi);
      // A cursor outside the arc has nothing after it in the arc (engine-compliance.ts).
      if (first < 0) return;
    }
    for (let index = first; index < spans.length; index++) {
      if (!this.walkSpan(spans[index] as TokenSpan, index === first ? after : undefined, visit)) return;
    }
  }

  /** `walk` over one span; false once `visit` asked to stop. */
  private walkSpan(span: TokenSpan, after: RingCursor | undefined, visit: (slot: Slot) => boolean): boolean {
    for (const bucket of this.bucketsBetween(ringBucketOf(after?.token ?? span.lo), ringBucketOf(span.hi))) {
      if (!bucket.sorted) {
        bucket.slots.sort(compareRingOrder);
        bucket.sorted = true;
      }
      for (const slot of bucket.slots) {
        if (slot.token < span.lo || slot.token > span.hi) continue;
        if (after !== undefined && compareRingOrder(slot, after) <= 0) continue;
        if (!visit(slot)) return false;
      }
    }
    return true;
  }

  /** The buckets numbered first..last that hold keys, in order. */
  private bucketsBetween(first: number, last: number): Bucket[] {
    const found: Bucket[] = [];
    if (this.buckets.size > last - first) {
      for (let number = first; number <= last; number++) {
        const bucket = this.buckets.get(number);
        if (bucket !== undefined) found.push(bucket);
      }
      return found;
    }
    // Fewer buckets hold keys than the run has: pick them out rather than look up each number.
    const numbers: number[] = [];
    for (const number of this.buckets.keys()) if (number >= first && number <= last) numbers.push(number);
    numbers.sort((a, b) => a - b);
    for (const number of numbers) found.push(this.buckets.get(number) as Bucket);
    return found;
  }

  private file(slot: Slot): void {
    const number = ringBucketOf(slot.token);
    let bucket = this.buckets.get(number);
    if (bucket === undefined) {
      bucket = { slots: [], sorted: true, digest: 0 };
      this.buckets.set(number, bucket);
    }
    bucket.slots.push(slot);
    bucket.sorted = bucket.slots.length === 1;
    bucket.digest = (bucket.digest ^ slot.versionHash) >>> 0;
  }

  private unfile(slot: Slot): void {
    const number = ringBucketOf(slot.token);
    const bucket = this.buckets.get(number) as Bucket;
    // Removing one keeps the others in their order.
    bucket.slots.splice(bucket.slots.indexOf(slot), 1);
    bucket.digest = (bucket.digest ^ slot.versionHash) >>> 0;
    if (bucket.slots.length === 0) this.buckets.delete(number);
  }

  /** Keeps the purgeable set in step after `slot` changed from `previous`. */
  private noteGone(slot: Slot, previous: StoredRecord | undefined): void {
    const was = previous !== undefined && goneAt(previous) !== undefined;
    const is = goneAt(slot.record) !== undefined;
    if (!was && !is) return;
    if (is) this.goneSlots.add(slot);
    else this.goneSlots.delete(slot);
    this.goneOrder = null;
  }

  private goneInOrder(): Slot[] {
    this.goneOrder ??= [...this.goneSlots].sort((a, b) => compareGone(a, { goneAt: goneAt(b.record) as number, key: b.key }));
    return this.goneOrder;
  }

  private keysInOrder(): string[] {
    if (this.sortedKeys === null) this.sortedKeys = [...this.slots.keys()].sort(compareUtf8);
    return this.sortedKeys;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the memory engine is closed');
  }
}

/** Purgeable order: by the time the record is gone, then by key bytes. */
function compareGone(slot: Slot, place: { goneAt: number; key: string }): number {
  const gone = goneAt(slot.record) as number;
  if (gone !== place.goneAt) return gone < place.goneAt ? -1 : 1;
  return compareUtf8(slot.key, place.key);
}

/** How the live-key count changes when `next` replaces `previous`. */
export function liveDelta(previous: Pick<StoredRecord, 'tombstone'> | undefined, next: Pick<StoredRecord, 'tombstone'>): number {
  const wasLive = previous !== undefined && !previous.tombstone;
  if (wasLive === !next.tombstone) return 0;
  return next.tombstone ? -1 : 1;
}

function lowerBound(keys: readonly string[], target: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareUtf8(keys[middle] as string, target) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
