// Counts requests into RequestCounts, flushes them into a real prom-client counter as a
// scrape would, and checks the counter's values: each request once, whenever it is flushed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { RequestCounts } from './request-counts.js';

function counterOf(counts: RequestCounts): Counter<'method' | 'route' | 'status'> {
  return new Counter({
    name: 'requests_total',
    help: 'test',
    labelNames: ['method', 'route', 'status'],
    registers: [new Registry()],
    collect() {
      counts.flushInto(this);
    },
  });
}

async function valuesOf(counter: Counter<'method' | 'route' | 'status'>): Promise<Record<string, number>> {
  const data = await counter.get();
  return Object.fromEntries(data.values.map((item) => [`${item.labels.method} ${item.labels.route} ${item.labels.status}`, item.value]));
}

describe('request counts', () => {
  it('adds each request to the counter once, by method, route and status', async () => {
    const counts = new RequestCounts();
    const counter = counterOf(counts);
    const get = counts.route('GET', '/store/:key');
    const put = counts.route('PUT', '/store/:key');
    get.count(200);
    get.count(200);
    get.count(404);
    put.count(200);
    assert.deepEqual(await valuesOf(counter), { 'GET /store/:key 200': 2, 'GET /store/:key 404': 1, 'PUT /store/:key 200': 1 });
    // A second read adds nothing new; later requests add to what was there.
    assert.deepEqual(await valuesOf(counter), { 'GET /store/:key 200': 2, 'GET /store/:key 404': 1, 'PUT /store/:key 200': 1 });
    get.count(404);
    assert.deepEqual(await valuesOf(counter), { 'GET /store/:key 200': 2, 'GET /store/:key 404': 2, 'PUT /store/:key 200': 1 });
  });
});
