// Checks that valid JSON holding "__proto__" keys is stored and returned exactly across a
// real 3-node cluster in this process (two LMDB nodes, one in memory, peers over TCP): a
// PUT at w=all, then a GET at r=all and the replicas view from every node, compared as
// parsed raw response text against what was sent, with Object.prototype left untouched.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningNode } from '../node.js';
import { carriedBodyValue, noteParsedBody } from './proto-key-bodies.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;
let nodes: RunningNode[] = [];

before(async () => {
  const storages = ['lmdb', 'lmdb', 'memory'] as const;
  cluster = await startTestCluster('proto-keys', (index) => ({ storage: storages[index] as 'lmdb' | 'memory' }));
  nodes = cluster.nodes;
});

after(() => cluster.close());

async function putRaw(running: RunningNode, key: string, bodyText: string) {
  return running.app.inject({ method: 'PUT', url: `/store/${key}?w=all`, payload: bodyText, headers: { 'content-type': 'application/json' } });
}

/** Reads the key from every node at r=all and from its replicas view; each answer must hold exactly `sent`. */
async function assertEveryNodeAnswers(key: string, sent: unknown): Promise<void> {
  for (const running of nodes) {
    const read = await running.app.inject({ method: 'GET', url: `/store/${key}?r=all` });
    assert.equal(read.statusCode, 200, `${running.nodeId}: ${read.body}`);
    assert.deepStrictEqual((JSON.parse(read.body) as { value: unknown }).value, sent, `GET from ${running.nodeId}`);
    const view = await running.app.inject({ method: 'GET', url: `/cluster/replicas/${key}` });
    const replicas = (JSON.parse(view.body) as { replicas: Array<{ nodeId: string; status: string; value?: unknown }> }).replicas;
    assert.equal(replicas.length, 3);
    for (const replica of replicas) {
      assert.equal(replica.status, 'ok', `${replica.nodeId} seen from ${running.nodeId}`);
      assert.deepStrictEqual(replica.value, sent, `${replica.nodeId}'s copy seen from ${running.nodeId}`);
    }
  }
  assert.equal(({} as Record<string, unknown>)['x'], undefined, 'Object.prototype is untouched');
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
}

describe('values holding "__proto__" keys across three replicas', () => {
  it('stores and returns {"__proto__": {...}, "a": 2} exactly from every node', async () => {
    const valueText = '{"__proto__":{"x":1},"a":2,"nested":[{"__proto__":[1,{"__proto__":null}]},{"__proto_":"kept"}]}';
    const sent = JSON.parse(valueText) as unknown;
    const written = await putRaw(nodes[0] as RunningNode, 'proto', `{"value":${valueText}}`);
    assert.equal(written.statusCode, 200, written.body);
    assert.equal(written.headers['x-ringkv-acks'], '3');
    assert.deepStrictEqual((JSON.parse(written.body) as { value: unknown }).value, sent);
    await assertEveryNodeAnswers('proto', sent);
  });

  it('finds the key when the body spells it with \\u escapes', async () => {
    const bodyText = '{"value":{"\\u005f_pr\\u006Fto__":{"x":1},"b":[]}}';
    const written = await putRaw(nodes[1] as RunningNode, 'escaped', bodyText);
    assert.equal(written.statusCode, 200, written.body);
    await assertEveryNodeAnswers('escaped', JSON.parse('{"__proto__":{"x":1},"b":[]}'));
  });

  it('still stores ordinary values as they are', async () => {
    const sent = { name: 'caf\u00e9', list: [1, null, { deep: true }] };
    const written = await putRaw(nodes[2] as RunningNode, 'plain', JSON.stringify({ value: sent }));
    assert.equal(written.statusCode, 200, written.body);
    await assertEveryNodeAnswers('plain', sent);
  });
});

describe('the edge\'s scan of the raw body text', () => {
  it('walks only bodies whose text may hold the key, and any body the parser did not note', () => {
    const value = JSON.parse('{"__proto__":1}') as unknown;
    const noted = { value };
    noteParsedBody(noted, '{"value":{"__proto__":1}}');
    assert.equal(JSON.stringify(carriedBodyValue(noted, value)), '{"__proto__":1}');
    assert.notEqual(carriedBodyValue(noted, value), value, 'carried as JSON text');
    const unnoted = { value };
    assert.notEqual(carriedBodyValue(unnoted, value), value, 'a body no parser noted is walked');
    // Noted with a text that cannot hold the key, the value is not walked (the note is trusted).
    const cleanText = { value };
    noteParsedBody(cleanText, '{"value":{"a":1}}');
    assert.equal(carriedBodyValue(cleanText, value), value, 'a clean text skips the walk');
  });
});
