// Runs the same checks against the memory and the LMDB hint stores: newest hint per key
// wins (also when hints of a key are added or removed together), bounds drop hints,
// delivered hints are removed unless replaced, counts follow what is stored, a value
// holding "__proto__" keys comes back exactly, LMDB hints survive a reopen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKeyHasher, carriedValue, JsonText, MemoryHintStore, plainValue, type Hint, type HintLimits, type HintStore, type StoredRecord } from '@ringkv/core';
import { LmdbEngine } from './lmdb-engine.js';

const hash = await loadKeyHasher();

const directories: string[] = [];
after(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

const record = (hlc: number, value: unknown): StoredRecord => ({ hlc, nodeId: 'n1', tombstone: false, value });

/** Valid JSON whose "__proto__" keys (top level and nested) are own properties. */
const protoKeyJson = '{"__proto__":{"x":1},"nested":[{"__proto__":"y"}],"a":2}';

function assertProtoKeyValue(value: unknown): void {
  assert.ok(value instanceof JsonText);
  assert.deepStrictEqual(plainValue(value), JSON.parse(protoKeyJson));
  assert.equal(JSON.stringify(value), protoKeyJson);
}

async function lmdbStore(limits?: HintLimits): Promise<{ store: HintStore; reopen: () => Promise<HintStore> }> {
  const path = mkdtempSync(join(tmpdir(), 'ringkv-hints-'));
  directories.push(path);
  let engine = await LmdbEngine.open({ hash, path, durable: false });
  return {
    store: engine.openHintStore(limits),
    reopen: async () => {
      await engine.close();
      engine = await LmdbEngine.open({ hash, path, durable: false });
      return engine.openHintStore(limits);
    },
  };
}

for (const [name, make] of [
  ['memory', async (limits?: HintLimits) => ({ store: new MemoryHintStore(limits) as HintStore, reopen: undefined })],
  ['lmdb', lmdbStore],
] as const) {
  describe(`hint store: ${name}`, () => {
    it('keeps the newest hint per target and key, and removes delivered ones', async () => {
      const { store } = await make();
      await store.add({ target: 'n3', key: 'a', record: record(1, 'old'), storedAtMs: 10 });
      await store.add({ target: 'n3', key: 'a', record: record(2, 'new'), storedAtMs: 11 });
      await store.add({ target: 'n3', key: 'b', record: record(1, 'b'), storedAtMs: 12 });
      await store.add({ target: 'n2', key: 'a', record: record(1, 'x'), storedAtMs: 13 });
      assert.equal(store.count(), 3);
      assert.deepEqual(store.targets().sort(), ['n2', 'n3']);
      const batch = await store.batch('n3', 10);
      assert.deepEqual(batch.map((hint) => [hint.key, hint.record.value]).sort(), [['a', 'new'], ['b', 'b']]);
      await store.add({ target: 'n3', key: 'b', record: record(5, 'newer'), storedAtMs: 14 });
      await store.remove(batch);
      assert.equal(store.count(), 2, 'a hint replaced after the batch was read stays');
      assert.deepEqual((await store.batch('n3', 10)).map((hint) => hint.record.value), ['newer']);
      assert.equal(store.oldestStoredAtMs(), 13);
    });

    it('gives back a value holding "__proto__" keys exactly', async () => {
      const { store } = await make();
      await store.add({ target: 'n3', key: 'p', record: record(1, carriedValue(JSON.parse(protoKeyJson))), storedAtMs: 1 });
      assertProtoKeyValue((await store.batch('n3', 10))[0]?.record.value);
    });

    it('keeps the newest hint of a key, counted once, when two are added together', async () => {
      const { store } = await make();
      await Promise.all([
        store.add({ target: 'n2', key: 'k', record: record(2, 'newer'), storedAtMs: 1 }),
        store.add({ target: 'n2', key: 'k', record: record(1, 'older'), storedAtMs: 2 }),
      ]);
      assert.deepEqual((await store.batch('n2', 10)).map((hint) => hint.record.value), ['newer']);
      assert.equal(store.count(), 1);
    });

    it('counts a newer hint added while the one it replaces is removed as delivered', async () => {
      const { store } = await make();
      await store.add({ target: 'n2', key: 'k', record: record(1, 'delivered'), storedAtMs: 1 });
      const [delivered] = await store.batch('n2', 10);
      await Promise.all([store.remove([delivered as Hint]), store.add({ target: 'n2', key: 'k', record: record(2, 'newer'), storedAtMs: 2 })]);
      assert.deepEqual((await store.batch('n2', 10)).map((hint) => hint.record.value), ['newer']);
      assert.equal(store.count(), 1);
      assert.deepEqual(store.targets(), ['n2'], 'a target whose hints are uncounted is never delivered to');
    });

    it('drops hints beyond its bounds', async () => {
      const { store } = await make({ perTargetMax: 2, totalMax: 3 });
      const kept = [];
      for (const key of ['a', 'b', 'c']) kept.push(await store.add({ target: 'n3', key, record: record(1, key), storedAtMs: 1 }));
      kept.push(await store.add({ target: 'n2', key: 'a', record: record(1, 'a'), storedAtMs: 1 }));
      kept.push(await store.add({ target: 'n1', key: 'a', record: record(1, 'a'), storedAtMs: 1 }));
      assert.deepEqual(kept, [true, true, false, true, false]);
    });
  });
}

describe('hint store: lmdb durability', () => {
  it('has its hints again after a reopen', async () => {
    const { store, reopen } = await lmdbStore();
    await store.add({ target: 'n3', key: 'k', record: record(3, { v: 1 }), storedAtMs: 5 });
    await store.add({ target: 'n3', key: 'p', record: record(4, carriedValue(JSON.parse(protoKeyJson))), storedAtMs: 6 });
    await store.add({ target: 'n3', key: 't', record: { hlc: 5, nodeId: 'n1', tombstone: true, value: undefined }, storedAtMs: 7 });
    const again = await reopen();
    assert.equal(again.count(), 3);
    const [kept, proto, deleted] = await again.batch('n3', 10);
    assert.deepEqual(kept?.record.value, { v: 1 });
    assertProtoKeyValue(proto?.record.value);
    assert.equal(deleted?.record.tombstone, true);
  });
});
