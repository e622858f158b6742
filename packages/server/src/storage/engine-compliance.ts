// The one compliance suite every Engine passes (docs/style.md, "One contract, one
// compliance suite"). Each engine's test file calls `engineComplianceSuite` with a
// factory; a `reopen` factory, when given, also checks that data survives closing and
// reopening the engine. The ring-order cases (ring-order-compliance.ts) run against every
// engine that keeps ring order (RingOrderedEngine) and are skipped by one that does not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carriedValue, compareUtf8, JsonText, plainValue, type Engine, type StoredRecord } from '@ringkv/core';
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
