// Checks the simulated network's faults one by one on two echo endpoints over a virtual
// clock: delays, loss, duplication, reordering, one-way cuts and healing, crashed and
// restarted processes, starved gossip, and what the observer is told.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../clock/virtual-clock.js';
import { SeededRng } from '../rng.js';
import type { GetRequest, MemberAddress, MemberUpdate, PeerReply, PingRequest } from './messages.js';
import { MemoryNetwork, type MemoryNetworkOptions, type MessageEvent } from './memory-network.js';
import { PeerError, type DataRequest, type Transport } from './transport.js';

const a: MemberAddress = { nodeId: 'a', address: 'a:1' };
const b: MemberAddress = { nodeId: 'b', address: 'b:1' };
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** b answers every get with a record whose value counts the gets it handled. */
function setUp(options: Partial<MemoryNetworkOptions> = {}, seed = 1) {
  const clock = new VirtualClock(0);
  const events: MessageEvent[] = [];
  const network = new MemoryNetwork(clock, new SeededRng(seed), options, { messageSent: (event) => events.push(event) });
  const handled: string[] = [];
  const echo = async (body: DataRequest): Promise<PeerReply> => {
    handled.push(body.type === 'get' ? body.key : body.type);
    return { type: 'getReply', record: { value: handled.length, hlc: 1, nodeId: 'b', tombstone: false } };
  };
  const fromA = network.attach(a, echo);
  network.attach(b, echo);
  return { clock, network, events, handled, fromA, echo };
}

async function advance(clock: VirtualClock, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    clock.advance(1);
    await flush();
  }
}

function track<T>(promise: Promise<T>): { settled: () => boolean; result: Promise<T> } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled, result: promise };
}

const get = (key: string): GetRequest => ({ type: 'get', key });

describe('MemoryNetwork', () => {
  it('delivers a request and its reply after the configured delays', async () => {
    const { clock, fromA, events } = setUp({ delayMinMs: 5, delayMaxMs: 5 });
    const call = track(fromA.request(b.address, get('k'), 100));
    await advance(clock, 9);
    assert.equal(call.settled(), false);
    await advance(clock, 1);
    assert.equal(call.settled(), true);
    assert.equal((await call.result).record?.value, 1);
    assert.deepEqual(events.map((event) => [event.from, event.to, event.reply?.type ?? event.request.type, event.fate]), [
      ['a:1', 'b:1', 'get', { kind: 'sent', delaysMs: [5] }],
      ['b:1', 'a:1', 'getReply', { kind: 'sent', delaysMs: [5] }],
    ]);
  });

  it('loses messages at the drop probability, and the caller times out with "maybe delivered"', async () => {
    const { clock, fromA, events } = setUp({ dropProbability: 1 });
    const call = fromA.request(b.address, get('k'), 50);
    const failure = assert.rejects(call, (error: unknown) => error instanceof PeerError && error.code === 'timeout' && error.maybeDelivered);
    await advance(clock, 50);
    await failure;
    assert.deepEqual(events[0]?.fate, { kind: 'dropped' });
  });

  it('duplicates messages: the handler runs twice, the caller settles once', async () => {
    const { clock, fromA, handled, events } = setUp({ duplicateProbability: 1, delayMinMs: 1, delayMaxMs: 4 });
    const reply = fromA.request(b.address, get('k'), 100);
    await advance(clock, 20);
    assert.equal((await reply).type, 'getReply');
    assert.deepEqual(handled, ['k', 'k']);
    assert.ok(events.every((event) => event.fate.kind === 'sent' && event.fate.delaysMs.length === 2));
  });

  it('holds messages back so that later ones overtake them', async () => {
    const { clock, fromA, handled } = setUp({ delayMinMs: 1, delayMaxMs: 1, reorderProbability: 0.5, reorderDelayMaxMs: 30 }, 7);
    const calls = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'].map((key) => fromA.request(b.address, get(key), 200));
    await advance(clock, 100);
    await Promise.all(calls);
    assert.equal(handled.length, 8);
    assert.notDeepEqual(handled, [...handled].sort(), 'some request should have been overtaken');
  });

  it('cuts one direction only, and heals it', async () => {
    const { clock, network, fromA, handled } = setUp();
    network.cut(b.address, a.address, false);
    assert.equal(network.isCut(b.address, a.address), true);
    assert.equal(network.isCut(a.address, b.address), false);
    const lost = assert.rejects(fromA.request(b.address, get('k'), 30), (error: unknown) => error instanceof PeerError && error.code === 'timeout');
    await advance(clock, 30);
    await lost;
    assert.deepEqual(handled, ['k'], 'the request got through; only the reply was cut');
    network.heal(b.address, a.address, false);
    const reply = fromA.request(b.address, get('k'), 30);
    await advance(clock, 10);
    assert.equal((await reply).type, 'getReply');
  });

  it('treats a crash as the end of a process: its transport goes silent, messages to it are lost across a restart', async () => {
    const { clock, network, fromA, handled, echo } = setUp({ delayMinMs: 5, delayMaxMs: 5 });
    const inFlight = assert.rejects(fromA.request(b.address, get('before-crash'), 40), (error: unknown) => error instanceof PeerError && error.code === 'timeout');
    await advance(clock, 2);
    network.setUp(b.address, false);
    const restartedB: Transport = network.attach(b, echo);
    await advance(clock, 40);
    await inFlight;
    assert.deepEqual(handled, [], 'a request sent to the old process is not handled by the new one');
    network.setUp(a.address, false);
    const silent = track(fromA.request(b.address, get('from-the-dead'), 10));
    await advance(clock, 50);
    assert.equal(silent.settled(), false, "a dead process's requests never leave and never settle");
    assert.deepEqual(handled, []);
    const fresh = restartedB.request(a.address, get('x'), 10);
    const refused = assert.rejects(fresh, (error: unknown) => error instanceof PeerError && error.code === 'timeout');
    await advance(clock, 10);
    await refused;
  });

  it('refuses requests to a crashed node at once, with nothing sent, when asked to', async () => {
    const { clock, network, fromA, handled, events } = setUp({ refuseWhenDown: true });
    network.setUp(b.address, false);
    const refused = assert.rejects(fromA.request(b.address, get('k'), 100), (error: unknown) => error instanceof PeerError && error.code === 'not-connected' && !error.maybeDelivered);
    await refused;
    assert.equal(clock.nowMs(), 0);
    assert.deepEqual(handled, []);
    assert.deepEqual(events[0]?.fate, { kind: 'refused' });
  });

  it('reports a request handler that rejects to the observer', async () => {
    const clock = new VirtualClock(0);
    const failures: unknown[] = [];
    const network = new MemoryNetwork(clock, new SeededRng(1), {}, { handlerFailed: (_address, _request, error) => failures.push(error) });
    const fromA = network.attach(a, async () => ({ type: 'failure', code: 'refused', message: 'a serves nothing' }));
    network.attach(b, async () => {
      throw new Error('boom');
    });
    const call = assert.rejects(fromA.request(b.address, get('k'), 20), PeerError);
    await advance(clock, 20);
    await call;
    assert.equal((failures[0] as Error).message, 'boom');
  });

  it('replays the same fates from the same seed', async () => {
    const fates = async () => {
      const { clock, fromA, events } = setUp({ delayMinMs: 1, delayMaxMs: 9, dropProbability: 0.2, duplicateProbability: 0.2, reorderProbability: 0.2, reorderDelayMaxMs: 20 }, 42);
      const calls = Array.from({ length: 20 }, (_, i) => fromA.request(b.address, get(`k${i}`), 100).catch(() => undefined));
      await advance(clock, 120);
      await Promise.all(calls);
      return events.map((event) => JSON.stringify([event.request, event.reply ?? null, event.fate]));
    };
    assert.deepEqual(await fates(), await fates());
  });

  it('starves gossip at one address for a while: SWIM messages to and from it arrive without updates, data messages untouched', async () => {
    const clock = new VirtualClock(0);
    const network = new MemoryNetwork(clock, new SeededRng(1), { delayMinMs: 1, delayMaxMs: 1 });
    const c: MemberAddress = { nodeId: 'c', address: 'c:1' };
    const news: MemberUpdate = { ...c, state: 'up', life: 0, incarnation: 3, ring: 'normal', synced: 0, horizon: 0, serving: true, epoch: 0 };
    const arrived: Array<[string, DataRequest]> = [];
    const answering = (name: string) => async (body: DataRequest): Promise<PeerReply> => {
      arrived.push([name, body]);
      if (body.type === 'ping') return { type: 'pong', updates: [news] };
      return { type: 'getReply', record: null };
    };
    const fromA = network.attach(a, answering('a'));
    network.attach(b, answering('b'));
    const fromC = network.attach(c, answering('c'));
    network.starveGossip(b.address, 50);
    const ping = (from: MemberAddress): PingRequest => ({ type: 'ping', from, updates: [news] });
    const pongToA = track(fromA.request(b.address, ping(a), 20));
    const pongToC = track(fromC.request(a.address, ping(c), 20));
    const dataToB = track(fromA.request(b.address, get('k'), 20));
    await advance(clock, 5);
    // Both ends stay reachable (a probe is answered), but news crosses only where b is not involved.
    assert.deepEqual(await pongToA.result, { type: 'pong', updates: [] });
    assert.deepEqual(await pongToC.result, { type: 'pong', updates: [news] });
    assert.deepEqual((await dataToB.result).record, null);
    assert.deepEqual(arrived.map(([name, body]) => [name, body.type, 'updates' in body ? body.updates.length : -1]), [
      ['b', 'ping', 0],
      ['a', 'ping', 1],
      ['b', 'get', -1],
    ]);
    assert.equal(network.isGossipStarved(b.address), true);
    // Once the window ends, gossip flows again.
    await advance(clock, 50);
    assert.equal(network.isGossipStarved(b.address), false);
    const later = track(fromA.request(b.address, ping(a), 20));
    await advance(clock, 5);
    assert.deepEqual(await later.result, { type: 'pong', updates: [news] });
    const last = arrived.at(-1)?.[1];
    assert.equal(last?.type === 'ping' ? last.updates.length : -1, 1);
  });
});
