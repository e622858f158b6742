// Checks how a restore is cut into batches (bounded in records and bytes, each key once per
// batch), and sends them over HTTP to a real 3-node cluster in one process whose body limit
// is small: a batch the node finds too large is split until it fits, a record too large on
// its own is reported failed, and every other record is restored. Also checks the progress
// line and the checks of an import line.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningNode } from '../node.js';
import { startTestCluster, type TestCluster } from '../api/test-cluster.js';
import { adminApiFor } from './admin-api.js';
import type { BackupRecord } from './backup-record.js';
import { parseImportLine } from './ndjson-commands.js';
import { emptyTally, restoreBatches, sendRestoreBatch } from './restore-batches.js';
import { describeTransfer } from './transfer-progress.js';

const oldHlc = 1_700_000_000_000 * 1024;

function record(key: string, value: unknown = 1, hlc = oldHlc): BackupRecord {
  return { key, hlc, nodeId: 'n9', tombstone: false, value };
}

async function batchesOf(records: BackupRecord[], recordsMax: number, bytesMax: number): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of restoreBatches(records, recordsMax, bytesMax)) batches.push(batch.records.map((item) => item.key));
  return batches;
}

describe('restoreBatches', () => {
  it('bounds batches in records and bytes, and never puts a key twice in one', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => record(`k${i}`));
    assert.deepEqual(await batchesOf(keys, 3, 1_000_000), [['k0', 'k1', 'k2'], ['k3', 'k4', 'k5'], ['k6']]);
    const big = [record('a', 'x'.repeat(600)), record('b', 'x'.repeat(600)), record('c')];
    assert.deepEqual(await batchesOf(big, 100, 1000), [['a'], ['b', 'c']]);
    assert.deepEqual(await batchesOf([record('a'), record('b'), record('a', 2)], 100, 1_000_000), [['a', 'b'], ['a']]);
    assert.deepEqual(await batchesOf([], 100, 1000), []);
  });
});

describe('sendRestoreBatch against a node with a small body limit', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster('restore-batches', () => ({ maxValueBytes: 16 * 1024 }));
  });
  after(() => cluster.close());

  it('splits a batch the node finds too large, and reports a record too large alone', async () => {
    const n1 = cluster.nodes[0] as RunningNode;
    const api = adminApiFor({ node: n1.url.replace(/^http:\/\//, '') });
    const records = Array.from({ length: 40 }, (_, i) => record(`split-${i}`, 'v'.repeat(1000), oldHlc + i));
    records.push(record('huge', 'h'.repeat(20 * 1024)));
    const tally = emptyTally();
    await sendRestoreBatch(api, records, tally, { attemptsMax: 2, pause: () => Promise.resolve() });
    assert.equal(tally.applied, 40);
    assert.deepEqual(
      tally.failed.map((failure) => failure.key),
      ['huge'],
    );
    assert.match(tally.failed[0]?.reason ?? '', /too large.*--max-value-bytes/);
    const read = await n1.app.inject({ method: 'GET', url: '/store/split-39' });
    assert.equal(read.json<{ version: string }>().version, `${oldHlc + 39}-n9`);
  });

  it('gives up on keys whose replicas stay down after the tries it was given, naming them', async () => {
    await Promise.all([cluster.nodes[1]!.close(), cluster.nodes[2]!.close()]);
    const n1 = cluster.nodes[0] as RunningNode;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && ['n2', 'n3'].some((nodeId) => n1.node.membership.stateOf(nodeId) === 'up')) await new Promise((resolve) => setTimeout(resolve, 100));
    const tally = emptyTally();
    let pauses = 0;
    await sendRestoreBatch(adminApiFor({ node: n1.url.replace(/^http:\/\//, '') }), [record('down-1'), record('down-2')], tally, {
      attemptsMax: 3,
      pause: () => {
        pauses++;
        return Promise.resolve();
      },
    });
    assert.equal(pauses, 2, 'three tries, two pauses between them');
    assert.deepEqual(
      tally.failed.map((failure) => failure.key),
      ['down-1', 'down-2'],
    );
    assert.match(tally.failed[0]?.reason ?? '', /not confirmed by a majority/);
  });
});

describe('transfer progress and import lines', () => {
  it('describes keys, bytes, rate and time left', () => {
    assert.equal(describeTransfer(500, 2_500_000, 2000, 1000), '500 keys, 2.5 MB, 250 keys/s, 1.3 MB/s, ETA 2s');
    assert.equal(describeTransfer(10, 900, 1000, undefined), '10 keys, 900 B, 10 keys/s, 900 B/s');
  });

  it('accepts {"key","value"} lines only, saying why not', () => {
    assert.deepEqual(parseImportLine('{"key":"a","value":null}'), { ok: true, key: 'a', value: null });
    assert.deepEqual(parseImportLine('{"key":"a/b","value":{"x":[1]}}'), { ok: true, key: 'a/b', value: { x: [1] } });
    assert.match((parseImportLine('{"key":"a"') as { reason: string }).reason, /not JSON/);
    assert.match((parseImportLine('[1]') as { reason: string }).reason, /not a JSON object/);
    assert.match((parseImportLine('{"key":"a"}') as { reason: string }).reason, /no value/);
    assert.match((parseImportLine('{"key":"","value":1}') as { reason: string }).reason, /key/);
    assert.match((parseImportLine('{"key":"a","value":1,"ttl":5}') as { reason: string }).reason, /unknown field "ttl"/);
  });
});
