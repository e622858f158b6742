// Checks request rates and latency percentiles over an injected clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrafficRecorder } from './traffic.js';

describe('TrafficRecorder', () => {
  it('reports the rate and percentiles of the last 10 seconds', () => {
    let nowMs = 1_000_000_000;
    const traffic = new TrafficRecorder(() => nowMs);
    for (let second = 0; second < 10; second++) {
      for (let i = 0; i < 100; i++) traffic.record(i < 99 ? 1 : 500);
      nowMs += 1000;
    }
    const summary = traffic.summary();
    assert.equal(summary.requestsPerSecond, 100);
    assert.ok(summary.p50Ms >= 1 && summary.p50Ms < 1.3, `p50 ${summary.p50Ms}`);
    assert.ok(summary.p99Ms >= 1 && summary.p99Ms < 1.3, `p99 ${summary.p99Ms}`);
    assert.equal(traffic.requestsTotal, 1000);
  });

  it('keeps history only since the node started, one point per 5 s', () => {
    let nowMs = 2_000_000_000;
    const traffic = new TrafficRecorder(() => nowMs);
    for (let second = 0; second < 60; second++) {
      traffic.record(2);
      nowMs += 1000;
    }
    const history = traffic.history();
    assert.ok(history.length >= 10 && history.length <= 12, `${history.length} points`);
    assert.ok(history.every((point) => point.timeMs >= 2_000_000_000));
    assert.ok(history.every((point) => Math.abs(point.requestsPerSecond - 1) < 0.01));
  });

  it('reports zero rate and latency when idle', () => {
    const traffic = new TrafficRecorder(() => 3_000_000_000);
    assert.deepEqual(traffic.summary(), { requestsPerSecond: 0, p50Ms: 0, p99Ms: 0 });
  });
});
