// Checks the transfer byte rate on a virtual clock: takes within the rate pass at once,
// takes beyond it wait for exactly the time the rate needs, a rate of 0 never waits, and a
// rate changed at run time applies to the next take.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from './token-bucket.js';
import { VirtualClock } from './virtual-clock.js';

/** Lets every pending promise callback run. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves `take` on the virtual clock, advancing it 1 ms at a time; returns the ms it waited. */
async function timedTake(clock: VirtualClock, bucket: TokenBucket, bytes: number): Promise<number> {
  const startedAtMs = clock.nowMs();
  let done = false;
  const taking = bucket.take(bytes).then(() => (done = true));
  await settled();
  for (let step = 0; step < 100_000 && !done; step++) {
    clock.advance(1);
    await settled();
  }
  await taking;
  return clock.nowMs() - startedAtMs;
}

test('takes within a second of the rate pass at once; beyond it they wait for the rate', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(clock, 1000);
  assert.equal(await timedTake(clock, bucket, 600), 0);
  assert.equal(await timedTake(clock, bucket, 400), 0);
  // Empty now: 500 bytes take half a second.
  assert.equal(await timedTake(clock, bucket, 500), 500);
  // A take of several seconds' worth is let through after its time, not refused.
  assert.equal(await timedTake(clock, bucket, 3000), 3000);
  assert.deepEqual(bucket.status(), { bytesPerSecond: 1000, bytesTaken: 4500, waitedMs: 3500 });
});

test('a rate of 0 never waits, and a new rate applies to the next take', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(clock, 0);
  assert.equal(await timedTake(clock, bucket, 10_000_000), 0);
  bucket.setRate(100);
  assert.equal(await timedTake(clock, bucket, 100), 1000, 'a cap set at run time starts with an empty bucket');
  bucket.setRate(0);
  assert.equal(await timedTake(clock, bucket, 1_000_000), 0);
  assert.equal(bucket.status().bytesPerSecond, 0);
});
