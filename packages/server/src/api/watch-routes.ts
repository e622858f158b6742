// GET /watch: the cluster's changes under a prefix as Server-Sent Events (docs/design.md,
// "Watch"; the core is packages/core/src/watch/watch-session.ts). Each put, delete and
// expiry arrives once, in version order per key, with a cursor as its `id`; a client that
// reconnects to any node with `Last-Event-ID` (or `?since=`) gets every change after it.
// The stream opens with `ready`, sends `progress` heartbeats with the latest cursor, and is
// cut with an `error` event (a problem object) when the watcher falls behind or the node
// stops. Answers before the stream starts are problem+json: 400, 410, 503.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  formatVersion,
  keyBytesMax,
  parseCursor,
  utf8Length,
  watchCursorLengthMax,
  watchHeartbeatMsDefault,
  WatchError,
  type WatchEvent,
  type WatchListener,
  type WatchSession,
} from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { problemOf, ProblemError, type Problem } from './problems.js';
import { problemResponse, problemResponses } from './schemas.js';
import { requireReady, storedAnswer } from './store-routes.js';
import { headerText } from './write-conditions.js';
import { expiresAtOf } from './write-options.js';

const WatchQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: keyBytesMax, description: 'Only keys that start with this (default: every key); a key may hold `/`' })),
    since: Type.Optional(
      Type.String({ minLength: 1, maxLength: watchCursorLengthMax, description: 'Resume after this cursor (an event `id`); wins over the Last-Event-ID header' }),
    ),
  },
  { additionalProperties: false },
);

const WatchEventDataSchema = Type.Union(
  [
    Type.Object(
      { cursor: Type.String(), prefix: Type.Optional(Type.String()) },
      { title: 'ready or progress', description: '`event: ready` (first) and `event: progress` (heartbeats, at least every 5 s): every change up to the cursor was delivered' },
    ),
    Type.Object(
      {
        key: Type.String(),
        value: Type.Unknown(),
        version: Type.String(),
        expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
      },
      { title: 'put', description: '`event: put`: the key took this value at this version (what a GET would have answered)' },
    ),
    Type.Object(
      { key: Type.String(), deleted: Type.Literal(true), version: Type.String(), expired: Type.Optional(Type.Literal(true)) },
      { title: 'delete', description: '`event: delete`: the key was deleted at this version, or its ttl passed (`expired: true`, the version is the expired value\'s)' },
    ),
  ],
  { description: 'The JSON of one event\'s `data:` line' },
);

const description = [
  'A stream of Server-Sent Events (text/event-stream) of every change to keys under `prefix`, cluster-wide, whichever node coordinated it.',
  'Each event is `event: <name>`, `id: <cursor>` and one `data:` line of JSON:',
  '`ready` first (the watch has begun: changes after it are delivered), then `put`, `delete` (an expiry is a delete with `expired: true`)',
  'and `progress` heartbeats carrying the latest cursor.',
  'Reconnecting to any node with the last id as `Last-Event-ID` (or `?since=`) delivers every change after it exactly once per key and version.',
  'Per key, events come in increasing version order; across keys no order is promised.',
  'Changes arrive about --watch-close-ms after they are written.',
  'A watcher that falls behind is cut off with `event: error` (a problem object), and so is one whose node stops: resume elsewhere from the last id.',
  'A cursor older than --watch-retention-s is answered 410: list the keys again and start a new watch without a cursor.',
].join(' ');

export const watchRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    '/watch',
    {
      schema: {
        tags: ['watch'],
        operationId: 'watchChanges',
        summary: 'Stream the changes under a prefix as Server-Sent Events, resumable from any node',
        description,
        querystring: WatchQuery,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ description: 'Resume after this cursor (the last event id received)' })) }),
        response: {
          200: { description: 'The event stream', content: { 'text/event-stream': { schema: WatchEventDataSchema } } },
          ...problemResponses(400),
          410: problemResponse('The cursor is older than what the members keep (--watch-retention-s): list the keys again and start a new watch without a cursor'),
          503: problemResponse('The node is starting, serves --watch-max watches already, or too few members answer to watch every key; retry (Retry-After) or use another node'),
        },
      },
    },
    async (request, reply) => {
      const watch = deps.watch;
      const prefix = request.query.prefix ?? '';
      if (utf8Length(prefix) > keyBytesMax) throw new ProblemError(400, 'bad-prefix', 'Invalid prefix', `a prefix is at most ${keyBytesMax} UTF-8 bytes`);
      const cursorText = request.query.since ?? headerText(request.headers['last-event-id']);
      const cursor = cursorText === undefined || cursorText === '' ? undefined : parseCursor(cursorText);
      if (cursorText !== undefined && cursorText !== '' && cursor === undefined) {
        throw new ProblemError(400, 'bad-cursor', 'Invalid cursor', 'since (or Last-Event-ID) must be the id of an event this API sent; start without one to watch from now');
      }
      requireReady(deps);
      if (watch === undefined || watch.max === 0) throw new ProblemError(503, 'watch-off', 'Watches are off', `node ${deps.nodeId} serves no watches (--watch-max 0); use another node`, { retryAfterSeconds: 5 });
      if (watch.count() >= watch.max) {
        throw new ProblemError(503, 'watch-limit', 'Too many watches', `node ${deps.nodeId} serves ${watch.max} watches already (--watch-max); retry later or use another node`, { retryAfterSeconds: 1 });
      }
      const stream = new EventStream(reply, watch.heartbeatMs ?? watchHeartbeatMsDefault, watch.unsentBytesMax);
      let session: WatchSession;
      try {
        session = await watch.open(prefix, cursor, stream.listener);
      } catch (error) {
        if (error instanceof WatchError && error.reason === 'gone') throw new ProblemError(410, 'watch-cursor-expired', 'Cursor expired', error.message);
        if (error instanceof WatchError) throw new ProblemError(503, 'watch-unavailable', 'Cannot watch every key', error.message, { retryAfterSeconds: 1 });
        throw error;
      }
      stream.begin(session, prefix);
      return reply;
    },
  );
};

/** One watcher's stream: events are kept until the answer starts, then written as they come. */
class EventStream {
  private readonly reply: FastifyReply;
  private readonly heartbeatMs: number;
  private readonly unsentBytesMax: number;
  private readonly early: string[] = [];
  private started = false;
  private finished = false;
  private session: WatchSession | undefined;
  private readyCursor = '';
  readonly listener: WatchListener;

  constructor(reply: FastifyReply, heartbeatMs: number, unsentBytesMax: number) {
    this.reply = reply;
    this.heartbeatMs = heartbeatMs;
    this.unsentBytesMax = unsentBytesMax;
    this.listener = {
      ready: (cursor) => {
        this.readyCursor = cursor;
      },
      change: (event) => this.send(eventText(event)),
      progress: (cursor) => this.send(`event: progress\nid: ${cursor}\ndata: ${JSON.stringify({ cursor })}\n\n`),
      ended: (error) => this.cut(problemOfEnd(error)),
    };
  }

  begin(session: WatchSession, prefix: string): void {
    this.session = session;
    const raw = this.reply.raw;
    this.reply.hijack();
    // Headers the hooks set (CORS) are on the reply, not yet on the raw answer.
    raw.writeHead(200, {
      ...(this.reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    this.started = true;
    raw.write(`event: ready\nid: ${this.readyCursor}\ndata: ${JSON.stringify({ cursor: this.readyCursor, prefix })}\n\n`);
    for (const text of this.early.splice(0)) this.send(text);
    // A comment now and then keeps proxies from closing an idle stream; progress events carry cursors.
    const keepAlive = setInterval(() => this.send(':\n\n'), this.heartbeatMs);
    keepAlive.unref();
    raw.once('close', () => {
      this.finished = true;
      clearInterval(keepAlive);
      session.close();
    });
  }

  private send(text: string): void {
    if (this.finished) return;
    if (!this.started) {
      this.early.push(text);
      return;
    }
    const raw = this.reply.raw;
    raw.write(text);
    if (raw.writableLength > this.unsentBytesMax) {
      this.cut(problemOf(503, 'watch-too-slow', 'Watcher too slow', `more than ${this.unsentBytesMax} bytes of events wait for this watcher to read them (--watch-unsent-mb); read faster, then resume from the last event id`));
    }
  }

  private cut(problem: Problem): void {
    if (this.finished) return;
    if (!this.started) return; // before the answer: open() rejects, and the route answers with the problem
    this.finished = true;
    const raw = this.reply.raw;
    raw.end(`event: error\ndata: ${JSON.stringify(problem)}\n\n`);
    this.session?.close();
  }
}

function eventText(event: WatchEvent): string {
  const record = event.record;
  let data: string;
  if (event.kind === 'put') data = JSON.stringify(storedAnswer(event.key, record));
  else if (event.kind === 'expire') data = JSON.stringify({ key: event.key, deleted: true, expired: true, version: formatVersion(record), expiresAt: expiresAtOf(record) });
  else data = JSON.stringify({ key: event.key, deleted: true, version: formatVersion(record) });
  return `event: ${event.kind === 'put' ? 'put' : 'delete'}\nid: ${event.cursor}\ndata: ${data}\n\n`;
}

function problemOfEnd(error: WatchError): Problem {
  switch (error.reason) {
    case 'gone':
      return problemOf(410, 'watch-cursor-expired', 'Cursor expired', error.message);
    case 'behind':
      return problemOf(503, 'watch-too-slow', 'Watcher too slow', error.message, { retryAfterSeconds: 1 });
    case 'closed':
      return problemOf(503, 'node-stopping', 'Node stopping', 'this node is stopping or closed the watch; resume on another node from the last event id', { retryAfterSeconds: 1 });
    case 'unavailable':
      return problemOf(503, 'watch-unavailable', 'Cannot watch every key', error.message, { retryAfterSeconds: 1 });
  }
}
