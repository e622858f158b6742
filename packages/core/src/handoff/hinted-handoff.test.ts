// Delivers hints on a virtual clock through a transport whose pushes take time, and checks
// that delivery gives way to clients: with client requests in flight a round pauses after
// each target's batch (the background budget), and with none it runs at full speed.
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
  const startMs = clock.nowMs();
  let done = false;
  void handoff.round().then(() => (done = true));
  for (let i = 0; i < 100_000 && !done; i++) {
    await new Promise(setImmediate);
    if (!done) clock.advance(1);
  }
  assert.ok(done, 'the round finished');
  return { tookMs: clock.nowMs() - startMs, delivered: handoff.deliveredTotal };
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
});
