// Watches a 3-node in-process cluster on a virtual clock: changes written through any node
// arrive once each, in version order per key, with deletes and expiries; a watch resumed on
// another node from the last cursor misses nothing and repeats nothing, also after the
// watch's own node crashed; a cursor older than retention is refused.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { formatVersion } from '../storage/record.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { parseCursor } from './watch-cursor.js';
import { WatchError, type WatchEvent } from './watch-session.js';

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
