// Checks that the acceptor's Paxos state survives a restart of a real LMDB environment,
// values kept as JSON text included, and that a node started again keeps its promises.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKeyHasher, JsonText, PaxosAcceptor, type PaxosState } from '@ringkv/core';
import { LmdbEngine } from './lmdb-engine.js';
import { lmdbPaxosStore } from './lmdb-paxos-store.js';

const hash = await loadKeyHasher();

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('LMDB Paxos store', () => {
  it('keeps promises, accepted proposals and commits across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringkv-paxos-'));
    dirs.push(dir);
    const path = join(dir, 'lmdb');
    const state: PaxosState = {
      promised: { hlc: 30, nodeId: 'n2' },
      accepted: { ballot: { hlc: 20, nodeId: 'n1' }, record: { hlc: 20, nodeId: 'n1', tombstone: false, value: new JsonText('{"a":[1,2]}') } },
      committed: { hlc: 10, nodeId: 'n3' },
    };
    const engine = await LmdbEngine.open({ hash, path, durable: false });
    await lmdbPaxosStore(engine).put('k', state);
    await engine.close();
    const again = await LmdbEngine.open({ hash, path, durable: false });
    const store = lmdbPaxosStore(again);
    const read = await store.get('k');
    assert.deepEqual(read?.promised, state.promised);
    assert.ok(read?.accepted?.record.value instanceof JsonText);
    assert.equal((read?.accepted?.record.value as JsonText).text, '{"a":[1,2]}');
    assert.deepEqual(read?.committed, state.committed);
    assert.equal(await store.get('other'), undefined);
    // The acceptor over the reopened store refuses what it promised not to take.
    const acceptor = new PaxosAcceptor({ store, read: async () => undefined, apply: async () => undefined, observe: () => undefined });
    assert.deepEqual(await acceptor.prepare('k', { hlc: 25, nodeId: 'n1' }), { promised: false, highest: { hlc: 30, nodeId: 'n2' } });
    await again.close();
  });
});
