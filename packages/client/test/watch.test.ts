// Checks the watch client: the event-stream parser against a reference serializer with the
// bytes split at random points (fast-check), and the resume logic against real node:http
// servers on loopback that write GET /watch's format and fail on cue (killed mid-stream,
// `event: error`, 503, silence, 410), which a real cluster cannot be made to do at a chosen byte.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { RingkvClient, RingkvError, WatchCursorExpiredError } from '../src/client.js';
import { RingkvClusterClient, RingkvUnavailableError } from '../src/cluster-client.js';
import { ServerSentEventParser, ServerSentEventsTooLongError, type ServerSentEvent } from '../src/server-sent-events.js';
import { itemOf, retryWaitMs, watchPath, WatchProtocolError, type WatchEvent, type WatchStatus } from '../src/watch.js';

describe('the event-stream parser', () => {
  const lineText = fc.string({ unit: 'grapheme', maxLength: 24 }).map((text) => text.replace(/[\r\n]/g, ''));
  const eventArbitrary = fc.record({
    comment: fc.option(lineText, { nil: undefined }),
    event: fc.option(fc.constantFrom('put', 'delete', 'progress', 'ready', 'error'), { nil: undefined }),
    id: fc.option(lineText.map((text) => text.replace(/\0/g, '')), { nil: undefined }),
    data: fc.array(lineText, { minLength: 1, maxLength: 3 }),
  });
  type Generated = { comment: string | undefined; event: string | undefined; id: string | undefined; data: string[] };

  /** The stream a server following the standard writes for `events`, every line ended with `ending`. */
  function serialize(events: readonly Generated[], ending: string, byteOrderMark: boolean): Uint8Array {
    const lines: string[] = [];
    for (const event of events) {
      if (event.comment !== undefined) lines.push(`:${event.comment}`);
      if (event.event !== undefined) lines.push(`event: ${event.event}`);
      if (event.id !== undefined) lines.push(`id: ${event.id}`);
      for (const data of event.data) lines.push(`data: ${data}`);
      lines.push('');
    }
    return new TextEncoder().encode(`${byteOrderMark ? '\ufeff' : ''}${lines.map((line) => `${line}${ending}`).join('')}`);
  }

  /** What the standard says a reader dispatches for `events`: ids carry over to later events. */
  function expected(events: readonly Generated[]): ServerSentEvent[] {
    let lastId = '';
    return events.map((event) => {
      if (event.id !== undefined) lastId = event.id;
      return { event: event.event ?? 'message', data: event.data.join('\n'), id: lastId, hasId: event.id !== undefined };
    });
  }

  function parseInChunks(bytes: Uint8Array, cuts: readonly number[]): ServerSentEvent[] {
    const parser = new ServerSentEventParser(1 << 20);
    const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (const point of [...points, bytes.length]) {
      events.push(...parser.push(bytes.subarray(start, point)));
      start = point;
    }
    events.push(...parser.end());
    return events;
  }

  it('reads the same events however the bytes are split (inside UTF-8 characters and CRLF too), for LF, CRLF and CR line ends', () => {
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { maxLength: 8 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 40 }),
        (events, ending, byteOrderMark, cuts) => {
          const bytes = serialize(events, ending, byteOrderMark);
          assert.deepEqual(parseInChunks(bytes, cuts), expected(events));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('splits a CRLF across chunks into one line end, and a lone CR before a LF-less chunk into its own', () => {
    const parser = new ServerSentEventParser(1000);
    const encode = (text: string) => new TextEncoder().encode(text);
    assert.deepEqual(parser.push(encode('event: put\r')), []);
    assert.deepEqual(parser.push(encode('\ndata: 1\r')), []);
    assert.deepEqual(parser.push(encode('\r')), [{ event: 'put', data: '1', id: '', hasId: false }]);
    assert.deepEqual(parser.push(encode('data: 2\r\r')), [{ event: 'message', data: '2', id: '', hasId: false }]);
  });

  it('keeps a character whose UTF-8 bytes arrive one at a time', () => {
    const parser = new ServerSentEventParser(1000);
    const bytes = new TextEncoder().encode('data: {"value":"😀é"}\n\n');
    const events = [...bytes].flatMap((byte) => parser.push(Uint8Array.of(byte)));
    assert.deepEqual(events, [{ event: 'message', data: '{"value":"😀é"}', id: '', hasId: false }]);
  });

  it('follows the standard on fields: comments skipped, one space stripped, id with NUL ignored, retry read, no data no event', () => {
    const parser = new ServerSentEventParser(1000);
    const text = ': hello\nid: a\nretry: 1500\ndata:  two spaces\ndata\n\nid: b\0c\nevent: put\n\nid\ndata: x\n\n';
    assert.deepEqual(parser.push(new TextEncoder().encode(text)), [
      { event: 'message', data: ' two spaces\n', id: 'a', hasId: true, retryMs: 1500 },
      { event: 'message', data: 'x', id: '', hasId: true },
    ]);
  });

  it('drops an event the stream ended in the middle of', () => {
    const parser = new ServerSentEventParser(1000);
    assert.deepEqual(parser.push(new TextEncoder().encode('event: put\nid: 3\ndata: {"key":"k"}\n')), []);
    assert.deepEqual(parser.end(), []);
  });

  it('refuses a line or an event longer than its bound instead of holding it', () => {
    assert.throws(() => new ServerSentEventParser(16).push(new TextEncoder().encode('data: 0123456789abcdef')), ServerSentEventsTooLongError);
    const parser = new ServerSentEventParser(16);
    assert.throws(() => parser.push(new TextEncoder().encode('data: 0123456\ndata: 0123456\ndata: 0\n')), ServerSentEventsTooLongError);
  });
});

describe('watch events and waits', () => {
  const message = (event: string, data: unknown, id?: string): ServerSentEvent => ({ event, data: JSON.stringify(data), id: id ?? '', hasId: id !== undefined });

  it('types each event of the contract and takes the cursor from its id', () => {
    assert.deepEqual(itemOf(message('ready', { cursor: 'c1', prefix: 'a/' }, 'c1')), { type: 'ready', cursor: 'c1', prefix: 'a/' });
    assert.deepEqual(itemOf(message('put', { key: 'a/1', value: { n: 1 }, version: '5-n1', expiresAt: '2026-01-01T00:00:00Z' }, 'c2')), {
      type: 'put',
      cursor: 'c2',
      key: 'a/1',
      value: { n: 1 },
      version: '5-n1',
      expiresAt: '2026-01-01T00:00:00Z',
    });
    assert.deepEqual(itemOf(message('put', { key: 'a/1', value: null, version: '6-n1' }, 'c3')), { type: 'put', cursor: 'c3', key: 'a/1', value: null, version: '6-n1' });
    assert.deepEqual(itemOf(message('delete', { key: 'a/1', deleted: true, version: '7-n2' }, 'c4')), { type: 'delete', cursor: 'c4', key: 'a/1', version: '7-n2', expired: false });
    assert.deepEqual(itemOf(message('delete', { key: 'a/1', deleted: true, expired: true, version: '8-n2' }, 'c5')), { type: 'delete', cursor: 'c5', key: 'a/1', version: '8-n2', expired: true });
    assert.deepEqual(itemOf(message('progress', { cursor: 'c6' })), { type: 'progress', cursor: 'c6' }, 'a heartbeat without id falls back to its data');
    assert.equal(itemOf(message('compacted', { future: true }, 'c7')), undefined, 'an event of a later release is skipped');
    const cut = itemOf(message('error', { type: 'urn:ringkv:problem:watcher-behind', title: 'Too slow', status: 503, detail: 'resume' }));
    assert.deepEqual(cut, { cut: { type: 'urn:ringkv:problem:watcher-behind', title: 'Too slow', status: 503, detail: 'resume' } });
  });

  it('refuses events a client could not resume from or use', () => {
    assert.throws(() => itemOf(message('put', { key: 'k', value: 1, version: 'v' })), WatchProtocolError, 'no id');
    assert.throws(() => itemOf(message('put', { key: 'k', version: 'v' }, 'c')), WatchProtocolError, 'no value');
    assert.throws(() => itemOf(message('delete', { key: 7, version: 'v' }, 'c')), WatchProtocolError, 'key not a string');
    assert.throws(() => itemOf({ event: 'put', data: '{not json', id: 'c', hasId: true }), WatchProtocolError);
  });

  it('puts the prefix and cursor in the query, escaped', () => {
    assert.equal(watchPath('', null), '/watch');
    assert.equal(watchPath('users/42 x', 'c-1.2_~'), '/watch?prefix=users%2F42+x&since=c-1.2_%7E');
  });

  it('waits nothing before trying another node, then doubles up to the bound, honouring a bounded Retry-After', () => {
    const settings = { retryDelayMsMin: 100, retryDelayMsMax: 1000 };
    const highest = () => 0.999999;
    assert.equal(retryWaitMs(1, undefined, settings, highest), 0);
    assert.equal(retryWaitMs(2, undefined, settings, highest), 100);
    assert.equal(retryWaitMs(3, undefined, settings, highest), 200);
    assert.equal(retryWaitMs(30, undefined, settings, highest), 1000);
    assert.equal(retryWaitMs(30, undefined, settings, () => 0), 500, 'half of the wait is random');
    assert.equal(retryWaitMs(1, 2000, settings, highest), 2000);
    assert.equal(retryWaitMs(1, 3_600_000, settings, highest), 30_000);
  });
});

/** How a scripted node answers one GET /watch: it may write events, fail, or stay silent. */
type WatchScript = (request: IncomingMessage, response: ServerResponse, node: WatchNode) => void;

interface SeenWatch {
  node: string;
  url: string;
  authorization: string | undefined;
}

/** A loopback HTTP server that answers /cluster with the given members and /watch by its script. */
class WatchNode {
  readonly name: string;
  script: WatchScript = (_request, response) => openStream(response);
  members: WatchNode[] = [];
  private readonly server: Server;
  private readonly seen: SeenWatch[];
  private port = 0;

  constructor(name: string, seen: SeenWatch[]) {
    this.name = name;
    this.seen = seen;
    this.server = createServer((request, response) => this.serve(request, response));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Like kill -9 as a client sees it: open streams break and new connections are refused. */
  async kill(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private serve(request: IncomingMessage, response: ServerResponse): void {
    if (request.url === '/cluster') {
      const members = this.members.map((member) => ({ nodeId: member.name, address: `127.0.0.1:${member.port}`, state: 'up', ringStatus: 'normal' }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ members, ring: { hash: 'none' } }));
      return;
    }
    if (!request.url?.startsWith('/watch')) {
      answerProblem(response, { type: 'urn:ringkv:problem:not-found', title: 'Not Found', status: 404, detail: 'scripted node' });
      return;
    }
    this.seen.push({ node: this.name, url: request.url, authorization: request.headers.authorization });
    this.script(request, response, this);
  }
}

function openStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.flushHeaders();
}

function send(response: ServerResponse, event: string, data: unknown, id?: string): void {
  response.write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
}

function answerProblem(response: ServerResponse, problem: { type: string; title: string; status: number; detail: string }, headers: Record<string, string> = {}): void {
  response.writeHead(problem.status, { 'content-type': 'application/problem+json', ...headers }).end(JSON.stringify(problem));
}

/** Every node answers the n-th watch request of a test with the n-th script (the last one for any later request): the client picks the nodes. */
function byTurn(nodes: readonly WatchNode[], seen: readonly SeenWatch[], ...scripts: WatchScript[]): void {
  for (const node of nodes) node.script = (request, response, self) => scripts[Math.min(seen.length, scripts.length) - 1]!(request, response, self);
}

const since = (url: string) => new URL(url, 'http://x').searchParams.get('since');
const fastRetries = { retryDelayMsMin: 20, retryDelayMsMax: 80 };

/** The next `count` events of `iterator`, failing the test if they take longer than `withinMs`. */
async function take(iterator: AsyncIterator<WatchEvent>, count: number, withinMs = 5000): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const deadline = Date.now() + withinMs;
  while (events.length < count) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${events.length} of ${count} events within ${withinMs} ms: ${JSON.stringify(events)}`)), Math.max(1, deadline - Date.now()));
    });
    try {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done === true) throw new Error(`the watch ended after ${events.length} of ${count} events`);
      events.push(next.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return events;
}

describe('watch resumes on another node', () => {
  const seen: SeenWatch[] = [];
  const started: WatchNode[] = [];
  const controllers: AbortController[] = [];

  async function nodes(count: number): Promise<WatchNode[]> {
    const made = await Promise.all(Array.from({ length: count }, (_unused, index) => new WatchNode(`n${started.length + index + 1}`, seen).start()));
    for (const node of made) node.members = made;
    started.push(...made);
    return made;
  }

  function stopper(): AbortSignal {
    const controller = new AbortController();
    controllers.push(controller);
    return controller.signal;
  }

  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
    seen.length = 0;
  });

  after(async () => {
    await Promise.all(started.map((node) => node.kill().catch(() => undefined)));
  });

  it('continues on the other node with since=<last id> when the node serving it is killed mid-stream', async () => {
    const [first, second] = await nodes(2);
    byTurn(
      [first!, second!],
      seen,
      (_request, response) => {
        openStream(response);
        send(response, 'ready', { cursor: 'c1', prefix: 'a/' }, 'c1');
        send(response, 'put', { key: 'a/1', value: { n: 1 }, version: '10-n1' }, 'c2');
      },
      (request, response) => {
        openStream(response);
        const from = since(request.url ?? '') ?? 'none';
        send(response, 'ready', { cursor: from, prefix: 'a/' }, from);
        send(response, 'delete', { key: 'a/1', deleted: true, version: '11-n2' }, 'c3');
        send(response, 'progress', { cursor: 'c4' }, 'c4');
      },
    );
    // Only the first node is given: the client learns the second from /cluster.
    const client = new RingkvClusterClient({ nodes: [first!.url], token: 'secret-token', routing: false });
    const statuses: WatchStatus[] = [];
    const iterator = client.watch({ prefix: 'a/', signal: stopper(), onStatus: (status) => statuses.push(status), ...fastRetries })[Symbol.asyncIterator]();

    assert.deepEqual(await take(iterator, 2), [
      { type: 'ready', cursor: 'c1', prefix: 'a/' },
      { type: 'put', cursor: 'c2', key: 'a/1', value: { n: 1 }, version: '10-n1' },
    ]);
    const serving = seen[0]!.node === first!.name ? first! : second!;
    const other = serving === first ? second! : first!;
    await serving.kill();
    assert.deepEqual(await take(iterator, 3), [
      { type: 'ready', cursor: 'c2', prefix: 'a/' },
      { type: 'delete', cursor: 'c3', key: 'a/1', version: '11-n2', expired: false },
      { type: 'progress', cursor: 'c4' },
    ]);
    assert.deepEqual(
      seen.map((request) => [request.node, request.url, request.authorization]),
      [
        [serving.name, '/watch?prefix=a%2F', 'Bearer secret-token'],
        [other.name, '/watch?prefix=a%2F&since=c2', 'Bearer secret-token'],
      ],
    );
    const reconnect = statuses.find((status) => status.state === 'reconnecting');
    assert.equal(reconnect?.url, other.url);
    assert.equal(reconnect?.cursor, 'c2');
    assert.equal(reconnect?.waitMs, 0, 'the first reconnection after a working stream does not wait');
    await iterator.return?.();
  });

  it('resumes elsewhere after `event: error`, and after a 503 without waiting for its Retry-After', async () => {
    const [first, second, third] = await nodes(3);
    byTurn(
      [first!, second!, third!],
      seen,
      (_request, response) => {
        openStream(response);
        send(response, 'ready', { cursor: 'c1', prefix: '' }, 'c1');
        send(response, 'put', { key: 'k', value: 1, version: '1-n1' }, 'c2');
        send(response, 'error', { type: 'urn:ringkv:problem:watcher-too-slow', title: 'Watcher too slow', status: 503, detail: 'resume with Last-Event-ID' });
        response.end();
      },
      (_request, response) => answerProblem(response, { type: 'urn:ringkv:problem:watchers-full', title: 'Too many watchers', status: 503, detail: 'try another node' }, { 'retry-after': '60' }),
      (request, response) => {
        openStream(response);
        send(response, 'ready', { cursor: 'c2', prefix: '' }, 'c2');
        send(response, 'put', { key: 'k', value: 2, version: '2-n3' }, `${since(request.url ?? '')}-next`);
      },
    );
    const client = new RingkvClusterClient({ nodes: [first!.url, second!.url, third!.url], routing: false });
    const startedMs = Date.now();
    const iterator = client.watch({ signal: stopper(), ...fastRetries })[Symbol.asyncIterator]();
    const events = await take(iterator, 4);
    assert.deepEqual(
      events.map((event) => event.cursor),
      ['c1', 'c2', 'c2', 'c2-next'],
    );
    assert.ok(Date.now() - startedMs < 10_000, 'a Retry-After of 60 s did not hold the watch up: another node was asked');
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen.map((request) => request.node)).size, 3, 'each attempt went to another node');
    assert.deepEqual(
      seen.map((request) => since(request.url)),
      [null, 'c2', 'c2'],
    );
    await iterator.return?.();
  });

  it('reopens a stream that falls silent past the idle timeout (a node lost without a reset)', async () => {
    const [first, second] = await nodes(2);
    byTurn(
      [first!, second!],
      seen,
      (_request, response) => {
        openStream(response);
        send(response, 'ready', { cursor: 'c1', prefix: '' }, 'c1');
        send(response, 'progress', { cursor: 'c5' }, 'c5');
        // Then nothing: no heartbeat, no end.
      },
      (request, response) => {
        openStream(response);
        send(response, 'ready', { cursor: 'c5', prefix: '' }, since(request.url ?? '') ?? 'none');
      },
    );
    const client = new RingkvClusterClient({ nodes: [first!.url, second!.url], routing: false });
    const iterator = client.watch({ signal: stopper(), idleTimeoutMs: 300, ...fastRetries })[Symbol.asyncIterator]();
    const events = await take(iterator, 3);
    assert.deepEqual(events[2], { type: 'ready', cursor: 'c5', prefix: '' });
    assert.notEqual(seen[1]!.node, seen[0]!.node);
    await iterator.return?.();
  });

  it('throws WatchCursorExpiredError with the problem for a cursor older than the retention, from either client', async () => {
    const [node] = await nodes(1);
    const expired = { type: 'urn:ringkv:problem:watch-cursor-expired', title: 'Cursor expired', status: 410, detail: 'list the keys again and start a fresh watch without since' };
    node!.script = (_request, response) => answerProblem(response, expired);
    for (const client of [new RingkvClient({ baseUrl: node!.url }), new RingkvClusterClient({ nodes: [node!.url], routing: false })]) {
      await assert.rejects(
        async () => {
          for await (const _event of client.watch({ since: 'old', signal: stopper() })) assert.fail('no event comes before the 410');
        },
        (error: unknown) => error instanceof WatchCursorExpiredError && error.status === 410 && error.problem.detail === expired.detail,
      );
    }
    assert.equal(seen.length, 2, 'a 410 is not retried');
  });

  it('ends on a 410 inside the stream too, and throws a refusal (403) at once instead of retrying it', async () => {
    const [node] = await nodes(1);
    node!.script = (_request, response) => {
      openStream(response);
      send(response, 'ready', { cursor: 'c1', prefix: '' }, 'c1');
      send(response, 'error', { type: 'urn:ringkv:problem:watch-cursor-expired', title: 'Cursor expired', status: 410, detail: 'fell out of retention' });
      response.end();
    };
    const client = new RingkvClient({ baseUrl: node!.url });
    const received: WatchEvent[] = [];
    await assert.rejects(async () => {
      for await (const event of client.watch({ signal: stopper() })) received.push(event);
    }, WatchCursorExpiredError);
    assert.equal(received.length, 1);
    node!.script = (_request, response) => answerProblem(response, { type: 'urn:ringkv:problem:forbidden', title: 'Forbidden', status: 403, detail: 'the token reaches keys under b/ only' });
    await assert.rejects(
      async () => {
        for await (const _event of client.watch({ prefix: 'a/', signal: stopper() })) assert.fail('no event');
      },
      (error: unknown) => error instanceof RingkvError && !(error instanceof WatchCursorExpiredError) && error.status === 403,
    );
  });

  it('reconnects the one-node client to its node with the last cursor after the stream ends, as often as each stream delivers', async () => {
    const [node] = await nodes(1);
    let opened = 0;
    node!.script = (request, response) => {
      opened++;
      openStream(response);
      send(response, 'ready', { cursor: 'r', prefix: '' }, since(request.url ?? '') ?? 'r0');
      send(response, 'put', { key: 'k', value: opened, version: `${opened}-n1` }, `p${opened}`);
      if (opened <= 3) response.end();
    };
    // reconnectsMax 1: only failures in a row count, and each of these streams delivered a change.
    const iterator = new RingkvClient({ baseUrl: node!.url }).watch({ signal: stopper(), reconnectsMax: 1, ...fastRetries })[Symbol.asyncIterator]();
    const events = await take(iterator, 8);
    assert.deepEqual(
      events.map((event) => event.cursor),
      ['r0', 'p1', 'p1', 'p2', 'p2', 'p3', 'p3', 'p4'],
    );
    await iterator.return?.();
  });

  it('ends the iteration without an error when its signal aborts, and closes the connection', async () => {
    const [node] = await nodes(1);
    let closed: Promise<void> = Promise.resolve();
    node!.script = (_request, response) => {
      closed = new Promise((resolve) => response.once('close', () => resolve()));
      openStream(response);
      send(response, 'ready', { cursor: 'c1', prefix: '' }, 'c1');
    };
    const controller = new AbortController();
    const received: WatchEvent[] = [];
    for await (const event of new RingkvClusterClient({ nodes: [node!.url], routing: false }).watch({ signal: controller.signal })) {
      received.push(event);
      setTimeout(() => controller.abort(), 50);
    }
    assert.deepEqual(received, [{ type: 'ready', cursor: 'c1', prefix: '' }]);
    await closed;
  });

  it('gives up after reconnectsMax failures in a row, saying what each attempt met', async () => {
    const [first, second] = await nodes(2);
    const urls = [first!.url, second!.url];
    await first!.kill();
    await second!.kill();
    const client = new RingkvClusterClient({ nodes: urls, routing: false });
    await assert.rejects(
      async () => {
        for await (const _event of client.watch({ signal: stopper(), reconnectsMax: 3, ...fastRetries })) assert.fail('no node is up');
      },
      (error: unknown) =>
        error instanceof RingkvUnavailableError &&
        error.message.startsWith('GET /watch (4 failures in a row)') &&
        error.attempts.length === 2 &&
        error.attempts.every((attempt) => attempt.kind === 'not-sent'),
    );
  });

  it('refuses a 200 that is not an event stream (a node without GET /watch)', async () => {
    const [node] = await nodes(1);
    node!.script = (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    await assert.rejects(async () => {
      for await (const _event of new RingkvClient({ baseUrl: node!.url }).watch({ signal: stopper() })) assert.fail('no event');
    }, /not an event stream/);
  });
});
