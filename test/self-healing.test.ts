// Real node processes heal without client reads: a node that was down while 1,000 keys
// were written gets every one of them back (durable hints, then anti-entropy), and a node that lost its
// whole data directory is refilled. Checked through each node's own /keys listing.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCluster, waitFor, waitForAllUp, type TestNode } from './support/cluster.js';

const healingArgs = ['--anti-entropy-interval-ms', '200', '--read-repair-chance', '0'];

async function heldKeys(node: TestNode): Promise<Set<string>> {
  return new Set(await node.client.allKeys());
}

describe('self-healing', () => {
  it('gives a restarted node every key written while it was down, with no client reads', async () => {
    const cluster = await startCluster({ nodes: 3, storage: 'lmdb', extraArgs: healingArgs });
    try {
      const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
      await n3.kill('SIGKILL');
      await waitFor(async () => (await n1.client.cluster()).members.find((member) => member.nodeId === 'n3')?.state === 'down', 10_000);
      const keys = Array.from({ length: 1000 }, (_, i) => `healed-${i}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key, j) => (j % 2 === 0 ? n1 : n2).client.put(key, i + j)));
      }
      const hinted = (await n1.client.nodeInfo()).replication.pendingHints ?? 0;
      const hinted2 = (await n2.client.nodeInfo()).replication.pendingHints ?? 0;
      assert.equal(hinted + hinted2, keys.length, 'each write that missed n3 left one durable hint');
      await n3.start();
      await waitForAllUp(cluster.nodes, 15_000);
      const started = Date.now();
      await waitFor(async () => (await heldKeys(n3)).size === keys.length, 30_000);
      const seconds = (Date.now() - started) / 1000;
      const held = await heldKeys(n3);
      for (const key of keys) assert.ok(held.has(key), `${key} missing on n3`);
      await waitFor(async () => ((await n1.client.nodeInfo()).replication.pendingHints ?? 1) === 0, 15_000);
      process.stdout.write(`# n3 had all ${keys.length} keys ${seconds.toFixed(1)} s after it came back\n`);
    } finally {
      await cluster.stop();
    }
  });

  it('marks a paused (SIGSTOP) node down and alive again after SIGCONT', async () => {
    const cluster = await startCluster({ nodes: 3, extraArgs: ['--suspicion-timeout-ms', '1500'] });
    try {
      const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
      const stateOf = async (observer: TestNode, nodeId: string) => (await observer.client.cluster()).members.find((member) => member.nodeId === nodeId)?.state;
      n3.signal('SIGSTOP');
      await waitFor(async () => (await stateOf(n1, 'n3')) === 'down' && (await stateOf(n2, 'n3')) === 'down', 15_000);
      // Writes at quorum go on while it is paused.
      await n1.client.put('during-pause', 1);
      n3.signal('SIGCONT');
      await waitFor(async () => (await stateOf(n1, 'n3')) === 'up' && (await stateOf(n2, 'n3')) === 'up', 15_000);
      await waitFor(async () => (await heldKeys(n3)).has('during-pause'), 15_000);
    } finally {
      await cluster.stop();
    }
  });

  it('refills a node that lost its data directory, and reports its repair horizon', async () => {
    const cluster = await startCluster({ nodes: 3, storage: 'lmdb', extraArgs: healingArgs });
    try {
      const [n1, n2] = cluster.nodes as [TestNode, TestNode, TestNode];
      const keys = Array.from({ length: 300 }, (_, i) => `kept-${i}`);
      await Promise.all(keys.map((key, i) => n1.client.put(key, { i }, 'all')));
      await n2.kill('SIGKILL');
      rmSync(join(cluster.dataDir, 'n2'), { recursive: true, force: true });
      await n2.start();
      await waitForAllUp(cluster.nodes, 15_000);
      await waitFor(async () => (await heldKeys(n2)).size === keys.length, 30_000);
      const repair = await n2.client.repair();
      assert.equal(repair.rangesOwned > 0, true);
      await waitFor(async () => (await n2.client.nodeInfo()).replication.repairHorizonMs !== null, 15_000);
    } finally {
      await cluster.stop();
    }
  });

  it('keeps a deleted key deleted when the replica that missed the delete returns, and purges the tombstone only afterwards', async () => {
    // No hints, so only anti-entropy can bring the tombstone to the returning replica; a
    // short purge margin, so the purge falls within the test.
    const purgeArgs = [...healingArgs, '--hints-per-target-max', '0', '--tombstone-purge-margin-ms', '500'];
    const cluster = await startCluster({ nodes: 3, storage: 'lmdb', extraArgs: purgeArgs });
    try {
      const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
      await n1.client.put('doomed', 'old value', 'all');
      await n3.kill('SIGKILL');
      await waitFor(async () => (await n1.client.cluster()).members.find((member) => member.nodeId === 'n3')?.state === 'down', 10_000);
      await n1.client.delete('doomed');
      assert.equal(await n2.client.get('doomed'), null);
      // While n3 (which still holds the old value) is away, no tombstone may be purged,
      // however long the wait: its range cannot be verified on every replica.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      for (const node of [n1, n2]) {
        const replication = (await node.client.nodeInfo()).replication;
        assert.equal(replication.tombstonesPurged, 0, `${node.id} purged a tombstone while a replica was down`);
        assert.ok(replication.tombstones >= 1, `${node.id} still holds the tombstone`);
      }
      await n3.start();
      await waitForAllUp(cluster.nodes, 15_000);
      // Anti-entropy brings the tombstone to n3; once every replica has verified it, all purge it.
      await waitFor(async () => {
        const infos = await Promise.all(cluster.nodes.map((node) => node.client.nodeInfo()));
        return infos.every((info) => info.replication.tombstones === 0) && infos.some((info) => info.replication.tombstonesPurged > 0);
      }, 30_000);
      for (const node of cluster.nodes) {
        assert.equal(await node.client.get('doomed', 'all'), null, `the deleted key came back on ${node.id}`);
        assert.equal((await heldKeys(node)).has('doomed'), false);
        const replicas = await node.client.replicas('doomed');
        assert.ok(replicas.replicas.every((copy) => copy.status === 'missing'), `a copy of doomed is left: ${JSON.stringify(replicas)}`);
      }
      // And it stays deleted through further repair rounds.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(await n3.client.get('doomed', 'all'), null);
    } finally {
      await cluster.stop();
    }
  });
});
