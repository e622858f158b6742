// Real node processes on loopback: a key written on one node is read on the others and
// deleted through a third; with 5 nodes and N=3 every key sits on exactly its 3 owners;
// with one node killed (SIGKILL) keys stay readable and writable at quorum, and the
// restarted LMDB node has its keys again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingkvError } from '@ringkv/client';
import { startCluster, waitFor, waitForAllUp } from './support/cluster.js';

describe('real cluster', () => {
  it('reads on every node what one node wrote, and deletes everywhere through a third', async () => {
    const cluster = await startCluster({ nodes: 3 });
    try {
      const [n1, n2, n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
      const written = await n1.client.put('mykey', { hello: 'world', list: [1, 2, 3] });
      assert.ok(written.acks >= 2);
      for (const node of [n2, n3]) {
        const read = await node.client.get('mykey');
        assert.deepEqual(read?.value, { hello: 'world', list: [1, 2, 3] });
        assert.equal(read?.version, written.body.version);
      }
      await n3.client.delete('mykey');
      for (const node of cluster.nodes) assert.equal(await node.client.get('mykey'), null, `${node.id} still returns the key`);
      // Writes at all, reads at one: every replica has the write when W=all returned.
      await n2.client.put('everywhere', 42, 'all');
      for (const node of cluster.nodes) assert.equal((await node.client.get('everywhere', 'one'))?.value, 42);
    } finally {
      await cluster.stop();
    }
  });

  it('places each of 300 keys on exactly its 3 owners in a 5-node cluster', async () => {
    const cluster = await startCluster({ nodes: 5, replicas: 3 });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `user:${i}`);
      for (let i = 0; i < keys.length; i += 30) {
        await Promise.all(keys.slice(i, i + 30).map((key, j) => cluster.nodes[(i + j) % 5]!.client.put(key, { i: i + j }, 'all')));
      }
      const holders = new Map<string, string[]>();
      for (const node of cluster.nodes) {
        for (const key of await node.client.allKeys()) holders.set(key, [...(holders.get(key) ?? []), node.id]);
      }
      assert.equal(holders.size, 300);
      for (const key of keys) {
        const owners = (await cluster.nodes[0]!.client.owners(key)).owners;
        assert.equal(owners.length, 3);
        assert.deepEqual([...(holders.get(key) ?? [])].sort(), [...owners].sort(), `${key} is held by the wrong nodes`);
      }
      // Every node agrees on placement.
      const sample = await Promise.all(cluster.nodes.map((node) => node.client.owners('user:7')));
      for (const view of sample) assert.deepEqual(view.owners, sample[0]!.owners);
    } finally {
      await cluster.stop();
    }
  });

  it('keeps every key readable and writable at quorum with one node killed, and the restarted LMDB node has its keys', async () => {
    const cluster = await startCluster({ nodes: 3, storage: 'lmdb' });
    try {
      const [n1, n2, n3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((key, i) => n1.client.put(key, i, 'all')));
      const heldBefore = new Set(await n3.client.allKeys());
      assert.equal(heldBefore.size, 100, 'with N=3 on 3 nodes, every node holds every key');

      await n3.kill('SIGKILL');
      for (const [i, key] of keys.entries()) {
        const reader = i % 2 === 0 ? n1 : n2;
        assert.equal((await reader.client.get(key))?.value, i, `${key} unreadable at quorum`);
      }
      await Promise.all(keys.map((key, i) => n2.client.put(key, i + 1000)));
      for (const key of keys.slice(0, 10)) assert.equal((await n1.client.get(key))?.value, Number(key.slice(1)) + 1000);
      // W=all cannot be met: refused, honestly, and nothing was written anywhere.
      await waitFor(async () => (await n1.client.cluster()).members.find((member) => member.nodeId === 'n3')?.state === 'down', 10_000);
      await assert.rejects(n1.client.put('needs-all', 1, 'all'), (error: unknown) => error instanceof RingkvError && error.status === 503);
      assert.equal(await n2.client.get('needs-all', 'one'), null);

      await n3.start();
      await waitForAllUp(cluster.nodes, 15_000);
      const heldAfter = new Set(await n3.client.allKeys());
      for (const key of heldBefore) assert.ok(heldAfter.has(key), `${key} lost by the restarted node`);
      // Quorum reads through the restarted node see the newer values (read repair brings it up to date).
      for (const [i, key] of keys.slice(0, 20).entries()) assert.equal((await n3.client.get(key))?.value, i + 1000);
    } finally {
      await cluster.stop();
    }
  });
});
