// Watches a 3-node in-process cluster on a virtual clock: changes written through any node
// arrive once each, in version order per key, with deletes and expiries; a watch resumed on
// another node from the last cursor misses nothing and repeats nothing, also after the
// watch's own node crashed; a cursor older than retention is refused.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { formatVersion } from '../storage/record.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { ChangesReply, ChangesRequest } from '../protocol/messages.js';
import type { Transport } from '../protocol/transport.js';
import type { StoredRecord } from '../storage/record.js';
import type { ChangeEntry } from './change-log.js';
import { parseCursor } from './watch-cursor.js';
import { WatchError, WatchSession, type WatchEvent } from './watch-session.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Seen {
  events: WatchEvent[];
  cursor: string | undefined;
  ended: WatchError | undefined;
  ready: boolean;
}

function recorder(): Seen {
  return { events: [], cursor: undefined, ended: undefined, ready: false };
}

function listenerFor(seen: Seen) {
  return {
    ready: (cursor: string) => {
      seen.ready = true;
      seen.cursor = cursor;
    },
    change: (event: WatchEvent) => {
      seen.events.push(event);
      seen.cursor = event.cursor;
    },
    progress: (cursor: string) => {
      seen.cursor = cursor;
    },
    ended: (error: WatchError) => {
      seen.ended = error;
    },
  };
}

async function startCluster(seed: number) {
  const cluster = new InProcessCluster({ nodes: 3, seed, hash, yieldToEventLoop });
  await cluster.start();
  return cluster;
}

describe('watch', () => {
  it('delivers every put, delete and expiry under the prefix once, in version order per key', async () => {
    const cluster = await startCluster(11);
    const [n1, n2, n3] = cluster.members.map((member) => member.node);
    const seen: Seen = recorder();
    await cluster.settle(n1!.openWatch('app/', undefined, listenerFor(seen)));
    assert.ok(seen.ready);
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const node = [n1!, n2!, n3!][i % 3]!;
      const written = await cluster.settle(node.coordinator.put('app/a', i, 2));
      versions.push(formatVersion(written.record));
    }
    await cluster.settle(n2!.coordinator.put('other', 'not watched', 2));
    const deleted = await cluster.settle(n3!.coordinator.delete('app/a', 2));
    const expiring = await cluster.settle(n2!.coordinator.put('app/ttl', 'short', 2, 1));
    await cluster.run(3000);
    const puts = seen.events.filter((event) => event.key === 'app/a' && event.kind === 'put');
    assert.deepEqual(
      puts.map((event) => event.record.value),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      puts.map((event) => formatVersion(event.record)),
      versions,
    );
    assert.ok(seen.events.some((event) => event.key === 'app/a' && event.kind === 'delete' && formatVersion(event.record) === formatVersion(deleted.record)));
    const ttl = seen.events.filter((event) => event.key === 'app/ttl');
    assert.deepEqual(
      ttl.map((event) => event.kind),
      ['put', 'expire'],
    );
    assert.equal(formatVersion(ttl[1]!.record), formatVersion(expiring.record));
    assert.ok(seen.events.every((event) => event.key.startsWith('app/')));
    assert.equal(seen.ended, undefined);
    cluster.stop();
  });

  it('resumes on another node from the last cursor after its node crashed: nothing lost, nothing repeated', async () => {
    const cluster = await startCluster(12);
    const [n1, n2] = cluster.members.map((member) => member.node);
    const first: Seen = recorder();
    await cluster.settle(n1!.openWatch('', undefined, listenerFor(first)));
    const written: string[] = [];
    const write = async (i: number) => {
      const node = cluster.members[(i % 2) + 1]!.node;
      const result = await cluster.settle(node.coordinator.put(`k${i % 7}`, i, 2));
      written.push(`k${i % 7}@${formatVersion(result.record)}`);
    };
    for (let i = 0; i < 30; i++) {
      await write(i);
      await cluster.run(20);
    }
    cluster.crash('n1');
    assert.ok(first.ended === undefined || first.ended.reason === 'closed');
    const resumeFrom = first.cursor as string;
    assert.ok(parseCursor(resumeFrom));
    for (let i = 30; i < 60; i++) {
      const node = cluster.member('n2').node;
      const result = await cluster.settle(node.coordinator.put(`k${i % 7}`, i, 2));
      written.push(`k${i % 7}@${formatVersion(result.record)}`);
    }
    const second: Seen = recorder();
    await cluster.settle(n2!.openWatch('', parseCursor(resumeFrom), listenerFor(second)));
    await cluster.run(3000);
    const delivered = [...first.events, ...second.events].map((event) => `${event.key}@${formatVersion(event.record)}`);
    assert.equal(new Set(delivered).size, delivered.length, 'a change was delivered twice');
    for (const change of written) assert.ok(delivered.includes(change), `${change} was never delivered`);
    cluster.stop();
  });

  it('logs no expiry for a value a newer write replaced on the other replicas, though this one missed it', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 14, hash, yieldToEventLoop, node: { antiEntropyIntervalMs: 0, hintDeliveryIntervalMs: 0 } });
    await cluster.start();
    const n1 = cluster.member('n1').node;
    const expiring = await cluster.settle(n1.coordinator.put('lease', 'held', 'all', 1));
    cluster.crash('n3');
    await cluster.run(50);
    const replaced = await cluster.settle(n1.coordinator.put('lease', 'renewed for good', 2));
    cluster.restart('n3');
    // n3 still holds the expiring value (no hint, no repair reached it) when its ttl passes.
    await cluster.run(3000);
    assert.equal((await cluster.member('n3').engine.get('lease'))?.hlc, expiring.record.hlc);
    for (const member of cluster.members) {
      const logged = member.changes.read(0, 1000).filter((entry) => entry.key === 'lease');
      assert.ok(!logged.some((entry) => entry.expired), `${member.nodeId} logged an expiry of a value replaced by ${formatVersion(replaced.record)}`);
    }
    cluster.stop();
  });

  it('delivers a conditional write whose proposer stalled past the close window between prepare and accept', async () => {
    // Cas seed 5100641: a conditional write's version is its ballot, stamped at prepare. Its
    // proposer's disk held its own promise longer than the close window (n3 down, so that
    // promise was needed), and the watch passed the ballot's time on every replica before
    // the accept came. The acceptors took the late proposal and committed it under that old
    // version: logged below what the watch had passed, it never arrived.
    const cluster = await startCluster(17);
    const n1 = cluster.member('n1');
    const n2 = cluster.member('n2').node;
    const seen = recorder();
    await cluster.settle(n2.openWatch('cas/', undefined, listenerFor(seen)));
    cluster.crash('n3');
    await cluster.run(3000);
    n1.disk.delayMinMs = n1.disk.delayMaxMs = 450;
    const writing = n1.node.paxos.write('cas/k', { value: 'late', tombstone: false }, { ifNoneMatch: true });
    await cluster.run(100);
    n1.disk.delayMinMs = n1.disk.delayMaxMs = 0;
    const written = await cluster.settle(writing);
    await cluster.run(2000);
    assert.equal(seen.ended, undefined);
    assert.deepEqual(
      seen.events.map((event) => `${event.kind} ${event.key} ${formatVersion(event.record)}`),
      [`put cas/k ${formatVersion(written.record)}`],
    );
    cluster.stop();
  });

  it('waits for a member that is up and has not answered yet, however long its first answer takes', async () => {
    // Ring-changes seed 4700099: after a leave only n1's log still held a quorum put (its
    // other replica left, a newer write replaced it everywhere). A watch resumed on n3 from
    // before the leave lost its first question to n1 and awaited the answer for 5 s; n3
    // and n4 cover every key of the new ring, and after 2 s the watch passed the put.
    const clock = new VirtualClock(1_000_000);
    const cursorAt = clock.nowMs() - 1000;
    const put: StoredRecord = { value: 'only on n1', hlc: cursorAt + 100, nodeId: 'n2', tombstone: false };
    const logs = new Map<string, ChangeEntry[]>([
      ['n1', [{ pos: cursorAt + 102, key: 'k', record: put, expired: false }]],
      ['n3', []],
      ['n4', []],
    ]);
    const answer = (nodeId: string, request: ChangesRequest): ChangesReply => {
      const entries = (logs.get(nodeId) ?? []).filter((entry) => request.after === null || entry.pos > request.after);
      const last = entries.reduce((highest, entry) => Math.max(highest, entry.pos), request.after ?? 0);
      return { type: 'changesReply', gone: false, entries, last, more: false, floor: clock.nowMs() - 300, prunedThrough: 0 };
    };
    let pollsOfN1 = 0;
    const transport: Transport = {
      request: ((address: string, body: ChangesRequest, timeoutMs: number) =>
        new Promise<ChangesReply>((resolve, reject) => {
          // n1's first poll is lost: the watch hears nothing until its timeout.
          if (address === 'n1' && body.after !== null && pollsOfN1++ === 0) clock.setTimer(timeoutMs, () => reject(new Error('no reply')));
          else clock.setTimer(1, () => resolve(answer(address, body)));
        })) as Transport['request'],
    };
    const members = ['n1', 'n3', 'n4'].map((nodeId) => ({ nodeId, address: nodeId }));
    const seen = recorder();
    const session = new WatchSession(
      {
        selfId: 'n3',
        members: () => members,
        isAvailable: () => true,
        covers: (nodeIds) => members.filter((member) => nodeIds.has(member.nodeId)).length >= 2,
        local: (request) => answer('n3', request),
        transport,
        clock,
      },
      { prefix: '', cursor: { at: cursorAt }, startTimeoutMs: 5000 },
      listenerFor(seen),
    );
    const started = session.start();
    for (let step = 0; step < 800; step++) {
      clock.advance(10);
      await yieldToEventLoop();
    }
    await started;
    session.close();
    assert.ok(pollsOfN1 >= 2, 'n1 was asked again after its first poll was lost');
    assert.deepEqual(
      seen.events.map((event) => `${event.kind} ${event.key} ${String(event.record.value)}`),
      ['put k only on n1'],
    );
    assert.ok((parseCursor(seen.cursor as string)?.at ?? 0) > put.hlc, 'the watch went on past the put');
  });

  it('refuses a cursor older than what the members keep', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 13, hash, yieldToEventLoop, node: { changes: { retentionMs: 1000 } } });
    await cluster.start();
    const n1 = cluster.member('n1').node;
    const seen: Seen = recorder();
    await cluster.settle(n1.openWatch('', undefined, listenerFor(seen)));
    const old = seen.cursor as string;
    for (let i = 0; i < 5; i++) {
      await cluster.settle(n1.coordinator.put(`old${i}`, i, 2));
      await cluster.run(1000);
    }
    const late: Seen = recorder();
    await assert.rejects(cluster.settle(n1.openWatch('', parseCursor(old), listenerFor(late))), (error: unknown) => error instanceof WatchError && error.reason === 'gone');
    assert.equal(late.ready, false);
    cluster.stop();
  });
});
