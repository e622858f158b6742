// Delivers hints on a virtual clock through a transport whose pushes take time, and checks
// that delivery gives way to clients: with client requests in flight a round pauses after
// each target's batch (the background budget), and with none it runs at full speed; and
// that a push lost on the way to one target does not hold up the others' hints, in its
// round or in a later one that overlaps it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundBudget } from '../clock/background-budget.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { Transport } from '../protocol/transport.js';
import { MemoryHintStore } from './hint-store.js';
import { HintedHandoff } from './hinted-handoff.js';

const pushMs = 20;
const targets = ['n2', 'n3', 'n4', 'n5'];

/** Virtual ms one delivery round takes with `inflight` client requests in flight. */
async function roundMs(inflight: number): Promise<{ tookMs: number; delivered: number }> {
  const clock = new VirtualClock();
  const store = new MemoryHintStore();
  for (const target of targets) {
    for (let i = 0; i < 10; i++) await store.add({ target, key: `k${i}`, record: { value: i, tombstone: false, hlc: 1000 + i, nodeId: 'n1' }, storedAtMs: 0 });
  }
  const transport: Transport = {
    request: (_address, body) =>
      new Promise((resolve) => clock.setTimer(pushMs, () => resolve({ type: 'pushAck', applied: body.type === 'pushRecords' ? body.entries.length : 0 } as never))),
  };
  const handoff = new HintedHandoff({
    store,
    transport,
    addressOf: (nodeId) => `${nodeId}:1`,
    isUp: () => true,
    budget: new BackgroundBudget(clock, { inflight: () => inflight }),
  });
  const tookMs = await roundOnVirtualClock(handoff, clock);
  return { tookMs, delivered: handoff.deliveredTotal };
}

/** Runs one delivery round, moving the virtual clock 1 ms at a time; resolves with the ms it took. */
async function roundOnVirtualClock(handoff: HintedHandoff, clock: VirtualClock): Promise<number> {
  const startMs = clock.nowMs();
  let done = false;
  void handoff.round().then(() => (done = true));
  for (let i = 0; i < 100_000 && !done; i++) {
    await new Promise(setImmediate);
    if (!done) clock.advance(1);
  }
  assert.ok(done, 'the round finished');
  return clock.nowMs() - startMs;
}

describe('hinted handoff', () => {
  it('gives way to clients: a round under client load pauses after each batch, an idle one does not', async () => {
    const idle = await roundMs(0);
    const busy = await roundMs(3);
    assert.equal(idle.delivered, 40);
    assert.equal(busy.delivered, 40);
    assert.ok(idle.tookMs <= targets.length * pushMs + targets.length, `idle round took ${idle.tookMs} ms`);
    // With 3 requests in flight background work keeps a quarter of the time: about 3x its work in pauses.
    assert.ok(busy.tookMs >= idle.tookMs * 3, `busy round took ${busy.tookMs} ms, idle ${idle.tookMs} ms`);
  });

  it('delivers to every target at once: a lost push to one does not hold up the others', async () => {
    const clock = new VirtualClock();
    const store = new MemoryHintStore();
    for (const target of targets) await store.add({ target, key: 'k', record: { value: 1, tombstone: false, hlc: 1000, nodeId: 'n1' }, storedAtMs: 0 });
    const deliveredAtMs = new Map<string, number>();
    const transport: Transport = {
      // n2's pushes are lost: the request fails only when its timeout passes.
      request: (address, _body, timeoutMs) =>
        new Promise((resolve, reject) => {
          if (address === 'n2:1') clock.setTimer(timeoutMs ?? 0, () => reject(new Error('timed out')));
          else
            clock.setTimer(pushMs, () => {
              deliveredAtMs.set(address, clock.nowMs());
              resolve({ type: 'pushAck', applied: 1 } as never);
            });
        }),
    };
    const handoff = new HintedHandoff({ store, transport, addressOf: (nodeId) => `${nodeId}:1`, isUp: () => true }, { requestTimeoutMs: 5000 });
    const startMs = clock.nowMs();
    await roundOnVirtualClock(handoff, clock);
    assert.deepEqual([...deliveredAtMs.keys()].sort(), ['n3:1', 'n4:1', 'n5:1']);
    for (const [address, atMs] of deliveredAtMs) assert.ok(atMs - startMs <= pushMs + 1, `${address} got its hint ${atMs - startMs} ms into the round`);
    assert.deepEqual(store.targets(), ['n2'], "n2's hint waits for the next round");
    assert.equal(handoff.heldSinceMs(), 0, 'the horizon still stops at the waiting hint');
  });

  it('leaves a target whose push is under way to it: an overlapping round delivers only to the others', async () => {
    const clock = new VirtualClock();
    const store = new MemoryHintStore();
    const record = { value: 1, tombstone: false, hlc: 1000, nodeId: 'n1' };
    await store.add({ target: 'n2', key: 'k', record, storedAtMs: 0 });
    const pushes: string[] = [];
    const transport: Transport = {
      // n2's push is lost and fails when its timeout passes; n3's arrives.
      request: (address, _body, timeoutMs) => {
        pushes.push(address);
        return new Promise((resolve, reject) => {
          if (address === 'n2:1') clock.setTimer(timeoutMs ?? 0, () => reject(new Error('timed out')));
          else clock.setTimer(pushMs, () => resolve({ type: 'pushAck', applied: 1 } as never));
        });
      },
    };
    const handoff = new HintedHandoff({ store, transport, addressOf: (nodeId) => `${nodeId}:1`, isUp: () => true }, { requestTimeoutMs: 5000 });
    let firstDone = false;
    void handoff.round().then(() => (firstDone = true));
    await new Promise(setImmediate);
    await store.add({ target: 'n3', key: 'k', record, storedAtMs: 10 });
    await roundOnVirtualClock(handoff, clock);
    assert.ok(!firstDone, "the first round still waits on n2's push");
    assert.deepEqual(pushes, ['n2:1', 'n3:1'], 'n2 was not pushed twice at once');
    assert.deepEqual(store.targets(), ['n2']);
  });
});
