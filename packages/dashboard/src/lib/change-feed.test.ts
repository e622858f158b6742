// Checks the Changes panel's reducer as sequences of actions and the states they lead to: rows
// newest first and bounded, pause keeping the cursor that resume continues from, stale reports
// of a stopped watch ignored, and the status line for each phase (410, refusals, reconnecting).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WatchEvent } from '@ringkv/client';
import { changesShownMax, describeFeed, feedReducer, initialFeed, shortCursor, valuePreview, type ChangeFeed, type FeedAction } from './change-feed.js';

function apply(feed: ChangeFeed, ...actions: FeedAction[]): ChangeFeed {
  return actions.reduce(feedReducer, feed);
}

const put = (key: string, cursor: string, value: unknown = 1): WatchEvent => ({ type: 'put', cursor, key, value, version: `v-${cursor}` });
const event = (run: number, watched: WatchEvent, receivedAtMs = 1000): FeedAction => ({ type: 'event', run, event: watched, receivedAtMs });

/** Mimics an API error as the SDK throws it (status and problem). */
function problemError(status: number, detail: string): Error {
  return Object.assign(new Error(detail), { status, problem: { type: 'urn:ringkv:problem:x', title: 'T', status, detail } });
}

test('start watches from now and lists puts and deletes newest first; ready and progress only move the cursor', () => {
  const started = apply(initialFeed, { type: 'start', prefix: 'a/' });
  assert.deepEqual(started.request, { run: 1, prefix: 'a/', since: null });
  assert.equal(started.phase, 'connecting');
  const feed = apply(
    started,
    { type: 'status', run: 1, status: { state: 'connected', url: '', cursor: null } },
    event(1, { type: 'ready', cursor: 'c1', prefix: 'a/' }),
    event(1, put('a/1', 'c2', { name: 'Ada' }), 2000),
    event(1, { type: 'delete', cursor: 'c3', key: 'a/1', version: 'v3', expired: false }),
    event(1, { type: 'delete', cursor: 'c4', key: 'a/2', version: 'v4', expired: true }),
    event(1, { type: 'progress', cursor: 'c5' }),
  );
  assert.equal(feed.phase, 'live');
  assert.equal(feed.cursor, 'c5');
  assert.deepEqual(
    feed.rows.map((row) => [row.sequence, row.kind, row.key, row.preview, row.cursor]),
    [
      [3, 'expired', 'a/2', '', 'c4'],
      [2, 'delete', 'a/1', '', 'c3'],
      [1, 'put', 'a/1', '{"name":"Ada"}', 'c2'],
    ],
  );
  assert.equal(feed.rows[2]?.receivedAtMs, 2000);
  assert.equal(describeFeed(feed, 'n1'), 'Live on n1: keys under “a/” · last cursor c5.');
});

test('keeps only the latest rows, and Clear empties the list without stopping the watch', () => {
  let feed = apply(initialFeed, { type: 'start', prefix: '' });
  for (let index = 1; index <= changesShownMax + 5; index++) feed = feedReducer(feed, event(1, put(`k${index}`, `c${index}`)));
  assert.equal(feed.rows.length, changesShownMax);
  assert.equal(feed.rows[0]?.key, `k${changesShownMax + 5}`);
  assert.equal(feed.rows.at(-1)?.key, 'k6');
  assert.equal(feed.received, changesShownMax + 5);
  const cleared = feedReducer(feed, { type: 'clear' });
  assert.deepEqual(cleared.rows, []);
  assert.equal(cleared.request, feed.request);
  assert.equal(cleared.cursor, feed.cursor);
});

test('pause keeps the cursor, resume continues after it as a new run, and reports of the old run are ignored', () => {
  const live = apply(initialFeed, { type: 'start', prefix: 'a/' }, event(1, put('a/1', 'c2')));
  const paused = feedReducer(live, { type: 'pause' });
  assert.equal(paused.phase, 'paused');
  assert.equal(paused.request, null);
  assert.equal(paused.cursor, 'c2');
  assert.match(describeFeed(paused, null), /Paused at cursor c2\. Resume continues from it/);
  assert.equal(feedReducer(paused, event(1, put('a/late', 'c3'))), paused, 'an event of the stopped watch changes nothing');
  const resumed = feedReducer(paused, { type: 'resume' });
  assert.deepEqual(resumed.request, { run: 2, prefix: 'a/', since: 'c2' });
  assert.equal(resumed.rows.length, 1, 'the rows stay');
  assert.equal(feedReducer(resumed, event(1, put('a/late', 'c3'))), resumed);
  assert.equal(feedReducer(resumed, event(2, put('a/3', 'c3'))).rows[0]?.key, 'a/3');
  assert.equal(feedReducer(live, { type: 'resume' }), live, 'resume only continues a paused watch');
});

test('a restart begins a new run from now with an empty list', () => {
  const live = apply(initialFeed, { type: 'start', prefix: 'a/' }, event(1, put('a/1', 'c2')));
  const restarted = feedReducer(live, { type: 'start', prefix: 'b/' });
  assert.deepEqual(restarted.request, { run: 2, prefix: 'b/', since: null });
  assert.deepEqual(restarted.rows, []);
  assert.equal(restarted.cursor, null);
});

test('says reconnecting with the reason, and that nothing is lost', () => {
  const feed = apply(
    initialFeed,
    { type: 'start', prefix: '' },
    event(1, put('k', 'c7')),
    { type: 'status', run: 1, status: { state: 'reconnecting', url: 'http://10.0.0.2:8000', cursor: 'c7', reason: 'the node ended the stream', waitMs: 0, failures: 1 } },
  );
  assert.equal(feed.phase, 'reconnecting');
  assert.equal(
    describeFeed(feed, 'n1'),
    'Reconnecting to http://10.0.0.2:8000 (failure 1 in a row: the node ended the stream) · last cursor c7. Nothing is lost: the watch resumes after the last cursor.',
  );
  assert.equal(feedReducer(feed, { type: 'status', run: 1, status: { state: 'connecting', url: '', cursor: 'c7' } }).phase, 'reconnecting');
  assert.equal(feedReducer(feed, event(1, { type: 'ready', cursor: 'c7', prefix: '' })).phase, 'live');
});

test('an expired cursor (410) offers a fresh start; a refusal quotes the node', () => {
  const expired = apply(initialFeed, { type: 'start', prefix: '' }, { type: 'ended', run: 1, error: problemError(410, 'the cursor is older than the 3600 s retention.') });
  assert.equal(expired.phase, 'expired');
  assert.equal(expired.request, null);
  assert.match(describeFeed(expired, null), /^The cursor expired: .*\(the cursor is older than the 3600 s retention\)\. Start fresh/);
  const refused = apply(initialFeed, { type: 'start', prefix: 'x/' }, { type: 'ended', run: 1, error: problemError(403, 'the token reaches keys under a/ only') });
  assert.equal(refused.phase, 'failed');
  assert.equal(describeFeed(refused, null), 'Stopped: Your token may not do this: the token reaches keys under a/ only. Start to try again.');
});

test('shortens values and cursors for display', () => {
  assert.equal(valuePreview('x'.repeat(10), 8), '"xxxxxx…');
  assert.equal(valuePreview({ a: [1, 2] }), '{"a":[1,2]}');
  assert.equal(valuePreview(null), 'null');
  assert.equal(shortCursor('abc', 5), 'abc');
  assert.equal(shortCursor('abcdefgh', 5), 'abcd…');
  assert.equal(describeFeed(initialFeed, null), 'Not watching. Enter a prefix (empty for every key) and choose Start.');
});
