// Per-range digests for anti-entropy (docs/design.md, "Repair": per-range digests). For every
// range between two ring tokens it keeps the version hash of each key held and an XOR of
// them: two replicas of a range hold the same records exactly when their digests (and key
// counts) match, up to a 2^-32 collision. XOR makes an update O(1): remove the old
// version's hash, add the new one. The index lives in memory (about 100 bytes a key) and
// is rebuilt by a scan whenever the ring changes. It also knows every tombstone's HLC, so
// tombstones below the purge watermark are found without a scan (repair/tombstone-purge.ts).
import type { KeyHasher } from '../ring/hash.js';
import type { Ring } from '../ring/ring.js';
import type { KeyVersion } from '../storage/engine.js';
import type { StoredRecord } from '../storage/record.js';
import { versionHash, type RangeSummary } from '../storage/ring-order.js';


export class RangeIndex {
  readonly ring: Ring;
  private readonly hash: KeyHasher;
  private readonly byRange: Array<Map<string, number>>;
  private readonly digests: Uint32Array;
  private readonly tombstoneVersions = new Map<string, KeyVersion>();
  /** Values written with a ttl, with their expiry: once expired they are purged like tombstones. */
  private readonly expiringVersions = new Map<string, KeyVersion & { expiresAt: number }>();
  /** Keys removed before the rebuild scan reached them: the scan must not add them back. */
  private readonly removedUnseen = new Set<string>();
  private keyCount = 0;

  constructor(ring: Ring, hash: KeyHasher) {
    this.ring = ring;
    this.hash = hash;
    this.byRange = Array.from({ length: ring.tokenCount }, () => new Map());
    this.digests = new Uint32Array(ring.tokenCount);
  }

  /** The hash of one key at one version. */
  versionHash(key: string, record: Pick<StoredRecord, 'hlc' | 'nodeId' | 'tombstone'>): number {
    return versionHash(this.hash, key, record);
  }

  /** Records that `key` now holds `next` (it held `previous` before). */
  update(key: string, previous: StoredRecord | undefined, next: StoredRecord): void {
    if (this.byRange.length === 0) return;
    const range = this.ring.rangeIndexOf(key);
    const keys = this.byRange[range] as Map<string, number>;
    const before = keys.get(key);
    const after = this.versionHash(key, next);
    let digest = this.digests[range] as number;
    if (before !== undefined) digest ^= before;
    else if (previous !== undefined) digest ^= this.versionHash(key, previous);
    this.digests[range] = (digest ^ after) >>> 0;
    if (before === undefined) this.keyCount++;
    keys.set(key, after);
    this.noteTombstone(key, next);
    this.removedUnseen.delete(key);
  }

  /** Records that `key` was removed from the engine. */
  remove(key: string): void {
    if (this.byRange.length === 0) return;
    const range = this.ring.rangeIndexOf(key);
    const keys = this.byRange[range] as Map<string, number>;
    const hash = keys.get(key);
    this.tombstoneVersions.delete(key);
    this.expiringVersions.delete(key);
    if (hash === undefined) {
      this.removedUnseen.add(key);
      return;
    }
    keys.delete(key);
    this.keyCount--;
    this.digests[range] = ((this.digests[range] as number) ^ hash) >>> 0;
  }

  /** Keys held in ranges of which `nodeId` is not a replica (left behind by a ring change). */
  keysOutside(nodeId: string): number {
    let count = 0;
    this.byRange.forEach((keys, range) => {
      if (keys.size > 0 && !this.ring.replicasOfRange(range).includes(nodeId)) count += keys.size;
    });
    return count;
  }

  /** Keys indexed (live and tombstones). */
  get size(): number {
    return this.keyCount;
  }

  /** Tombstones with an HLC below `watermark`, and values that expired below it: at most `limit` of them. */
  tombstonesBelow(watermark: number, limit: number): KeyVersion[] {
    const out: KeyVersion[] = [];
    for (const version of this.tombstoneVersions.values()) {
      if (out.length >= limit) return out;
      if (version.hlc < watermark) out.push(version);
    }
    for (const { key, hlc, nodeId, expiresAt } of this.expiringVersions.values()) {
      if (out.length >= limit) return out;
      if (expiresAt < watermark) out.push({ key, hlc, nodeId });
    }
    return out;
  }

  get tombstones(): number {
    return this.tombstoneVersions.size;
  }

  private noteTombstone(key: string, record: StoredRecord): void {
    if (record.tombstone) this.tombstoneVersions.set(key, { key, hlc: record.hlc, nodeId: record.nodeId });
    else this.tombstoneVersions.delete(key);
    if (!record.tombstone && record.expiresAt !== undefined) this.expiringVersions.set(key, { key, hlc: record.hlc, nodeId: record.nodeId, expiresAt: record.expiresAt });
    else this.expiringVersions.delete(key);
  }

  /** Adds a key found by the rebuild scan, unless a newer apply already put it here. */
  addScanned(key: string, record: StoredRecord): void {
    const range = this.ring.rangeIndexOf(key);
    const keys = this.byRange[range] as Map<string, number>;
    if (keys.has(key) || this.removedUnseen.has(key)) return;
    const hash = this.versionHash(key, record);
    keys.set(key, hash);
    this.keyCount++;
    this.noteTombstone(key, record);
    this.digests[range] = ((this.digests[range] as number) ^ hash) >>> 0;
  }

  summary(range: number): RangeSummary {
    return { digest: this.digests[range] ?? 0, keys: this.byRange[range]?.size ?? 0 };
  }

  /** Every key of a range with its version hash. */
  entries(range: number): Array<[string, number]> {
    return [...(this.byRange[range] ?? new Map<string, number>())];
  }
}
