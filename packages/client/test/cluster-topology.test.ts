// The order in which the cluster client tries nodes: a key's replicas that look up first,
// turn by turn so the load spreads over them, then other nodes, and nodes that failed
// recently or that the cluster sees down last, until their time out of favour is over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadKeyHasher, Ring, tokenSpace } from '@ringkv/core';
import { ClusterTopology, type TopologyMember } from '../src/cluster-topology.js';
import { defaultMemberUrl } from '../src/cluster-client.js';
import { RingMap } from '../src/ring-map.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const urlOf = (id: string) => `http://10.0.0.${id.slice(1)}:8000`;

async function topology(states: Partial<Record<string, TopologyMember['state']>> = {}) {
  const ring = new Ring({ nodeIds: ids, vnodes: 32, replicas: 3, hash: await loadKeyHasher() });
  const map = RingMap.fromLayout({ tokenSpace, ranges: ring.ranges().map((range) => ({ ...range, replicas: [...range.replicas] })) });
  const view = new ClusterTopology(['http://seed.example:8000']);
  view.update(ids.map((nodeId) => ({ nodeId, url: urlOf(nodeId), state: states[nodeId] ?? 'up', ringStatus: 'normal' })), map);
  return { view, ring };
}

describe('cluster topology', () => {
  it("puts the key's replicas first, turning among them, then every other node and the seed", async () => {
    const { view, ring } = await topology();
    const replicas = ring.preferenceList('user:42').map(urlOf);
    const firsts = new Set<string>();
    for (let turn = 0; turn < 6; turn++) {
      const candidates = view.candidates('user:42', 0);
      assert.deepEqual(new Set(candidates.slice(0, 3)), new Set(replicas));
      assert.equal(candidates.length, 6);
      assert.equal(candidates.includes('http://seed.example:8000'), true);
      firsts.add(candidates[0] as string);
    }
    assert.equal(firsts.size, 3, 'every replica coordinates some of the requests');
  });

  it('tries a replica that failed, or that the cluster sees down, after the healthy nodes, until its time is up', async () => {
    const { ring } = await topology();
    const [primary, second] = ring.preferenceList('k') as [string, string];
    const { view } = await topology({ [second]: 'down' });
    view.markFailed(urlOf(primary), 1000);
    const candidates = view.candidates('k', 1000);
    assert.equal(candidates.slice(-2).sort().join(), [urlOf(primary), urlOf(second)].sort().join());
    assert.equal(candidates.at(-1), urlOf(second), 'the member seen down is tried after the one that failed briefly');
    const later = view.candidates('k', 1000 + 30_001);
    assert.equal(later.indexOf(urlOf(primary)) < 2, true, 'the failed node is back in favour after its avoid time');
    view.markSucceeded(urlOf(primary));
    assert.equal(view.isAvoided(urlOf(primary), 1000), false);
  });

  it('avoids a node longer after each failure in a row', async () => {
    const { view } = await topology();
    view.markFailed(urlOf('n1'), 0);
    assert.equal(view.isAvoided(urlOf('n1'), 600), false);
    view.markFailed(urlOf('n1'), 0);
    assert.equal(view.isAvoided(urlOf('n1'), 600), true);
    for (let i = 0; i < 40; i++) view.markFailed(urlOf('n1'), 0);
    assert.equal(view.isAvoided(urlOf('n1'), 30_001), false, 'never longer than the bound');
  });

  it('reaches members at their advertised address with the scheme of the node that listed them', () => {
    assert.equal(defaultMemberUrl({ address: '10.0.0.2:8000' }, 'https://10.0.0.1:8000'), 'https://10.0.0.2:8000');
    assert.equal(defaultMemberUrl({ address: '0.0.0.0:8001' }, 'http://db.example:8000'), 'http://db.example:8001');
    assert.equal(defaultMemberUrl({ address: '[::]:8001' }, 'http://[::1]:8000'), 'http://[::1]:8001');
  });
});
