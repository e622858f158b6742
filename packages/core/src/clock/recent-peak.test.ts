// Checks the count in flight that remembers its recent peak (clock/recent-peak.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InflightCount } from './recent-peak.js';

describe('InflightCount', () => {
  it('counts in flight now, and its peak for a window after', () => {
    let nowMs = 0;
    const count = new InflightCount(() => nowMs, 1000);
    assert.deepEqual([count.now(), count.recent()], [0, 0]);
    count.begin();
    count.begin();
    count.end();
    assert.deepEqual([count.now(), count.recent()], [1, 2], 'the peak of two stays');
    nowMs = 999;
    count.end();
    assert.deepEqual([count.now(), count.recent()], [0, 2]);
    nowMs = 1001;
    assert.deepEqual([count.now(), count.recent()], [0, 0], 'a window after the peak, only what is in flight counts');
    count.begin();
    nowMs = 2500;
    assert.equal(count.recent(), 1, 'one still in flight counts however long ago it began');
  });

  it('counts one served at once as one more in flight for the window', () => {
    let nowMs = 0;
    const count = new InflightCount(() => nowMs, 1000);
    count.served();
    assert.deepEqual([count.now(), count.recent()], [0, 1]);
    count.begin();
    count.served();
    assert.deepEqual([count.now(), count.recent()], [1, 2], 'one served beside one in flight');
    nowMs = 1001;
    assert.deepEqual([count.now(), count.recent()], [1, 1]);
  });

  it('refuses an end without a beginning', () => {
    const count = new InflightCount(() => 0);
    assert.throws(() => count.end(), /never began/);
  });
});
