// Checks how per-node traffic histories are bucketed, windowed and combined into
// cluster-wide figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTrafficRows, clusterValue, combineTraffic, nodeValue } from './traffic-series.js';

const point = (timeMs: number, requestsPerSecond: number, p50Ms: number, p99Ms: number) => ({
  timeMs,
  requestsPerSecond,
  p50Ms,
  p99Ms,
});

test('points a few ms apart on different nodes share one 5 s row', () => {
  const rows = buildTrafficRows([
    { nodeId: 'a', history: [point(10_003, 10, 1, 4), point(15_001, 20, 2, 5)] },
    { nodeId: 'b', history: [point(10_040, 30, 3, 9)] },
  ]);
  assert.deepEqual(
    rows.map((row) => row.timeMs),
    [10_000, 15_000],
  );
  const first = rows[0];
  assert.ok(first);
  assert.equal(nodeValue(first, 'a', 'requestsPerSecond'), 10);
  assert.equal(nodeValue(first, 'b', 'p99Ms'), 9);
  assert.equal(clusterValue(first, 'requestsPerSecond'), 40);
  const second = rows[1];
  assert.ok(second);
  assert.equal(nodeValue(second, 'b', 'requestsPerSecond'), null);
});

test('combineTraffic sums rates, weights p50 by rate and takes the largest p99', () => {
  const cluster = combineTraffic([point(0, 10, 1, 4), point(0, 30, 3, 9), point(0, 0, 50, 500)]);
  assert.equal(cluster.requestsPerSecond, 40);
  assert.equal(cluster.p50Ms, (10 * 1 + 30 * 3) / 40);
  assert.equal(cluster.p99Ms, 9);
});

test('an idle interval has no cluster latency rather than a zero', () => {
  assert.deepEqual(combineTraffic([point(0, 0, 0, 0)]), { requestsPerSecond: 0, p50Ms: null, p99Ms: null });
  assert.deepEqual(combineTraffic([]), { requestsPerSecond: 0, p50Ms: null, p99Ms: null });
});

test('rows older than the window before the newest bucket are dropped', () => {
  const history = Array.from({ length: 100 }, (_, index) => point(index * 5_000, 1, 1, 1));
  const rows = buildTrafficRows([{ nodeId: 'a', history }], 60_000);
  assert.equal(rows.length, 12);
  assert.equal(rows.at(-1)?.timeMs, 99 * 5_000);
});

test('no history gives no rows', () => {
  assert.deepEqual(buildTrafficRows([]), []);
  assert.deepEqual(buildTrafficRows([{ nodeId: 'a', history: [] }]), []);
});

test('intervals that ended before the node started are left out', () => {
  const rows = buildTrafficRows([
    { nodeId: 'a', startedAtMs: 12_000, history: [point(0, 0, 0, 0), point(5_000, 0, 0, 0), point(10_000, 3, 1, 2)] },
  ]);
  assert.deepEqual(
    rows.map((row) => row.timeMs),
    [10_000],
  );
});

test('an idle node has a rate of zero but no latency', () => {
  const [row] = buildTrafficRows([{ nodeId: 'a', history: [point(0, 0, 0, 0)] }]);
  assert.ok(row);
  assert.equal(nodeValue(row, 'a', 'requestsPerSecond'), 0);
  assert.equal(nodeValue(row, 'a', 'p50Ms'), null);
  assert.equal(nodeValue(row, 'a', 'p99Ms'), null);
});
