// The ring-order part of the engine compliance suite (engine-compliance.ts; the contract
// is RingOrderedEngine in packages/core/src/storage/engine.ts). Each case drives an engine
// through applies, overwrites, tombstones, ttl values and discards while keeping a naive
// model of what it must hold, then compares every ring walk, summary and purge page with
// the same answer computed from the model by brute force.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  compareRingOrder,
  compareUtf8,
  goneAt,
  inArc,
  loadKeyHasher,
  ringBucketCount,
  SeededRng,
  supersedes,
  tokenSpace,
  versionHash,
  type Engine,
  type KeyHasher,
  type PurgeableEntry,
  type RingKeyEntry,
  type RingScanEntry,
  type RingScanOptions,
  type StoredRecord,
} from '@ringkv/core';


interface RingFactory {
  create(): Promise<Engine>;
  reopen?(): Promise<Engine>;
}

const bucketWidth = tokenSpace / ringBucketCount;
const lastToken = tokenSpace - 1;

/** What the engine must hold: the newest record of each key applied and not discarded. */
class Model {
  readonly records = new Map<string, StoredRecord>();

  constructor(
    private readonly engine: Engine,
    private readonly hash: KeyHasher,
  ) {}

  async apply(key: string, record: StoredRecord): Promise<void> {
    const outcome = await this.engine.apply(key, record);
    assert.equal(outcome.applied, supersedes(record, this.records.get(key)));
    if (outcome.applied) this.records.set(key, record);
  }

  async discard(keys: string[]): Promise<void> {
    const entries = keys.map((key) => ({ key, hlc: (this.records.get(key) as StoredRecord).hlc, nodeId: (this.records.get(key) as StoredRecord).nodeId }));
    const removed = await this.engine.discard(entries);
    assert.equal(removed.length, keys.length);
    for (const key of keys) this.records.delete(key);
  }

  /** Every key in the arc, in the walk's order: after `start` to the top of the circle, then from 0. */
  arc(start: number, end: number): RingKeyEntry[] {
    const entries: RingKeyEntry[] = [];
    for (const [key, record] of this.records) {
      const token = this.hash(key);
      if (inArc(token, start, end)) entries.push({ key, token, versionHash: versionHash(this.hash, key, record) });
    }
    const pass = (token: number) => (token > start ? 0 : 1);
    return entries.sort((a, b) => pass(a.token) - pass(b.token) || compareRingOrder(a, b));
  }

  purgeable(below: number): PurgeableEntry[] {
    const entries: PurgeableEntry[] = [];
    for (const [key, record] of this.records) {
      const gone = goneAt(record);
      if (gone !== undefined && gone < below) entries.push({ key, goneAt: gone, hlc: record.hlc, nodeId: record.nodeId, tombstone: record.tombstone });
    }
    return entries.sort((a, b) => a.goneAt - b.goneAt || compareUtf8(a.key, b.key));
  }
}

/** Reads a whole walk page by page (`limit` each), resuming after the last entry of the page before. */
async function walk<T extends RingKeyEntry | RingScanEntry>(read: (options: RingScanOptions) => Promise<T[]>, start: number, end: number, limit: number): Promise<T[]> {
  const all: T[] = [];
  for (let pages = 0; pages < 10_000; pages++) {
    const last = all[all.length - 1];
    const page = await read({ start, end, limit, ...(last === undefined ? {} : { after: { token: last.token, key: last.key } }) });
    assert.ok(page.length <= limit);
    all.push(...page);
    if (page.length < limit) return all;
  }
  throw new Error('the walk did not end');
}

async function purgeWalk(engine: Engine, below: number, limit: number): Promise<PurgeableEntry[]> {
  const all: PurgeableEntry[] = [];
  for (let pages = 0; pages < 10_000; pages++) {
    const last = all[all.length - 1];
    const page = await engine.purgeable({ below, limit, ...(last === undefined ? {} : { after: { goneAt: last.goneAt, key: last.key } }) });
    all.push(...page);
    if (page.length < limit) return all;
  }
  throw new Error('the purge walk did not end');
}

/** Arcs that wrap, cover the circle, sit inside one bucket, start or end on a bucket's edge, or on a key's own token. */
function arcsFor(model: Model, hash: KeyHasher, rng: SeededRng): Array<[number, number]> {
  const tokens = [...model.records.keys()].map((key) => hash(key)).sort((a, b) => a - b);
  const someToken = () => tokens[rng.nextInt(tokens.length)] as number;
  const arcs: Array<[number, number]> = [
    [0, 0],
    [lastToken, lastToken],
    [0, lastToken],
    [lastToken, 0],
    [bucketWidth * 100 - 1, bucketWidth * 300 - 1],
    [bucketWidth * 7 + 5, bucketWidth * 7 + 40_000],
    [tokenSpace - tokenSpace / 192, tokenSpace / 192],
  ];
  for (let i = 0; i < 12; i++) {
    const a = someToken();
    const b = i % 3 === 0 ? (a + rng.nextInt(3 * bucketWidth)) % tokenSpace : someToken();
    arcs.push([a, b], [b, a]);
  }
  return arcs;
}

async function checkAgainstModel(engine: Engine, model: Model, hash: KeyHasher, seed: number): Promise<void> {
  const rng = new SeededRng(seed);
  assert.equal(engine.keyCount(), model.records.size);
  for (const [start, end] of arcsFor(model, hash, rng)) {
    const expected = model.arc(start, end);
    const label = `arc (${start}, ${end}]`;
    assert.deepEqual(await walk((options) => engine.ringKeys(options), start, end, 7), expected, `${label}: ringKeys`);
    const scanned = await walk((options) => engine.ringScan(options), start, end, 13);
    assert.deepEqual(
      scanned.map(({ key, token, record }) => ({ key, token, record })),
      expected.map(({ key, token }) => ({ key, token, record: model.records.get(key) })),
      `${label}: ringScan`,
    );
    const digest = expected.reduce((xor, entry) => (xor ^ entry.versionHash) >>> 0, 0);
    assert.deepEqual(await engine.summarize(start, end), { digest, keys: expected.length }, `${label}: summarize`);
  }
  const goneTimes = [...model.records.values()].map((record) => goneAt(record)).filter((time): time is number => time !== undefined);
  for (const below of [Infinity, 0, ...goneTimes.slice(0, 5), ...goneTimes.slice(0, 5).map((time) => time + 1)]) {
    assert.deepEqual(await purgeWalk(engine, below, 4), model.purgeable(below), `purgeable below ${below}`);
  }
}

/** Checks every ring walk, summary and purge page of `engine` against `records`, by brute force. */
export async function assertRingOrderMatches(engine: Engine, records: ReadonlyMap<string, StoredRecord>, seed: number): Promise<void> {
  const hash = await loadKeyHasher();
  const model = new Model(engine, hash);
  for (const [key, record] of records) model.records.set(key, record);
  await checkAgainstModel(engine, model, hash, seed);
}

const live = (hlc: number, value: unknown, nodeId = 'n1'): StoredRecord => ({ hlc, nodeId, value, tombstone: false });
const tombstone = (hlc: number, nodeId = 'n1'): StoredRecord => ({ hlc, nodeId, value: undefined, tombstone: true });

/** Writes, overwrites, deletes, expiring values and discards, in a seeded mix; keys include non-ASCII ones. */
async function churn(model: Model, seed: number, keyCount: number): Promise<void> {
  const rng = new SeededRng(seed);
  const keys = Array.from({ length: keyCount }, (_, i) => (i % 17 === 0 ? `é-${i}-\u{1F600}` : `key:${i}`));
  let hlc = 1_000;
  for (const key of keys) await model.apply(key, live(hlc++, key));
  for (let round = 0; round < keyCount; round++) {
    const key = keys[rng.nextInt(keys.length)] as string;
    const kind = rng.nextInt(5);
    if (kind === 0) await model.apply(key, tombstone(hlc++));
    else if (kind === 1) await model.apply(key, { ...live(hlc++, round), expiresAt: 5_000 + rng.nextInt(50) });
    else if (kind === 2) await model.apply(key, live(hlc - 500, 'stale'));
    else await model.apply(key, live(hlc++, round, rng.nextInt(2) === 0 ? 'n1' : 'n2'));
  }
  const gone = [...model.records.keys()].filter((_, i) => i % 11 === 0);
  await model.discard(gone);
  // A key discarded and written again comes back into the index.
  await model.apply(gone[0] as string, tombstone(hlc++));
}

/** The ring-order cases: edge cases of the walks, and survival of a close and reopen. */
export function ringOrderComplianceCases(factory: RingFactory): void {
  it('walks, summarizes and lists for purge exactly what a brute-force pass over its records finds', async () => {
    const engine = await factory.create();
    const hash = await loadKeyHasher();
    const model = new Model(engine, hash);
    await checkAgainstModel(engine, model, hash, 1);
    await churn(model, 42, 400);
    await checkAgainstModel(engine, model, hash, 2);
    await engine.close();
  });

  it('pages a ring walk from a cursor that is not a stored key, and returns nothing for a cursor outside the arc', async () => {
    const engine = await factory.create();
    const hash = await loadKeyHasher();
    const model = new Model(engine, hash);
    for (let i = 0; i < 50; i++) await model.apply(`k${i}`, live(i + 1, i));
    const all = model.arc(0, 0);
    const middle = all[20] as RingKeyEntry;
    const after = { token: middle.token, key: `${middle.key}\u0000` };
    assert.deepEqual(await engine.ringKeys({ start: 0, end: 0, after, limit: 100 }), all.slice(21));
    const outside = { token: (all[0] as RingKeyEntry).token, key: '' };
    assert.deepEqual(await engine.ringKeys({ start: outside.token, end: (outside.token + 10) % tokenSpace, after: { token: (outside.token + 20) % tokenSpace, key: '' }, limit: 10 }), []);
    await engine.close();
  });

  const reopen = factory.reopen;
  if (reopen !== undefined) {
    it('has the same ring walks, summaries and purge list after close and reopen', async () => {
      const engine = await factory.create();
      const hash = await loadKeyHasher();
      const model = new Model(engine, hash);
      await churn(model, 7, 200);
      await engine.close();
      const again = await reopen();
      const reopened = new Model(again, hash);
      for (const [key, record] of model.records) reopened.records.set(key, record);
      await checkAgainstModel(again, reopened, hash, 3);
      await churn(reopened, 8, 100);
      await checkAgainstModel(again, reopened, hash, 4);
      await again.close();
    });
  }
}
