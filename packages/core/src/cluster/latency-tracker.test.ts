// Checks the read latency tracker against a naive reference (a sorted list of the last
// answers) and with tables: the speculative wait's percentile, floor and cap, and which
// replicas count as slow (silent while owing answers, or answering slowly), then forgotten.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRng } from '../rng.js';
import { readLatencySamplesMin, replicaLatencyForgetMs } from '../limits.js';
import { LatencyWindow, ReadLatencyTracker } from './latency-tracker.js';

function naivePercentile(samples: number[], percentile: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((percentile / 100) * sorted.length)) - 1] as number;
}

describe('LatencyWindow', () => {
  it('agrees with a sorted list of the last answers, within one bucket (19%), rounding up', () => {
    const rng = new SeededRng(7);
    const capacity = 64;
    const window = new LatencyWindow(capacity);
    const recent: number[] = [];
    for (let i = 0; i < 2000; i++) {
      // Mostly fast, a tail of slow answers, now and then a sub-millisecond one.
      const latencyMs = rng.next() < 0.05 ? 50 + rng.nextInt(2000) : rng.next() < 0.1 ? rng.next() : 1 + rng.nextInt(20);
      window.record(latencyMs);
      recent.push(latencyMs);
      if (recent.length > capacity) recent.shift();
      // Ends on the percentile it starts with: the next answer must change what the window says.
      for (const percentile of [99, 50, 90, 100, 99]) {
        const expected = Math.max(1, naivePercentile(recent, percentile));
        const actual = window.percentileMs(percentile) as number;
        assert.ok(actual >= expected && actual <= expected * 1.19 + 1e-9, `p${percentile} after ${i + 1} answers: ${actual} vs ${expected}`);
      }
    }
  });

  it('is empty at first', () => {
    assert.equal(new LatencyWindow(4).percentileMs(99), undefined);
  });
});

describe('ReadLatencyTracker: the speculative wait', () => {
  // A percentile is read as its bucket's upper bound, rounded up: 20 ms → 22.6 → 23, 10 ms → 11.3 → 12.
  const cases: Array<{ name: string; percentile: number; answersMs: number[]; expected: number | undefined }> = [
    { name: 'off at percentile 0', percentile: 0, answersMs: [3, 3, 3], expected: undefined },
    { name: 'too few answers yet: the maximum', percentile: 99, answersMs: [3], expected: 100 },
    { name: 'fast answers: the floor', percentile: 99, answersMs: Array(100).fill(1), expected: 5 },
    { name: 'a p99 between floor and maximum', percentile: 99, answersMs: Array(100).fill(20), expected: 23 },
    { name: 'slow answers: capped at the maximum', percentile: 99, answersMs: Array(100).fill(900), expected: 100 },
    { name: 'a p50 ignores a slow tail', percentile: 50, answersMs: [...Array(60).fill(10), ...Array(40).fill(900)], expected: 12 },
  ];
  for (const test of cases) {
    it(test.name, () => {
      const tracker = new ReadLatencyTracker({ percentile: test.percentile, floorMs: 5, maxMs: 100 });
      for (const latencyMs of test.answersMs) {
        tracker.asked('a', 0);
        tracker.answered('a', latencyMs, latencyMs, true);
      }
      assert.equal(tracker.speculateAfterMs(), test.expected);
    });
  }

  it('late answers (after their read was answered) do not move the wait', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    for (let i = 0; i < readLatencySamplesMin; i++) tracker.answered('a', 2, i, true);
    for (let i = 0; i < 1000; i++) tracker.answered('frozen', 1900, i, false);
    assert.equal(tracker.speculateAfterMs(), 5);
  });
});

describe('ReadLatencyTracker: slow replicas', () => {
  it('a replica that owes an answer and stays silent past the threshold is slow', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    tracker.asked('a', 1000);
    assert.equal(tracker.isSlow('a', 1010, 10), false);
    assert.equal(tracker.isSlow('a', 1011, 10), true);
    // Asked again while still owing: the silence counts from the first ask.
    tracker.asked('a', 1011);
    assert.equal(tracker.isSlow('a', 1012, 10), true);
  });

  it('a busy replica that keeps answering is not silent, however long its queue', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    for (let t = 0; t < 100; t++) {
      tracker.asked('a', t);
      tracker.asked('a', t);
      tracker.answered('a', 2, t + 2, true);
    }
    assert.equal(tracker.isSlow('a', 103, 10), false);
  });

  it('a replica whose answers are slow is slow, until its estimate is forgotten', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    tracker.asked('a', 0);
    tracker.answered('a', 500, 500, false);
    assert.equal(tracker.isSlow('a', 501, 10), true);
    assert.equal(tracker.isSlow('a', 500 + replicaLatencyForgetMs + 1, 10), false);
  });

  it('a timed-out read counts as its whole wait; an error is an answer, not silence', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    tracker.asked('timeout', 0);
    tracker.failed('timeout', 2000, 2000, true);
    assert.equal(tracker.isSlow('timeout', 2001, 10), true);
    tracker.asked('refused', 0);
    tracker.failed('refused', 1, 1, false);
    assert.equal(tracker.isSlow('refused', 500, 10), false);
  });

  it('a fast replica recovers its standing as its answers come back', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    tracker.answered('a', 300, 300, false);
    let nowMs = 300;
    for (let i = 0; i < 30 && tracker.isSlow('a', nowMs, 10); i++) tracker.answered('a', 2, ++nowMs, true);
    assert.equal(tracker.isSlow('a', nowMs, 10), false);
  });

  it('an unknown replica is not slow', () => {
    const tracker = new ReadLatencyTracker({ percentile: 99, floorMs: 5, maxMs: 100 });
    assert.equal(tracker.isSlow('never-seen', 1_000_000, 10), false);
  });
});
