// Checks the bucket digests' snapshot and log on a real LMDB environment: after enough
// transactions of random bucket changes to pass a snapshot, a reopen (which reads the
// snapshot and replays the log) finds every bucket as a plain table kept beside them
// says; changes of a transaction that never reached its end are dropped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { open } from 'lmdb';
import { ringBucketCount, SeededRng } from '@ringkv/core';
import { LmdbBucketDigests } from './lmdb-bucket-digests.js';

const directories: string[] = [];
after(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

it('keeps every bucket across snapshots, log replays and a transaction cut short', async () => {
  const path = mkdtempSync(join(tmpdir(), 'ringkv-buckets-'));
  directories.push(path);
  let root = open({ path, compression: false });
  let digests = new LmdbBucketDigests(root);
  digests.load();
  const expected = { digests: new Uint32Array(ringBucketCount), counts: new Uint32Array(ringBucketCount) };
  const rng = new SeededRng(5);
  let snapshots = 0;
  // 300 transactions of 300 changes: past one snapshot (at 65,536 logged changes), then a log again.
  for (let transaction = 0; transaction < 300; transaction++) {
    const changes = Array.from({ length: 300 }, () => ({ bucket: rng.nextInt(ringBucketCount), hash: rng.nextInt(2 ** 32) }));
    let writes: ReturnType<LmdbBucketDigests['end']>;
    await root.transaction(() => {
      digests.begin();
      for (const { bucket, hash } of changes) digests.note(bucket, hash, 1);
      writes = digests.end();
    });
    digests.committed(writes);
    if (writes?.snapshot === true) snapshots++;
    for (const { bucket, hash } of changes) {
      expected.digests[bucket] = ((expected.digests[bucket] as number) ^ hash) >>> 0;
      expected.counts[bucket] = (expected.counts[bucket] as number) + 1;
    }
  }
  assert.equal(snapshots, 1);
  // Changes of a transaction whose work stopped before its end are dropped by the next one.
  digests.begin();
  digests.note(7, 123, 1);
  let next: ReturnType<LmdbBucketDigests['end']>;
  await root.transaction(() => {
    digests.begin();
    digests.note(8, 5, 1);
    next = digests.end();
  });
  digests.committed(next);
  expected.digests[8] = ((expected.digests[8] as number) ^ 5) >>> 0;
  expected.counts[8] = (expected.counts[8] as number) + 1;
  assert.equal(digests.digest(7), expected.digests[7]);
  await root.close();
  root = open({ path, compression: false });
  digests = new LmdbBucketDigests(root);
  digests.load();
  let total = 0;
  for (let bucket = 0; bucket < ringBucketCount; bucket++) {
    assert.equal(digests.digest(bucket), expected.digests[bucket], `bucket ${bucket} digest`);
    assert.equal(digests.keys(bucket), expected.counts[bucket], `bucket ${bucket} keys`);
    total += expected.counts[bucket] as number;
  }
  assert.equal(digests.keyCount(), total);
  await root.close();
});
