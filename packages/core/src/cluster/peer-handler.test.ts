// What a replica takes from pushed records (anti-entropy and hints) around the tombstone
// purge cutoff and ring changes, and how it answers a put delivered twice.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { HybridLogicalClock } from '../clock/hlc.js';
import type { Membership } from '../membership/membership.js';
import type { PeerReply, PushRecordsRequest } from '../protocol/messages.js';
import type { DataRequest } from '../protocol/transport.js';
import type { AntiEntropy } from '../repair/anti-entropy.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import type { StoredRecord } from '../storage/record.js';
import { StorageFullError } from '../storage/storage-errors.js';
import { createPeerHandler } from './peer-handler.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const cutoff = 5000;
const self = { nodeId: 'n2', address: '10.0.0.2:8000' };

function replica(replicates: (key: string) => boolean = () => true) {
  const engine = new MemoryEngine(hash);
  const handler = createPeerHandler({
    engine,
    hlc: new HybridLogicalClock(() => 10),
    // Not reached by pushRecords.
    membership: {} as Membership,
    antiEntropy: {} as AntiEntropy,
    watermark: () => cutoff,
    replicates,
  });
  const push = async (entries: Array<[string, StoredRecord]>, hinted: boolean, sentHlc = cutoff + 100): Promise<PeerReply> =>
    handler({ type: 'pushRecords', entries, sentHlc, hinted } satisfies PushRecordsRequest, self);
  return { engine, push };
}

const value = (hlc: number): StoredRecord => ({ hlc, nodeId: 'n1', tombstone: false, value: `v${hlc}` });
const tombstone = (hlc: number): StoredRecord => ({ hlc, nodeId: 'n1', tombstone: true, value: undefined });

describe('replica handler: pushed records', () => {
  it('drops hinted records below the purge cutoff, which could revive a purged delete, and takes newer ones', async () => {
    const { engine, push } = replica();
    const reply = await push([['old', value(cutoff - 1)], ['new', value(cutoff + 1)]], true);
    assert.deepEqual(reply, { type: 'pushAck', applied: 1 });
    assert.equal(await engine.get('old'), undefined);
    assert.equal((await engine.get('new'))?.hlc, cutoff + 1);
  });

  it('takes a value below the cutoff from repair (a replica that lost its disk needs it), but never a purged tombstone', async () => {
    const { engine, push } = replica();
    const reply = await push([['kept', value(cutoff - 1)], ['purged', tombstone(cutoff - 1)]], false);
    assert.deepEqual(reply, { type: 'pushAck', applied: 1 });
    assert.equal((await engine.get('kept'))?.hlc, cutoff - 1);
    assert.equal(await engine.get('purged'), undefined);
  });

  it('drops a hint for a key this node no longer replicates, so a late hint leaves no stray copy', async () => {
    const { engine, push } = replica((key) => key !== 'moved');
    const reply = await push([['moved', value(cutoff + 1)], ['owned', value(cutoff + 2)]], true);
    assert.deepEqual(reply, { type: 'pushAck', applied: 1 });
    assert.equal(await engine.get('moved'), undefined);
    assert.equal((await engine.get('owned'))?.hlc, cutoff + 2);
  });

  it('drops a whole push composed before the cutoff', async () => {
    const { engine, push } = replica();
    const reply = await push([['late', value(cutoff + 1)]], false, cutoff - 1);
    assert.deepEqual(reply, { type: 'pushAck', applied: 0 });
    assert.equal(await engine.get('late'), undefined);
  });
});

describe('replica handler: a put delivered twice', () => {
  it('answers the duplicate as the first, so a put refused for a full disk is not applied once space returns', async () => {
    const engine = new MemoryEngine(hash);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let full = true;
    const slowFullEngine = Object.assign(Object.create(engine) as MemoryEngine, {
      apply: async (key: string, record: StoredRecord) => {
        const refuse = full;
        await held;
        if (refuse) throw new StorageFullError('the disk is full');
        return engine.apply(key, record);
      },
    });
    const handler = createPeerHandler({
      engine: slowFullEngine,
      hlc: new HybridLogicalClock(() => 10),
      membership: {} as Membership,
      antiEntropy: {} as AntiEntropy,
    });
    const put = { type: 'put' as const, key: 'k', record: value(cutoff + 1) };
    const first = handler(put, self);
    full = false; // space returns while the first delivery is still in the engine
    const duplicate = handler(put, self);
    release();
    const answers = await Promise.all([first, duplicate]);
    for (const answer of answers) assert.equal((answer as { code?: string }).code, 'storage-full');
    assert.equal(await engine.get('k'), undefined);
    // A new request for the same version (a read repair) is applied.
    assert.equal(((await handler({ ...put }, self)) as { type: string }).type, 'putAck');
    assert.equal((await engine.get('k'))?.hlc, cutoff + 1);
  });
});

describe('peer handler: a node that has left', () => {
  it('serves no repair (its copies no longer count toward the purge cutoff), while one still in the ring does', async () => {
    const engine = new MemoryEngine(hash);
    await engine.apply('k', value(cutoff + 1));
    const handlerFor = (servesRepair: boolean) =>
      createPeerHandler({
        engine,
        hlc: new HybridLogicalClock(() => 10),
        membership: {} as Membership,
        antiEntropy: { digestsFor: async () => ({ type: 'digestsReply', ring: 1, watermark: 0, summaries: [] }), rangeEntriesFor: async () => ({ type: 'rangeEntriesReply', ring: 1, entries: [] }) } as unknown as AntiEntropy,
        servesRepair: () => servesRepair,
      });
    const requests: DataRequest[] = [
      { type: 'pullRecords', keys: ['k'] },
      { type: 'digests', ring: 1, ranges: [0], watermark: 0 },
      { type: 'rangeEntries', ring: 1, range: 0 },
    ];
    for (const request of requests) {
      const left = await handlerFor(false)(request, self);
      assert.equal(left.type, 'failure', `${request.type} is refused by a node that has left`);
      assert.equal(left.type === 'failure' && left.code, 'refused');
      const member = await handlerFor(true)(request, self);
      assert.notEqual(member.type, 'failure', `${request.type} is served by a member`);
    }
  });
});
