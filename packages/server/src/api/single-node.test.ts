// Starts one real node alone, as a newcomer would (`ringkv node --id n1`: no seeds, the
// default N=3), and checks through inject() that it serves writes and reads at the default
// quorum and at `all` from the one replica each key has, says it is a cluster of one in
// /node-info, and refuses an explicit count it cannot meet with a 503 that says why.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';

let running: RunningNode;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ringkv-single-'));
  running = await startNode({ ...nodeConfigDefaults, id: 'n1', port: 0, storage: 'memory', dataDir });
});

after(async () => {
  await running.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a node started alone', () => {
  it('keeps the default of 3 replicas per key, and the ring holds only itself', () => {
    assert.equal(nodeConfigDefaults.replicas, 3);
    assert.deepEqual(running.node.ring.preferenceList('k'), ['n1']);
  });

  it('says it is a cluster of one in /node-info, which the dashboard shows', async () => {
    const info = await running.app.inject({ method: 'GET', url: '/node-info' });
    assert.equal(info.statusCode, 200, info.body);
    const { replication } = info.json();
    assert.equal(replication.replicasPerKey, 1);
    assert.match(replication.note, /^A cluster of one: every key is stored on this node alone until 2 more members join \(N=3\)/);
  });

  it('writes, reads and deletes at the default quorum and at all', async () => {
    for (const query of ['', '?w=all']) {
      const put = await running.app.inject({ method: 'PUT', url: `/store/greeting${query}`, payload: { value: 'hello' } });
      assert.equal(put.statusCode, 200, put.body);
    }
    const read = await running.app.inject({ method: 'GET', url: '/store/greeting?r=all' });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().value, 'hello');
    const deleted = await running.app.inject({ method: 'DELETE', url: '/store/greeting' });
    assert.equal(deleted.statusCode, 200, deleted.body);
    assert.equal((await running.app.inject({ method: 'GET', url: '/store/greeting' })).statusCode, 404);
  });

  it('refuses an explicit count the ring cannot meet, saying so, and writes nothing', async () => {
    const put = await running.app.inject({ method: 'PUT', url: '/store/two?w=2', payload: { value: 1 } });
    assert.equal(put.statusCode, 503, put.body);
    assert.match(String(put.headers['content-type']), /application\/problem\+json/);
    assert.match(put.json().detail, /holds only \[n1\]/);
    assert.equal((await running.app.inject({ method: 'GET', url: '/store/two?r=one' })).statusCode, 404);
  });
});
