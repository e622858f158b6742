// Checks job progress and ETA formatting, including jobs whose total is not known yet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEta, formatJobEta, formatJobProgress, jobProgress } from './job-progress.js';

test('jobProgress is the share of keys done, null while the total is unknown', () => {
  assert.equal(jobProgress({ keysDone: 25, keysTotal: 100 }), 0.25);
  assert.equal(jobProgress({ keysDone: 0, keysTotal: 0 }), null);
  assert.equal(jobProgress({ keysDone: 5, keysTotal: 0 }), null);
  // A source can report more keys scanned than it first counted.
  assert.equal(jobProgress({ keysDone: 120, keysTotal: 100 }), 1);
});

test('formatJobProgress rounds down to whole percent and shows a dash for an unknown total', () => {
  assert.equal(formatJobProgress({ keysDone: 1, keysTotal: 3 }), '33%');
  assert.equal(formatJobProgress({ keysDone: 997, keysTotal: 1000 }), '99%');
  assert.equal(formatJobProgress({ keysDone: 1000, keysTotal: 1000 }), '100%');
  assert.equal(formatJobProgress({ keysDone: 0, keysTotal: 0 }), '—');
});

test('formatEta shows seconds, minutes with padded seconds, hours with padded minutes', () => {
  assert.equal(formatEta(null), '—');
  assert.equal(formatEta(0), '0s');
  assert.equal(formatEta(44.2), '45s');
  assert.equal(formatEta(59), '59s');
  assert.equal(formatEta(60), '1m 00s');
  assert.equal(formatEta(65), '1m 05s');
  assert.equal(formatEta(3_599), '59m 59s');
  assert.equal(formatEta(3_600 * 2 + 180), '2h 03m');
  assert.equal(formatEta(-1), '—');
  assert.equal(formatEta(Number.POSITIVE_INFINITY), '—');
});

test('formatJobEta shows an ETA only for a job that can still progress and knows its total', () => {
  assert.equal(formatJobEta({ state: 'running', etaSeconds: 65, keysTotal: 100 }), '1m 05s');
  assert.equal(formatJobEta({ state: 'waiting', etaSeconds: null, keysTotal: 100 }), '—');
  assert.equal(formatJobEta({ state: 'paused', etaSeconds: 65, keysTotal: 100 }), '—');
  assert.equal(formatJobEta({ state: 'done', etaSeconds: 0, keysTotal: 100 }), '—');
  // Nothing counted yet: the node's ETA of 0 would claim the job is about to finish.
  assert.equal(formatJobEta({ state: 'running', etaSeconds: 0, keysTotal: 0 }), '—');
});
