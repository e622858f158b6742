// The cluster client (RingkvClusterClient) against real node processes on loopback: each
// key's request reaches one of its replicas (checked per key against /cluster/owners and
// per node against the nodes' own request counters in /metrics), a join is picked up by
// the ring refresh, reads and quorum writes keep working with one node SIGKILLed, a
// frozen (SIGSTOP) node is failed over for reads, and AbortSignal and timeouts end
// requests promptly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingkvClusterClient, RingkvUnavailableError, type AttemptEvent } from '@ringkv/client';
import { startCluster, waitFor, waitForAllUp, type TestCluster, type TestNode } from './support/cluster.js';

/** Client PUTs and GETs of /store/{key} a node has served, by its own counters. */
async function storeRequests(node: TestNode, method: 'GET' | 'PUT'): Promise<number> {
  const text = await node.client.metrics();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('ringkv_http_requests_total{') && line.includes(`method="${method}"`) && line.includes('route="/store/:key"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

function recordAttempts(): { events: AttemptEvent[]; onAttempt(event: AttemptEvent): void } {
  const events: AttemptEvent[] = [];
  return { events, onAttempt: (event) => events.push(event) };
}

function nodeAt(cluster: TestCluster, url: string): TestNode {
  const node = cluster.nodes.find((candidate) => candidate.url === url);
  assert.ok(node, `no node at ${url}`);
  return node;
}

describe('cluster client (SDK) on a real cluster', () => {
  it('sends each key to one of its replicas, and routes to a node that joins once the ring refresh sees it', async () => {
    // N=2 of 3 nodes: a third of the nodes are not replicas of a given key, so routing shows.
    const cluster = await startCluster({ nodes: 3, replicas: 2 });
    try {
      const recorder = recordAttempts();
      const client = new RingkvClusterClient({ nodes: [cluster.nodes[0]!.url], ringRefreshMs: 300, onAttempt: recorder.onAttempt });
      const before = await Promise.all(cluster.nodes.map((node) => storeRequests(node, 'PUT')));
      const keys = Array.from({ length: 60 }, (_, i) => `route:${i}`);
      for (const key of keys) await client.put(key, { key });
      assert.equal(recorder.events.length, keys.length, 'one attempt per write: no failover was needed');
      for (const event of recorder.events) {
        const owners = (await cluster.nodes[0]!.client.owners(event.key!)).owners;
        assert.ok(owners.includes(nodeAt(cluster, event.url).id), `${event.key} went to ${event.url}, not one of its replicas ${owners.join(', ')}`);
      }
      // The nodes' own counters agree with where the client says it sent each write.
      const after = await Promise.all(cluster.nodes.map((node) => storeRequests(node, 'PUT')));
      cluster.nodes.forEach((node, index) => {
        const sent = recorder.events.filter((event) => event.url === node.url).length;
        assert.equal(after[index]! - before[index]!, sent, `${node.id} served ${after[index]! - before[index]!} PUTs, the client sent it ${sent}`);
        assert.ok(sent > 0, `${node.id} coordinated none of the writes: load does not spread over replicas`);
      });

      const n4 = await cluster.addNode('n4');
      await waitForAllUp(cluster.nodes, 30_000);
      // Requests find the ring older than ringRefreshMs and refresh it in the background.
      await waitFor(async () => {
        await client.get('route:0');
        return client.topologySnapshot().members.some((member) => member.nodeId === 'n4');
      }, 10_000);
      const keysOnN4 = keys.filter((key) => client.replicasOf(key).includes('n4'));
      assert.ok(keysOnN4.length > 0, 'n4 is a replica of some keys');
      recorder.events.length = 0;
      for (const key of keysOnN4) assert.deepEqual((await client.get(key))?.value, { key });
      assert.ok(recorder.events.some((event) => event.url === n4.url), 'reads of keys n4 now holds go to n4 too');
      for (const event of recorder.events) assert.ok(client.replicasOf(event.key!).includes(nodeAt(cluster, event.url).id));
    } finally {
      await cluster.stop();
    }
  });

  it('keeps reads and quorum writes working with one node killed, fails reads over from a frozen node, and honours AbortSignal and timeouts', async () => {
    const cluster = await startCluster({ nodes: 3, replicas: 3 });
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    try {
      const recorder = recordAttempts();
      const client = new RingkvClusterClient({ nodes: cluster.nodes.map((node) => node.url), attemptTimeoutMs: 1500, onAttempt: recorder.onAttempt });
      const keys = Array.from({ length: 30 }, (_, i) => `kill:${i}`);
      for (const key of keys) await client.put(key, 1);

      await n2.kill('SIGKILL');
      recorder.events.length = 0;
      for (const key of keys) assert.equal((await client.get(key))?.value, 1, `read of ${key} with n2 killed`);
      for (const key of keys) await client.put(key, 2, { w: 'quorum' });
      for (const key of keys) await client.delete(`${key}:gone`, { w: 'quorum' });
      for (const key of keys) assert.equal((await client.get(key, { r: 'quorum' }))?.value, 2);
      const refused = recorder.events.filter((event) => event.url === n2.url);
      assert.ok(refused.length > 0, 'some requests were first sent to the killed node');
      assert.ok(refused.every((event) => event.outcome === 'not-sent'), `the killed node refused connections: ${JSON.stringify(refused.slice(0, 3))}`);
      assert.ok(recorder.events.filter((event) => event.url === n2.url).length < keys.length, 'the killed node is avoided after it failed');

      // Frozen: the connection opens but nothing answers, so only the attempt timer ends it.
      n3.signal('SIGSTOP');
      try {
        const frozenOnly = new RingkvClusterClient({ nodes: [n3.url], routing: false, attemptTimeoutMs: 400, timeoutMs: 2000 });
        const controller = new AbortController();
        const startedMs = Date.now();
        setTimeout(() => controller.abort(), 200);
        await assert.rejects(frozenOnly.get('kill:0', { signal: controller.signal }), (error: Error) => error.name === 'AbortError');
        assert.ok(Date.now() - startedMs < 1000, 'the abort ended the request, not a timer');
        await assert.rejects(frozenOnly.get('kill:0', { signal: AbortSignal.abort() }), (error: Error) => error.name === 'AbortError');
        const timedOut = await frozenOnly.get('kill:0').then(() => undefined, (error: unknown) => error);
        assert.ok(timedOut instanceof RingkvUnavailableError, `expected RingkvUnavailableError, got ${String(timedOut)}`);
        assert.ok(timedOut.attempts.every((attempt) => attempt.kind === 'timeout'));
        // A write that timed out may have arrived: it is not sent again, and the error says it may have been applied.
        const write = await frozenOnly.put('kill:0', 3).then(() => undefined, (error: unknown) => error);
        assert.ok(write instanceof RingkvUnavailableError && write.mayHaveApplied && write.attempts.length === 1, String(write));

        // A client whose first node is frozen still reads: through n1, the one other node up.
        const failover = new RingkvClusterClient({ nodes: [n3.url, n1.url], routing: false, attemptTimeoutMs: 400 });
        assert.equal((await failover.get('kill:0', { r: 'one' }))?.value, 2);
      } finally {
        n3.signal('SIGCONT');
      }
    } finally {
      await cluster.stop();
    }
  });
});
