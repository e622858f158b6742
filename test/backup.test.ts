// Real node processes and the real `ringkv` CLI: a backup taken from a 3-node cluster under
// a steady write load, restored into a fresh 2-node cluster, holds every write acknowledged
// before the backup began with its own version (deletes and TTLs too); restoring it again
// writes nothing; a truncated or altered copy is refused with exit code 2 and writes
// nothing; export and import move plain {"key","value"} lines, bad lines reported by number.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchResult, RingkvClient } from '@ringkv/client';
import { ringkv } from './support/cli.js';
import { startCluster, type TestCluster } from './support/cluster.js';


function address(cluster: TestCluster, index = 0): string {
  return `127.0.0.1:${cluster.nodes[index]!.port}`;
}

/** GET of each key (at r=all), through POST /batch. */
async function readAll(client: RingkvClient, keys: readonly string[]): Promise<Map<string, BatchResult>> {
  const answers = new Map<string, BatchResult>();
  for (let start = 0; start < keys.length; start += 500) {
    const slice = keys.slice(start, start + 500);
    const { results } = await client.batch(slice.map((key) => ({ op: 'get', key, r: 'all' })));
    slice.forEach((key, i) => answers.set(key, results[i] as BatchResult));
  }
  return answers;
}

/** Every live key of a cluster, through GET /cluster/keys. */
async function clusterKeys(cluster: TestCluster): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const answer = (await (await fetch(`${cluster.nodes[0]!.url}/cluster/keys?limit=1000${query}`)).json()) as { keys: string[]; nextCursor: string | null };
    keys.push(...answer.keys);
    cursor = answer.nextCursor;
    if (cursor === null) return keys;
  }
  throw new Error('too many pages');
}

describe('backup and restore on real processes', () => {
  let folder: string;
  let source: TestCluster | undefined;
  let target: TestCluster | undefined;
  /** Writes acknowledged before the backup began: key → version (null: deleted). */
  const ackedBefore = new Map<string, string | null>();
  const expiresAtOf = new Map<string, string>();
  let backupFile: string;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ringkv-backup-test-'));
    backupFile = join(folder, 'cluster.backup');
    source = await startCluster({ nodes: 3 });
  });

  after(async () => {
    await source?.stop();
    await target?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('takes a backup under a steady write load that holds every write acknowledged before it began', async () => {
    const cluster = source as TestCluster;
    const clients = cluster.nodes.map((node) => node.client);
    // Some keys deleted, some with a ttl, before the load starts.
    for (let i = 0; i < 20; i++) {
      const put = await clients[i % 3]!.put(`doomed-${i}`, i);
      ackedBefore.set(`doomed-${i}`, put.body.version);
      await clients[(i + 1) % 3]!.delete(`doomed-${i}`);
      ackedBefore.set(`doomed-${i}`, null);
      const ttl = await clients[i % 3]!.put(`ttl-${i}`, { i }, { ttl: 3600 });
      ackedBefore.set(`ttl-${i}`, ttl.body.version);
      expiresAtOf.set(`ttl-${i}`, ttl.body.expiresAt as string);
    }
    // The steady load: four writers, each key written once, until the backup has finished.
    let running = true;
    let backupStarted = false;
    let next = 0;
    const duringBackup: string[] = [];
    const writer = async (index: number) => {
      while (running) {
        const key = `load-${next++}`;
        const answer = await clients[index % 3]!.put(key, { n: next, pad: 'p'.repeat(100) });
        // Acknowledged after the backup began: may or may not be in it.
        if (backupStarted) duringBackup.push(key);
        else ackedBefore.set(key, answer.body.version);
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    backupStarted = true;
    const run = await ringkv(['backup', '--node', address(cluster, 1), '--out', backupFile]);
    running = false;
    await Promise.all(writers);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /backup of cluster .* records .* sha256 [0-9a-f]{64}/);
    assert.ok(ackedBefore.size > 200, `only ${ackedBefore.size} writes were acknowledged before the backup`);
    const lines = readFileSync(backupFile, 'utf8').trim().split('\n');
    const records = new Map(lines.slice(1, -1).map((line) => JSON.parse(line) as { key: string; hlc: number; nodeId: string; tombstone: boolean }).map((record) => [record.key, record]));
    for (const [key, version] of ackedBefore) {
      const record = records.get(key);
      assert.ok(record !== undefined, `${key} is not in the backup`);
      if (version === null) assert.equal(record.tombstone, true, `${key} was deleted before the backup`);
      else assert.equal(`${record.hlc}-${record.nodeId}`, version, `${key} has another version in the backup`);
    }
    assert.ok(duringBackup.length > 0, 'the load went on while the backup ran');
  });

  it('refuses a truncated or altered copy with nothing written, then restores into a 2-node cluster with every version', async () => {
    await source?.stop();
    source = undefined;
    target = await startCluster({ nodes: 2, replicas: 2 });
    const whole = readFileSync(backupFile);
    const truncated = join(folder, 'truncated.backup');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const altered = join(folder, 'altered.backup');
    const flipped = Buffer.from(whole);
    const at = whole.indexOf('"n":') + 4;
    flipped[at] = flipped[at] === 0x31 ? 0x32 : 0x31;
    writeFileSync(altered, flipped);
    for (const [file, why] of [
      [truncated, /truncated|not JSON/],
      [altered, /SHA-256/],
    ] as const) {
      const refused = await ringkv(['restore', '--node', address(target), file]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, why);
      assert.match(refused.stderr, /Nothing was restored/);
    }
    assert.deepEqual(await clusterKeys(target), [], 'a refused file wrote nothing');

    const restored = await ringkv(['restore', '--node', address(target, 1), backupFile]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /0 failed/);
    const answers = await readAll(target.nodes[0]!.client, [...ackedBefore.keys()]);
    for (const [key, version] of ackedBefore) {
      const answer = answers.get(key) as BatchResult;
      if (version === null) {
        assert.equal(answer.status, 404, `${key} was deleted before the backup`);
        continue;
      }
      assert.equal(answer.status, 200, `${key}: ${JSON.stringify(answer.body)}`);
      assert.equal((answer.body as { version: string }).version, version, `${key} lost its version`);
      if (expiresAtOf.has(key)) assert.equal((answer.body as { expiresAt?: string }).expiresAt, expiresAtOf.get(key), `${key} lost its expiry`);
    }
  });

  it('changes nothing when the same backup is restored again', async () => {
    const cluster = target as TestCluster;
    const keys = [...ackedBefore.keys()];
    const before = await readAll(cluster.nodes[1]!.client, keys);
    const again = await ringkv(['restore', '--node', address(cluster), backupFile]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, / 0 replica copies written, 0 failed/);
    const afterwards = await readAll(cluster.nodes[1]!.client, keys);
    for (const key of keys) assert.deepEqual(afterwards.get(key), before.get(key), `${key} changed`);
  });

  it('exports live keys as {"key","value"} lines and imports lines, skipping bad ones by number', async () => {
    const cluster = target as TestCluster;
    const exported = join(folder, 'export.ndjson');
    const exportRun = await ringkv(['export', '--node', address(cluster), '--out', exported, '--prefix', 'ttl-']);
    assert.equal(exportRun.code, 0, exportRun.stderr);
    const lines = readFileSync(exported, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { key: string; value: unknown });
    assert.deepEqual(lines.map((line) => line.key).sort(), [...expiresAtOf.keys()].sort());
    assert.deepEqual(lines.find((line) => line.key === 'ttl-3')?.value, { i: 3 });

    const input = ['{"key":"imported/1","value":{"a":1}}', 'not json', '{"key":"imported/2"}', '', '{"key":"imported/3","value":null}'].join('\n');
    const importRun = await ringkv(['import', '--node', address(cluster, 1), '-'], { stdin: input });
    assert.equal(importRun.code, 2, 'bad lines make the exit code 2');
    assert.match(importRun.stderr, /line 2: not JSON; not stored/);
    assert.match(importRun.stderr, /line 3: no value/);
    assert.match(importRun.stdout, /imported 2 keys .* 2 bad lines/);
    assert.deepEqual((await cluster.nodes[0]!.client.get('imported/1'))?.value, { a: 1 });
    assert.equal((await cluster.nodes[0]!.client.get('imported/3'))?.value, null);
    assert.equal(await cluster.nodes[0]!.client.get('imported/2'), null);
  });
});
