// The one compliance suite every Engine passes (docs/style.md, "One contract, one
// compliance suite"). Each engine's test file calls `engineComplianceSuite` with a
// factory; a `reopen` factory, when given, also checks that data survives closing and
// reopening the engine. The ring-order cases below compare every answer with a naive
// reference: the same records filtered and sorted in the test (storage/ring-order.ts,
// engine.ts); those of ring-order-compliance.ts check edge cases and survival of a reopen.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  arcSpans,
  carriedValue,
  compareRingOrder,
  compareUtf8,
  goneAt,
  inArc,
  JsonText,
  loadKeyHasher,
  plainValue,
  SeededRng,
  tokenSpace,
  versionHash,
  type Engine,
  type KeyHasher,
  type RingCursor,
  type StoredRecord,
} from '@ringkv/core';
import { ringOrderComplianceCases } from './ring-order-compliance.js';

export interface EngineFactory {
  create(): Promise<Engine>;
  /** Reopens the same store after `close`, if the engine persists. */
  reopen?(): Promise<Engine>;
}

const live = (hlc: number, value: unknown, nodeId = 'n1'): StoredRecord => ({ hlc, nodeId, value, tombstone: false });
const tombstone = (hlc: number, nodeId = 'n1'): StoredRecord => ({ hlc, nodeId, value: undefined, tombstone: true });

/** Valid JSON whose "__proto__" keys are own properties (top level and nested), as the HTTP edge receives it. */
const protoKeyJson = '{"__proto__":{"x":1},"a":2,"list":[{"__proto__":[null]},{"__proto_":3}]}';

/** Checks a stored value is exactly the JSON above, in the carried form the edge hands over. */
function assertProtoKeyValue(value: unknown): void {
  assert.ok(value instanceof JsonText, 'a value holding "__proto__" stays in its carried form');
  assert.deepStrictEqual(plainValue(value), JSON.parse(protoKeyJson));
  assert.equal(JSON.stringify(value), protoKeyJson);
  assert.equal(({} as Record<string, unknown>)['x'], undefined, 'Object.prototype is untouched');
}

export function engineComplianceSuite(name: string, factory: EngineFactory): void {
  describe(`Engine compliance: ${name}`, () => {
    ringOrderCases(factory);

    it('stores, reads back and merges by version', async () => {
      const engine = await factory.create();
      assert.equal(await engine.get('a'), undefined);
      assert.equal((await engine.apply('a', live(10, { x: 1 }))).applied, true);
      assert.deepEqual((await engine.get('a'))?.value, { x: 1 });
      const older = await engine.apply('a', live(5, 'old'));
      assert.equal(older.applied, false);
      assert.equal(older.current.hlc, 10);
      assert.equal((await engine.apply('a', live(10, 'same-version', 'n0'))).applied, false, 'n0 < n1 at the same hlc');
      assert.equal((await engine.apply('a', live(10, 'tie-winner', 'n2'))).applied, true);
      assert.equal((await engine.get('a'))?.value, 'tie-winner');
      await engine.close();
    });

    it('keeps a value holding "__proto__" keys exactly, in get, apply and scan', async () => {
      const engine = await factory.create();
      const applied = await engine.apply('proto', live(3, carriedValue(JSON.parse(protoKeyJson))));
      assert.equal(applied.applied, true);
      assertProtoKeyValue((await engine.get('proto'))?.value);
      assertProtoKeyValue((await engine.apply('proto', live(2, 'older'))).current.value);
      assertProtoKeyValue((await engine.scan({ prefix: 'proto', limit: 1 }))[0]?.record.value);
      assert.equal(engine.liveCount(), 1);
      await engine.close();
    });

    it('keeps tombstones, counts live keys', async () => {
      const engine = await factory.create();
      await engine.apply('k1', live(1, 1));
      await engine.apply('k2', live(1, 2));
      assert.equal(engine.liveCount(), 2);
      await engine.apply('k1', tombstone(2));
      assert.equal(engine.liveCount(), 1);
      assert.equal((await engine.get('k1'))?.tombstone, true);
      assert.equal((await engine.apply('k1', live(1, 'stale'))).applied, false, 'an older write must not resurrect a delete');
      await engine.apply('k1', live(3, 'back'));
      assert.equal(engine.liveCount(), 2);
      await engine.close();
    });

    it('keeps the expiry of a value written with a ttl, and drops it with a later permanent write', async () => {
      const engine = await factory.create();
      await engine.apply('ttl', { ...live(5, 'expiring'), expiresAt: 500 });
      await engine.apply('ttl-text', { ...live(5, carriedValue(JSON.parse(protoKeyJson))), expiresAt: 600 });
      assert.equal((await engine.get('ttl'))?.expiresAt, 500);
      assert.equal((await engine.get('ttl-text'))?.expiresAt, 600);
      assert.deepEqual(
        (await engine.scan({ prefix: 'ttl', limit: 5 })).map((entry) => entry.record.expiresAt),
        [500, 600],
      );
      await engine.apply('ttl', live(6, 'permanent'));
      assert.equal((await engine.get('ttl'))?.expiresAt, undefined);
      await engine.close();
    });

    it('merges concurrent applies of one key atomically', async () => {
      const engine = await factory.create();
      const versions = Array.from({ length: 50 }, (_, i) => (i * 37) % 50);
      await Promise.all(versions.map((hlc) => engine.apply('hot', live(hlc + 1, hlc))));
      assert.equal((await engine.get('hot'))?.hlc, 50);
      assert.equal(engine.liveCount(), 1);
      await engine.close();
    });

    it('scans in UTF-8 byte order with prefix, cursor and limit', async () => {
      const engine = await factory.create();
      const keys = ['b', 'a', 'ab', 'a/b', 'é', '\u{1F600}', '\uFFFD', 'user:2', 'user:10', 'user:1'];
      for (const key of keys) await engine.apply(key, live(1, key));
      const all = (await engine.scan({ limit: 100 })).map((entry) => entry.key);
      assert.deepEqual(all, [...keys].sort(compareUtf8));
      const users = (await engine.scan({ prefix: 'user:', limit: 100 })).map((entry) => entry.key);
      assert.deepEqual(users, ['user:1', 'user:10', 'user:2']);
      const page = (await engine.scan({ prefix: 'user:', after: 'user:1', limit: 1 })).map((entry) => entry.key);
      assert.deepEqual(page, ['user:10']);
      const afterEnd = await engine.scan({ prefix: 'user:', after: 'user:2', limit: 10 });
      assert.equal(afterEnd.length, 0);
      await engine.close();
    });

    if (factory.reopen) {
      const reopen = factory.reopen;
      it('has its data again after close and reopen', async () => {
        const engine = await factory.create();
        await engine.apply('kept', live(7, { deep: [1, 2, 3] }));
        await engine.apply('gone', tombstone(8));
        await engine.apply('proto', live(9, carriedValue(JSON.parse(protoKeyJson))));
        // A ttl value is in the purge list but live; a tombstone written over it is not.
        await engine.apply('expiring', { ...live(10, 'soon'), expiresAt: 1_000_000 });
        await engine.apply('revoked', { ...live(11, 'x'), expiresAt: 1_000_000 });
        await engine.apply('revoked', tombstone(12));
        await engine.close();
        const again = await reopen();
        assert.deepEqual((await again.get('kept'))?.value, { deep: [1, 2, 3] });
        assert.equal((await again.get('gone'))?.tombstone, true);
        assertProtoKeyValue((await again.get('proto'))?.value);
        assert.equal(again.liveCount(), 3, 'a value kept as JSON text and a ttl value count as live');
        await again.close();
      });
    }

    ringOrderComplianceCases(factory);
  });
}

const lastToken = tokenSpace - 1;

/** The records an engine should hold, kept beside it by the ring-order cases. */
class Reference {
  readonly records = new Map<string, StoredRecord>();
  constructor(readonly hash: KeyHasher) {}

  async apply(engine: Engine, key: string, record: StoredRecord): Promise<void> {
    const outcome = await engine.apply(key, record);
    if (outcome.applied) this.records.set(key, record);
  }

  async discard(engine: Engine, keys: readonly string[]): Promise<void> {
    const versions = keys.map((key) => ({ key, hlc: (this.records.get(key) as StoredRecord).hlc, nodeId: (this.records.get(key) as StoredRecord).nodeId }));
    const removed = await engine.discard(versions);
    assert.equal(removed.length, keys.length);
    for (const key of keys) this.records.delete(key);
  }

  /** The arc's keys in walk order: its spans in turn, each in ring order. */
  walk(start: number, end: number): Array<{ key: string; token: number; record: StoredRecord }> {
    const spans = arcSpans(start, end);
    const spanOf = (token: number) => spans.findIndex((span) => token >= span.lo && token <= span.hi);
    return [...this.records]
      .map(([key, record]) => ({ key, token: this.hash(key), record }))
      .filter(({ token }) => inArc(token, start, end))
      .sort((a, b) => spanOf(a.token) - spanOf(b.token) || compareRingOrder(a, b));
  }

  summary(start: number, end: number): { digest: number; keys: number } {
    let digest = 0;
    const walked = this.walk(start, end);
    for (const { key, record } of walked) digest ^= versionHash(this.hash, key, record);
    return { digest: digest >>> 0, keys: walked.length };
  }

  purgeable(below: number): Array<{ key: string; goneAt: number }> {
    return [...this.records]
      .flatMap(([key, record]) => {
        const gone = goneAt(record);
        return gone === undefined || gone >= below ? [] : [{ key, goneAt: gone }];
      })
      .sort((a, b) => a.goneAt - b.goneAt || compareUtf8(a.key, b.key));
  }
}

/** Arcs worth checking around `tokens`: plain, wrapping, the whole circle, inside one bucket, at the ends of the circle. */
function arcsAround(tokens: readonly number[], rng: SeededRng): Array<[number, number]> {
  const pick = () => tokens[rng.nextInt(tokens.length)] as number;
  const arcs: Array<[number, number]> = [[0, lastToken], [lastToken, 0], [lastToken, lastToken], [12345, 12345], [lastToken, 2 ** 31]];
  for (let i = 0; i < 12; i++) {
    const a = pick();
    const b = pick();
    arcs.push([Math.min(a, b), Math.max(a, b)], [Math.max(a, b), Math.min(a, b)]);
    // Just one key's token, and a sliver of one bucket around it.
    arcs.push([(a - 1 + tokenSpace) % tokenSpace, a], [(a - 100 + tokenSpace) % tokenSpace, (a + 100) % tokenSpace]);
  }
  return arcs;
}

/** Every page of a ring walk of (start, end], `limit` at a time, each resumed after the last entry of the one before. */
async function pagedWalk<T extends { key: string; token: number }>(read: (after: RingCursor | undefined) => Promise<T[]>, limit: number): Promise<T[]> {
  const all: T[] = [];
  let after: RingCursor | undefined;
  for (let page = 0; page < 10_000; page++) {
    const entries = await read(after);
    assert.ok(entries.length <= limit, `a page of ${entries.length} entries exceeds its limit ${limit}`);
    all.push(...entries);
    if (entries.length < limit) return all;
    const last = entries[entries.length - 1] as T;
    after = { token: last.token, key: last.key };
  }
  throw new Error('the walk did not end');
}

function ringOrderCases(factory: EngineFactory): void {
  let hash: KeyHasher;
  before(async () => {
    hash = await loadKeyHasher();
  });

  /** An engine and its reference holding 150 keys: values, tombstones, values with a ttl, some unicode. */
  async function filled(): Promise<{ engine: Engine; reference: Reference; rng: SeededRng }> {
    const engine = await factory.create();
    const reference = new Reference(hash);
    const rng = new SeededRng(7);
    for (let i = 0; i < 150; i++) {
      const key = i % 10 === 0 ? `ключ-${i}-\u{1F600}` : `key-${i}`;
      const kind = i % 3;
      const record: StoredRecord = kind === 0 ? tombstone(100 + (i % 7)) : kind === 1 ? { ...live(10 + i, i), expiresAt: 1000 + (i % 5) } : live(10 + i, { i });
      await reference.apply(engine, key, record);
    }
    return { engine, reference, rng };
  }

  async function checkWalks(engine: Engine, reference: Reference, rng: SeededRng): Promise<void> {
    const tokens = [...reference.records.keys()].map((key) => hash(key));
    for (const [start, end] of arcsAround(tokens, rng)) {
      const expected = reference.walk(start, end);
      for (const limit of [1, 7, 1000]) {
        const scanned = await pagedWalk((after) => engine.ringScan({ start, end, limit, ...(after !== undefined ? { after } : {}) }), limit);
        assert.deepEqual(
          scanned.map(({ key, token, record }) => [key, token, record.hlc, record.tombstone]),
          expected.map(({ key, token, record }) => [key, token, record.hlc, record.tombstone]),
          `ringScan of (${start}, ${end}] by ${limit}`,
        );
      }
      const keyed = await pagedWalk((after) => engine.ringKeys({ start, end, limit: 5, ...(after !== undefined ? { after } : {}) }), 5);
      assert.deepEqual(
        keyed.map(({ key, token, versionHash: hashed }) => [key, token, hashed]),
        expected.map(({ key, token, record }) => [key, token, versionHash(hash, key, record)]),
        `ringKeys of (${start}, ${end}]`,
      );
      assert.deepEqual(await engine.summarize(start, end), reference.summary(start, end), `summarize (${start}, ${end}]`);
    }
    assert.equal(engine.keyCount(), reference.records.size);
  }

  async function checkPurgeable(engine: Engine, reference: Reference): Promise<void> {
    for (const below of [0, 103, 1002, Number.POSITIVE_INFINITY]) {
      const expected = reference.purgeable(below);
      for (const limit of [1, 4, 1000]) {
        const listed: Array<{ key: string; goneAt: number }> = [];
        let after: { goneAt: number; key: string } | undefined;
        for (let page = 0; page < 1000; page++) {
          const entries = await engine.purgeable({ below, limit, ...(after !== undefined ? { after } : {}) });
          assert.ok(entries.length <= limit);
          for (const entry of entries) {
            const record = reference.records.get(entry.key) as StoredRecord;
            assert.deepEqual([entry.hlc, entry.nodeId, entry.tombstone], [record.hlc, record.nodeId, record.tombstone], `the version held of ${entry.key}`);
          }
          listed.push(...entries.map(({ key, goneAt: gone }) => ({ key, goneAt: gone })));
          if (entries.length < limit) break;
          after = entries[entries.length - 1];
        }
        assert.deepEqual(listed, expected, `purgeable below ${below} by ${limit}`);
      }
    }
  }

  it('walks ring arcs in ring order, wrapping and paged, and summarizes them as the naive XOR', async () => {
    const { engine, reference, rng } = await filled();
    await checkWalks(engine, reference, rng);
    await engine.close();
  });

  it('keeps the ring index in step with overwrites, tombstones, ttl values and discards', async () => {
    const { engine, reference, rng } = await filled();
    const keys = [...reference.records.keys()];
    for (let i = 0; i < 40; i++) {
      const key = keys[rng.nextInt(keys.length)] as string;
      const hlc = 10_000 + i;
      const record = i % 3 === 0 ? tombstone(hlc) : i % 3 === 1 ? { ...live(hlc, 'ttl'), expiresAt: 500 + i } : live(hlc, 'over');
      await reference.apply(engine, key, record);
    }
    // An older write changes nothing.
    await reference.apply(engine, keys[0] as string, live(1, 'old'));
    await reference.discard(engine, keys.filter((_, i) => i % 4 === 1));
    await checkWalks(engine, reference, rng);
    // Discarding a version the engine no longer holds removes nothing.
    const kept = [...reference.records.keys()][0] as string;
    assert.deepEqual(await engine.discard([{ key: kept, hlc: 1, nodeId: 'n1' }]), []);
    assert.equal(engine.keyCount(), reference.records.size);
    await engine.close();
  });

  it('applies a batch as its records one by one: merged in order, outcomes in order, the ring index in step', async () => {
    const { engine, reference, rng } = await filled();
    const keys = [...reference.records.keys()];
    const batch: Array<[string, StoredRecord]> = [];
    for (let i = 0; i < 60; i++) {
      const key = i % 5 === 0 ? `batch-new-${i}` : (keys[rng.nextInt(keys.length)] as string);
      const hlc = i % 7 === 0 ? 1 : 30_000 + i; // some older than what is held: they change nothing
      batch.push([key, i % 3 === 0 ? tombstone(hlc) : i % 3 === 1 ? { ...live(hlc, 'ttl'), expiresAt: 700 + i } : live(hlc, `batch-${i}`)]);
    }
    // A key twice in one batch: the newer wins, whichever comes first.
    batch.push(['batch-twice', live(40_002, 'newer')], ['batch-twice', live(40_001, 'older')]);
    const expected = batch.map(([key, record]) => {
      const held = reference.records.get(key);
      const applied = held === undefined || record.hlc > held.hlc || (record.hlc === held.hlc && record.nodeId > held.nodeId);
      if (applied) reference.records.set(key, record);
      return { applied, current: reference.records.get(key) };
    });
    const liveBefore = engine.liveCount();
    const outcomes = await engine.applyBatch(batch);
    assert.deepEqual(
      outcomes.map(({ applied, current }) => ({ applied, current })),
      expected,
    );
    assert.equal((await engine.get('batch-twice'))?.value, 'newer');
    assert.deepEqual(await engine.applyBatch([]), []);
    const liveNow = [...reference.records.values()].filter((record) => !record.tombstone).length;
    assert.ok(liveNow !== liveBefore, 'the batch changes the live count');
    assert.equal(engine.liveCount(), liveNow);
    await checkWalks(engine, reference, rng);
    await checkPurgeable(engine, reference);
    await engine.close();
  });

  it('lists purgeable records by the time they are gone, then key, below a bound, paged', async () => {
    const { engine, reference } = await filled();
    const keys = [...reference.records.keys()];
    await checkPurgeable(engine, reference);
    // A tombstone revived by a value, and a value deleted, move in and out of the list.
    await reference.apply(engine, keys[0] as string, live(20_000, 'back'));
    await reference.apply(engine, keys[2] as string, tombstone(20_001));
    await checkPurgeable(engine, reference);
    await reference.discard(engine, [keys[3] as string, keys[6] as string]);
    await checkPurgeable(engine, reference);
    assert.ok(reference.purgeable(Number.POSITIVE_INFINITY).length > 50, 'the case holds enough tombstones and ttl values');
    await engine.close();
  });
}
