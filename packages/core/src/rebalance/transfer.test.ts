// A transfer pulls exactly the keys its node gains, from the replicas those keys leave;
// it can be paused and resumed, and a new process resumes it from its checkpoint. Sources
// bound batches by bytes, and the receiver asks every source at once, and a source's next
// batch before it has stored the one before.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { BackgroundPace } from '../clock/background-budget.js';
import { TokenBucket } from '../clock/token-bucket.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import { valueBytesOf } from '../cluster/key-scan.js';
import type { DataRequest, Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { buildRing, transitionId, type Placement } from '../ring/placement.js';
import { backgroundSliceUnderLoad, transferBatchBytesMax, transferBatchWallMsMax, transferRecordsPerApply } from '../limits.js';
import type { TransferScanRequest } from '../protocol/messages.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { MemoryJobStore } from './job.js';
import { Transfer, type TransferPlan } from './transfer.js';
import { SendingTotals, transferBatchFor } from './transfer-source.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const keyCount = 3000;

async function setUp() {
  const settings = { vnodes: 32, replicas: 3, hash };
  const read = buildRing(['a', 'b', 'c'], settings);
  const target = buildRing(['a', 'b', 'c', 'g'], settings);
  const placement: Placement = { read, target, writes: [read, target], transition: transitionId(read, target, hash), settling: [] };
  const sources = new Map<string, MemoryEngine>();
  for (const nodeId of read.nodeIds) sources.set(nodeId, new MemoryEngine(hash));
  for (let i = 0; i < keyCount; i++) {
    const key = `key-${i}`;
    for (const nodeId of read.preferenceList(key)) await sources.get(nodeId)!.apply(key, { value: i, tombstone: false, hlc: 1000 + i, nodeId: 'a' });
  }
  const transport: Transport = {
    request: async (address: string, body: DataRequest) => {
      if (body.type !== 'transferScan') throw new Error(`unexpected ${body.type}`);
      const engine = sources.get(address)!;
      return transferBatchFor(body, { selfId: address, placement: () => placement, engine }) as never;
    },
  };
  const gained = new Set(Array.from({ length: keyCount }, (_, i) => `key-${i}`).filter((key) => target.preferenceList(key).includes('g')));
  const plan: TransferPlan = {
    transition: placement.transition,
    readRing: read.fingerprint,
    targetRing: target.fingerprint,
    kind: 'join',
    description: 'g joins',
    sources: ['a', 'b', 'c'],
  };
  return { transport, gained, plan, placement, sources };
}

function transferFor(
  context: Awaited<ReturnType<typeof setUp>>,
  engine: MemoryEngine,
  store: MemoryJobStore,
  batchesPerRun: number,
  isAvailable = (_nodeId: string) => true,
  paced: { clock?: VirtualClock; rate?: TokenBucket; budget?: BackgroundPace; recordsPerBatch?: number } = {},
) {
  return new Transfer(
    {
      selfId: 'g',
      transport: context.transport,
      addressOf: (nodeId) => nodeId,
      isAvailable,
      engine,
      clock: paced.clock ?? new VirtualClock(),
      ...(paced.rate !== undefined ? { rate: paced.rate } : {}),
      ...(paced.budget !== undefined ? { budget: paced.budget } : {}),
      store,
      current: (transition) => transition === context.placement.transition,
    },
    { recordsPerBatch: paced.recordsPerBatch ?? 100, batchesPerRun },
  );
}

async function heldKeys(engine: MemoryEngine): Promise<Set<string>> {
  return new Set((await engine.scan({ limit: keyCount * 2 })).map((entry) => entry.key));
}

/** Runs the transfer to its end while the virtual clock moves on in 10 ms steps (at most 100 s). */
async function runOnClock(transfer: Transfer, plan: TransferPlan, clock: VirtualClock): Promise<boolean> {
  let finished: boolean | undefined;
  const running = transfer.run(plan).then((done) => (finished = done));
  for (let step = 0; step < 10_000 && finished === undefined; step++) {
    clock.advance(10);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return running;
}

describe('transfer', () => {
  it('receives exactly the keys its node gains, each from the replica it replaces', async () => {
    const context = await setUp();
    const engine = new MemoryEngine(hash);
    const transfer = transferFor(context, engine, new MemoryJobStore(), 10_000);
    assert.equal(await transfer.run(context.plan), true);
    assert.deepEqual(await heldKeys(engine), context.gained);
    const view = transfer.view()!;
    assert.equal(view.state, 'done');
    assert.equal(view.recordsMoved, context.gained.size);
    // Each source walks only the keys it sends: every gained key once, from the replica it leaves.
    assert.equal(view.keysDone, view.keysTotal);
    assert.equal(view.keysTotal, context.gained.size);
  });

  it('resumes from its checkpoint in a new process, and honours pause and resume', async () => {
    const context = await setUp();
    const engine = new MemoryEngine(hash);
    const store = new MemoryJobStore();
    const first = transferFor(context, engine, store, 3);
    assert.equal(await first.run(context.plan), false, 'three batches do not finish the transfer');
    const partway = first.view()!;
    assert.ok(partway.keysDone > 0 && partway.keysDone < partway.keysTotal);
    // The process dies; a new one over the same checkpoint and storage carries on.
    const second = transferFor(context, engine, store, 10_000);
    assert.equal(second.view()?.keysDone, partway.keysDone, 'the checkpoint keeps the progress');
    assert.equal(second.pause(), true);
    assert.equal(await second.run(context.plan), false, 'a paused transfer does not move');
    assert.equal(second.view()?.state, 'paused');
    assert.equal(second.view()?.keysDone, partway.keysDone);
    // Paused survives a restart too.
    const third = transferFor(context, engine, store, 10_000);
    assert.equal(third.view()?.state, 'paused');
    assert.equal(third.resume(), true);
    assert.equal(await third.run(context.plan), true);
    assert.deepEqual(await heldKeys(engine), context.gained);
  });

  it('scans again a source that comes back before the transfer is complete', async () => {
    const context = await setUp();
    // A write only `a` holds (acknowledged at W=1 while the others were cut off), of a key g gains from a.
    const onlyOnA = [...context.gained].find((key) => context.placement.read.preferenceList(key).includes('a') && !context.placement.target.preferenceList(key).includes('a'));
    assert.ok(onlyOnA !== undefined);
    await context.sources.get('a')!.apply(onlyOnA, { value: 'newest', tombstone: false, hlc: 1_000_000, nodeId: 'a' });
    const engine = new MemoryEngine(hash);
    let aAvailable = false;
    const transfer = transferFor(context, engine, new MemoryJobStore(), 2, (nodeId) => nodeId !== 'a' || aAvailable);
    // While a is away the others send its keys on its behalf, a few batches at a time.
    assert.equal(await transfer.run(context.plan), false);
    aAvailable = true;
    for (let runs = 0; runs < 1000 && !(await transfer.run(context.plan)); runs++);
    const sources = transfer.view()?.sources ?? [];
    assert.ok((sources.find((source) => source.nodeId === 'a')?.scanned ?? 0) > 0, 'a was scanned once it came back');
    assert.equal((await engine.get(onlyOnA))?.value, 'newest', 'the write only a held reached g');
  });

  it('counts the bytes it moves and keeps to its byte cap', async () => {
    const context = await setUp();
    const engine = new MemoryEngine(hash);
    const clock = new VirtualClock();
    const bytesPerSecond = 20_000;
    const transfer = transferFor(context, engine, new MemoryJobStore(), 10_000, undefined, { clock, rate: new TokenBucket(clock, bytesPerSecond) });
    const startedAtMs = clock.nowMs();
    assert.equal(await runOnClock(transfer, context.plan, clock), true);
    let expectedBytes = 0;
    for (const key of context.gained) expectedBytes += key.length + valueBytesOf((await engine.get(key))!);
    const view = transfer.view()!;
    assert.equal(view.bytesMoved, expectedBytes);
    // The first second's worth passes at once; the rest waits for the rate (10 ms steps).
    const elapsedMs = clock.nowMs() - startedAtMs;
    const neededMs = ((expectedBytes - bytesPerSecond) / bytesPerSecond) * 1000;
    assert.ok(elapsedMs >= neededMs && elapsedMs <= neededMs + 1000, `moved ${expectedBytes} bytes in ${elapsedMs} ms at ${bytesPerSecond} B/s`);
  });

  it("paces by its own work of storing a batch, not by the wait for the source's answer", async () => {
    const context = await setUp();
    const clock = new VirtualClock();
    const sourceDelayMs = 100;
    const inner = context.transport;
    // Each source answers after 100 ms: its own walk and its own budget's pause.
    context.transport = {
      request: async (address: string, body: DataRequest) => {
        await new Promise<void>((resolve) => clock.setTimer(sourceDelayMs, resolve));
        return (await inner.request(address, body, 1000)) as never;
      },
    };
    const paced: number[] = [];
    const budget: BackgroundPace = {
      turn: async (startedAtMs) => void paced.push(clock.nowMs() - startedAtMs),
      pause: async (startedAtMs) => void paced.push(clock.nowMs() - startedAtMs),
      pauseMsAfter: () => 0,
      underLoad: () => false,
    };
    const engine = new MemoryEngine(hash);
    const transfer = transferFor(context, engine, new MemoryJobStore(), 10_000, undefined, { clock, budget });
    assert.equal(await runOnClock(transfer, context.plan, clock), true);
    assert.ok(paced.length > 3, `${paced.length} batches paced`);
    assert.ok(
      paced.every((workMs) => workMs < sourceDelayMs),
      `the work a batch was paced for (ms): ${paced.join(', ')}; storing one takes no time on this clock`,
    );
  });

  it('stores a batch in smaller slices while clients load the node, each paced', async () => {
    for (const underLoad of [false, true]) {
      const context = await setUp();
      const engine = new MemoryEngine(hash);
      const slices: number[] = [];
      const applyBatch = engine.applyBatch.bind(engine);
      engine.applyBatch = (entries) => {
        slices.push(entries.length);
        return applyBatch(entries);
      };
      let pauses = 0;
      const budget: BackgroundPace = { turn: async () => undefined, pause: async () => void pauses++, pauseMsAfter: () => 0, underLoad: () => underLoad };
      const transfer = transferFor(context, engine, new MemoryJobStore(), 10_000, undefined, { budget, recordsPerBatch: 5000 });
      assert.equal(await runOnClock(transfer, context.plan, new VirtualClock()), true);
      const largest = Math.max(...slices);
      if (underLoad) assert.equal(largest, backgroundSliceUnderLoad, `slices of ${slices.join(', ')} records under load`);
      else assert.ok(largest > backgroundSliceUnderLoad && largest <= transferRecordsPerApply, `slices of ${slices.join(', ')} records with no clients`);
      assert.equal(pauses, slices.length, 'a pause after each slice');
      for (const key of context.gained) assert.ok((await engine.get(key)) !== undefined, `${key} stored`);
    }
  });

  it("counts the keys it sends an asker once a while, not for every batch (SendingTotals)", async () => {
    const context = await setUp();
    const source = context.sources.get('a')!;
    let summaries = 0;
    const summarize = source.summarize.bind(source);
    source.summarize = (start, end) => {
      summaries++;
      return summarize(start, end);
    };
    const clock = new VirtualClock(0);
    const totals = new SendingTotals(() => clock.nowMs(), 5000);
    const request: TransferScanRequest = { type: 'transferScan', readRing: context.plan.readRing, targetRing: context.plan.targetRing, forNode: 'g', unavailable: [], after: null, limit: 100 };
    const unkept = await transferBatchFor(request, { selfId: 'a', placement: () => context.placement, engine: source });
    const perCount = summaries;
    assert.ok(perCount > 1 && unkept.total > 100, `${perCount} arcs summed to ${unkept.total} keys`);
    let after = unkept.next;
    for (let batch = 0; batch < 3; batch++) {
      const reply = await transferBatchFor({ ...request, after }, { selfId: 'a', placement: () => context.placement, engine: source, totals });
      assert.equal(reply.total, unkept.total);
      after = reply.next;
    }
    assert.equal(summaries, 2 * perCount, 'counted once for three batches');
    // b, a member of both rings, is sent nothing: its count (of no arcs) is kept beside g's.
    assert.equal((await transferBatchFor({ ...request, forNode: 'b' }, { selfId: 'a', placement: () => context.placement, engine: source, totals })).total, 0);
    await transferBatchFor({ ...request, after }, { selfId: 'a', placement: () => context.placement, engine: source, totals });
    assert.equal(summaries, 2 * perCount, "g's count is kept while b's is");
    clock.advance(5000);
    await transferBatchFor({ ...request, after }, { selfId: 'a', placement: () => context.placement, engine: source, totals });
    assert.equal(summaries, 3 * perCount, 'counted again once the count is 5 s old');
    await transferBatchFor({ ...request, after, unavailable: ['c'] }, { selfId: 'a', placement: () => context.placement, engine: source, totals });
    assert.ok(summaries > 3 * perCount, 'and again when the unavailable members change');
  });

  it('bounds a batch by bytes: large values move a few to a message', async () => {
    const context = await setUp();
    const source = context.sources.get('a')!;
    const large = 'x'.repeat(100 * 1024);
    for (const key of context.gained) await source.apply(key, { value: large, tombstone: false, hlc: 50_000, nodeId: 'a' });
    const request: TransferScanRequest = { type: 'transferScan', readRing: context.plan.readRing, targetRing: context.plan.targetRing, forNode: 'g', unavailable: [], after: null, limit: 10_000 };
    const reply = await transferBatchFor(request, { selfId: 'a', placement: () => context.placement, engine: source });
    assert.ok(reply.entries.length > 1, 'more than one record');
    const bytes = reply.entries.reduce((sum, [key, record]) => sum + key.length + String(record.value).length, 0);
    assert.ok(bytes >= transferBatchBytesMax && bytes < transferBatchBytesMax + large.length + 1000, `a batch of ${bytes} bytes`);
    assert.ok(reply.next !== null && reply.total > reply.entries.length);
  });

  it('walks a batch a page at a time on the source, paced by its own walking between pages and after the last', async () => {
    const context = await setUp();
    const source = context.sources.get('a')!;
    const clock = new VirtualClock(0);
    let turns = 0;
    let pauses = 0;
    const worked: number[] = [];
    // Each turn lets clients in for 50 ms of the clock; the walk itself takes none here.
    const budget: BackgroundPace = {
      turn: async (startedAtMs) => {
        worked.push(clock.nowMs() - startedAtMs);
        turns++;
        clock.advance(50);
      },
      pause: async (startedAtMs) => {
        worked.push(clock.nowMs() - startedAtMs);
        pauses++;
      },
      pauseMsAfter: () => 0,
      underLoad: () => false,
    };
    const request: TransferScanRequest = { type: 'transferScan', readRing: context.plan.readRing, targetRing: context.plan.targetRing, forNode: 'g', unavailable: [], after: null, limit: 10_000 };
    const reply = await transferBatchFor(request, { selfId: 'a', placement: () => context.placement, engine: source, pace: { budget, clock } });
    const unpaced = await transferBatchFor(request, { selfId: 'a', placement: () => context.placement, engine: source });
    assert.deepEqual(reply.entries, unpaced.entries, 'the same batch, paced or not');
    assert.ok(unpaced.entries.length > 500, `${unpaced.entries.length} records sent from a`);
    assert.ok(turns >= 1 && turns <= Math.floor(unpaced.entries.length / 500), `${turns} turns for ${unpaced.entries.length} records, one per 500 walked at most`);
    assert.equal(pauses, 1, 'paced once more after the last page');
    assert.deepEqual(new Set(worked), new Set([0]), "the clients' turns between pages never count as the walk's work");
  });

  it('ends a batch early when its paced turns have taken the most a batch may, and resumes after it', async () => {
    const context = await setUp();
    const source = context.sources.get('a')!;
    const clock = new VirtualClock(0);
    // A hard-pressed source: every turn between pages waits 2.5 s for its clients.
    const budget: BackgroundPace = {
      turn: async () => void clock.advance(2500),
      pause: async () => undefined,
      pauseMsAfter: () => 0,
      underLoad: () => false,
    };
    const request: TransferScanRequest = { type: 'transferScan', readRing: context.plan.readRing, targetRing: context.plan.targetRing, forNode: 'g', unavailable: [], after: null, limit: 10_000 };
    const unpaced = await transferBatchFor(request, { selfId: 'a', placement: () => context.placement, engine: source });
    const first = await transferBatchFor(request, { selfId: 'a', placement: () => context.placement, engine: source, pace: { budget, clock } });
    assert.ok(unpaced.entries.length > 500, `${unpaced.entries.length} records sent from a`);
    assert.ok(first.entries.length < unpaced.entries.length, `ended early after ${first.entries.length} records (${clock.nowMs()} ms of turns)`);
    assert.ok(clock.nowMs() < transferBatchWallMsMax + 2500, 'at the first turn past the most a batch may take');
    assert.deepEqual(first.entries, unpaced.entries.slice(0, first.entries.length));
    const rest = await transferBatchFor({ ...request, after: first.next }, { selfId: 'a', placement: () => context.placement, engine: source });
    assert.deepEqual([...first.entries, ...rest.entries], unpaced.entries, 'the next batch goes on from where it ended');
  });

  it("asks for a source's next batch before it has stored the one before", async () => {
    const context = await setUp();
    const engine = new MemoryEngine(hash);
    const lastOfBatch = new Map<string, string>();
    let askedAhead = 0;
    const inner = context.transport;
    context.transport = {
      request: async (address: string, body: DataRequest) => {
        const previous = lastOfBatch.get(address);
        if (body.type === 'transferScan' && body.after !== null && previous !== undefined && (await engine.get(previous)) === undefined) askedAhead++;
        const reply = (await inner.request(address, body, 1000)) as { entries: Array<[string, unknown]> };
        const last = reply.entries[reply.entries.length - 1];
        if (last !== undefined) lastOfBatch.set(address, last[0]);
        return reply as never;
      },
    };
    const transfer = transferFor(context, engine, new MemoryJobStore(), 10_000);
    assert.equal(await transfer.run(context.plan), true);
    assert.deepEqual(await heldKeys(engine), context.gained);
    assert.ok(askedAhead > 0, 'some batch was asked for while the one before was being stored');
  });

  it('asks every source at once, so that each paces only its own part', async () => {
    const context = await setUp();
    const engine = new MemoryEngine(hash);
    const waiting = new Map<string, number>();
    let mostAtOnce = 0;
    const inner = context.transport;
    context.transport = {
      request: async (address: string, body: DataRequest) => {
        waiting.set(address, (waiting.get(address) ?? 0) + 1);
        mostAtOnce = Math.max(mostAtOnce, [...waiting.values()].filter((count) => count > 0).length);
        await new Promise((resolve) => setImmediate(resolve));
        waiting.set(address, (waiting.get(address) ?? 0) - 1);
        return (await inner.request(address, body, 1000)) as never;
      },
    };
    const transfer = transferFor(context, engine, new MemoryJobStore(), 10_000);
    assert.equal(await transfer.run(context.plan), true);
    assert.deepEqual(await heldKeys(engine), context.gained);
    assert.equal(mostAtOnce, 3, 'the three sources had a request in flight at the same time');
  });

  it('walks again from the start a source whose checkpointed cursor is from a key-order release', async () => {
    const context = await setUp();
    const engine = new MemoryEngine(hash);
    const store = new MemoryJobStore();
    const first = transferFor(context, engine, store, 2);
    assert.equal(await first.run(context.plan), false);
    const saved = store.load('transfer') as { sources: Record<string, { after: unknown }> };
    for (const source of Object.values(saved.sources)) source.after = 'key-1';
    await store.save('transfer', saved);
    const second = transferFor(context, engine, store, 10_000);
    assert.equal(await second.run(context.plan), true);
    assert.deepEqual(await heldKeys(engine), context.gained);
  });
});
