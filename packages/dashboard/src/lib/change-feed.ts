// The Changes panel's state as a pure reducer: which watch runs (prefix, cursor), the latest
// changes newest first, and the status line in words. The watch itself is the SDK's
// (`client.watch`, which reads the event stream with fetch so the session's token is sent);
// this module only folds what it reports. Pausing keeps the cursor, so resuming continues
// after the last change shown and nothing in between is lost (docs/client.md, "Watching changes").
import type { WatchEvent, WatchStatus } from '@ringkv/client';
import { describeRefusal, problemText, statusOf } from './access.js';
import { describeError } from './error-text.js';

/** Rows the panel keeps; older ones drop off the end. */
export const changesShownMax = 200;
/** Characters of a value's JSON shown in its row. */
export const valuePreviewCharsMax = 120;
/** Characters of a cursor shown in the status line (cursors may run to 1,500). */
export const cursorShownCharsMax = 32;

export type ChangeKind = 'put' | 'delete' | 'expired';

export interface ChangeRow {
  /** Position in the feed since Start: a stable React key. */
  sequence: number;
  receivedAtMs: number;
  kind: ChangeKind;
  key: string;
  version: string;
  /** The value's JSON, shortened; '' for a delete. */
  preview: string;
  cursor: string;
}

export type FeedPhase = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'paused' | 'expired' | 'failed';

/** A watch to run: each start or resume gets a new `run`, so reports of a stopped one are told apart and ignored. */
export interface WatchRequest {
  run: number;
  prefix: string;
  /** Resume after this cursor; null watches from now. */
  since: string | null;
}

export interface ChangeFeed {
  phase: FeedPhase;
  /** The watch that should be running; null when none should (idle, paused, ended). */
  request: WatchRequest | null;
  /** The prefix of the current or last watch. */
  prefix: string;
  /** The last cursor received; where Resume continues. */
  cursor: string | null;
  /** The node the watch talks to ('' is the node serving the page). */
  url: string | null;
  rows: readonly ChangeRow[];
  /** Changes received since Start (the list keeps the latest changesShownMax). */
  received: number;
  /** What went wrong, in words, when reconnecting, expired or failed. */
  problem: string | null;
  /** Failures in a row while reconnecting. */
  failures: number;
  lastRun: number;
}

export const initialFeed: ChangeFeed = { phase: 'idle', request: null, prefix: '', cursor: null, url: null, rows: [], received: 0, problem: null, failures: 0, lastRun: 0 };

export type FeedAction =
  /** Watch `prefix` from now, with an empty list (also "start fresh" after an expired cursor). */
  | { type: 'start'; prefix: string }
  | { type: 'pause' }
  /** Continue after the cursor kept by pause. */
  | { type: 'resume' }
  | { type: 'clear' }
  | { type: 'status'; run: number; status: WatchStatus }
  | { type: 'event'; run: number; event: WatchEvent; receivedAtMs: number }
  /** The watch threw: a 410 (expired cursor) or another error it does not retry. */
  | { type: 'ended'; run: number; error: unknown };

export function feedReducer(feed: ChangeFeed, action: FeedAction): ChangeFeed {
  switch (action.type) {
    case 'start':
      return { ...initialFeed, phase: 'connecting', prefix: action.prefix, lastRun: feed.lastRun + 1, request: { run: feed.lastRun + 1, prefix: action.prefix, since: null } };
    case 'pause':
      return feed.request === null ? feed : { ...feed, phase: 'paused', request: null, problem: null, failures: 0 };
    case 'resume':
      if (feed.phase !== 'paused') return feed;
      return { ...feed, phase: 'connecting', lastRun: feed.lastRun + 1, request: { run: feed.lastRun + 1, prefix: feed.prefix, since: feed.cursor } };
    case 'clear':
      return { ...feed, rows: [] };
    default:
      // Reports of a watch that was paused or replaced since are stale.
      if (feed.request === null || action.run !== feed.request.run) return feed;
      return reportReducer(feed, action);
  }
}

function reportReducer(feed: ChangeFeed, action: Extract<FeedAction, { run: number }>): ChangeFeed {
  if (action.type === 'status') {
    const { status } = action;
    if (status.state === 'reconnecting') return { ...feed, phase: 'reconnecting', url: status.url, problem: status.reason, failures: status.failures };
    return { ...feed, phase: status.state === 'connected' ? 'live' : feed.phase === 'reconnecting' ? 'reconnecting' : 'connecting', url: status.url };
  }
  if (action.type === 'ended') {
    const expired = statusOf(action.error) === 410;
    return { ...feed, phase: expired ? 'expired' : 'failed', request: null, problem: expired ? problemText(action.error) : (describeRefusal(action.error) ?? describeError(action.error)) };
  }
  const { event } = action;
  const next: ChangeFeed = { ...feed, phase: 'live', cursor: event.cursor, problem: null, failures: 0 };
  if (event.type !== 'put' && event.type !== 'delete') return next;
  const row = rowOf(event, feed.received + 1, action.receivedAtMs);
  return { ...next, received: feed.received + 1, rows: [row, ...feed.rows].slice(0, changesShownMax) };
}

function rowOf(event: Extract<WatchEvent, { type: 'put' | 'delete' }>, sequence: number, receivedAtMs: number): ChangeRow {
  const kind: ChangeKind = event.type === 'put' ? 'put' : event.expired ? 'expired' : 'delete';
  const preview = event.type === 'put' ? valuePreview(event.value) : '';
  return { sequence, receivedAtMs, kind, key: event.key, version: event.version, preview, cursor: event.cursor };
}

/** A value's JSON on one line, cut to `charsMax` characters with an ellipsis. */
export function valuePreview(value: unknown, charsMax = valuePreviewCharsMax): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}

/** A long cursor shortened for reading (the whole one goes in a title). */
export function shortCursor(cursor: string, charsMax = cursorShownCharsMax): string {
  return cursor.length <= charsMax ? cursor : `${cursor.slice(0, charsMax - 1)}…`;
}

/** The node as the operator knows it: '' is the node serving this page. */
function nodeName(url: string | null, servingNode: string | null): string {
  if (url === null || url === '') return servingNode ?? 'the node serving this page';
  return url;
}

function prefixWords(prefix: string): string {
  return prefix === '' ? 'every key' : `keys under “${prefix}”`;
}

/** The status line: where the watch stands, the last cursor, and what the operator can do. */
export function describeFeed(feed: ChangeFeed, servingNode: string | null): string {
  const node = nodeName(feed.url, servingNode);
  const at = feed.cursor === null ? '' : ` · last cursor ${shortCursor(feed.cursor)}`;
  switch (feed.phase) {
    case 'idle':
      return 'Not watching. Enter a prefix (empty for every key) and choose Start.';
    case 'connecting':
      return `Connecting to ${node} to watch ${prefixWords(feed.prefix)}…${feed.request?.since === null ? '' : at}`;
    case 'live':
      return `Live on ${node}: ${prefixWords(feed.prefix)}${at}.`;
    case 'reconnecting':
      return `Reconnecting to ${node} (failure ${feed.failures} in a row: ${feed.problem ?? 'connection lost'})${at}. Nothing is lost: the watch resumes after the last cursor.`;
    case 'paused':
      return feed.cursor === null
        ? 'Paused before the watch began. Resume watches from now.'
        : `Paused at cursor ${shortCursor(feed.cursor)}. Resume continues from it: no change is missed.`;
    case 'expired':
      return `The cursor expired: the nodes no longer keep changes that old (${feed.problem ?? 'HTTP 410'}). Start fresh to watch from now; changes in between are not shown.`;
    case 'failed':
      return `Stopped: ${(feed.problem ?? 'the watch ended').replace(/\.\s*$/, '')}. Start to try again.`;
  }
}
