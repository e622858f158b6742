// The naive fan-out yardstick (issue 14): one of three plain node:http processes that each
// hold every key in a Map. A client PUT is stored here, sent to both peers, and answered
// once W=2 copies hold it (this one counts); a GET answers from the local Map. No ring,
// no hints, no repair, last write wins by a timestamp: the floor of what a replicated store
// costs in Node on this machine, against which ringkv's request paths are judged.
// yardstick-bench.ts forks three of these: each listens on a free port, reports it over the
// IPC channel, and takes its peers' ports back the same way before it answers clients.
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const writeQuorum = 2;
const peerTimeoutMs = 2000;
const bodyBytesMax = 1 << 20;

interface Stored {
  value: unknown;
  /** Wall-clock microseconds, then this node's tiebreak: the later stamp wins. */
  stamp: number;
}

const store = new Map<string, Stored>();
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let peerPorts: number[] = [];
let lastStamp = 0;

function nextStamp(): number {
  lastStamp = Math.max(lastStamp + 1, Date.now() * 1000);
  return lastStamp;
}

function keep(key: string, incoming: Stored): void {
  const current = store.get(key);
  if (current === undefined || incoming.stamp > current.stamp) store.set(key, incoming);
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': status < 400 ? 'application/json' : 'application/problem+json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function problem(response: ServerResponse, status: number, title: string, detail: string): void {
  reply(response, status, { type: 'about:blank', title, status, detail });
}

function readJson(incoming: IncomingMessage, done: (body: unknown) => void, failed: (why: string) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  incoming.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= bodyBytesMax) chunks.push(chunk);
  });
  incoming.on('end', () => {
    if (bytes > bodyBytesMax) return failed(`the body is over ${bodyBytesMax} bytes`);
    try {
      done(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      failed('the body is not JSON');
    }
  });
}

/** Sends a copy to one peer; resolves true once it has stored it, false on any failure. */
function copyToPeer(port: number, path: string, copy: Stored): Promise<boolean> {
  return new Promise((resolve) => {
    const text = JSON.stringify(copy);
    const outgoing = request(
      { host: '127.0.0.1', port, method: 'PUT', path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-fanout-copy': '1' } },
      (answer) => {
        answer.resume();
        answer.on('end', () => resolve(answer.statusCode === 200));
      },
    );
    outgoing.setTimeout(peerTimeoutMs, () => outgoing.destroy(new Error('peer timeout')));
    outgoing.on('error', () => resolve(false));
    outgoing.end(text);
  });
}

/** Answers once `needed` peers stored the copy, or with 503 once that can no longer happen. */
function replicate(response: ServerResponse, path: string, copy: Stored): void {
  const needed = writeQuorum - 1;
  let stored = 0;
  let failed = 0;
  for (const port of peerPorts) {
    void copyToPeer(port, path, copy).then((ok) => {
      if (ok) stored++;
      else failed++;
      if (ok && stored === needed) reply(response, 200, { ok: true });
      else if (!ok && failed === peerPorts.length - needed + 1) problem(response, 503, 'Not enough replicas', 'fewer than W=2 copies were stored; retry once the peers are up');
    });
  }
}

function handle(incoming: IncomingMessage, response: ServerResponse): void {
  const url = incoming.url ?? '';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (!path.startsWith('/store/') || path.length === '/store/'.length) return problem(response, 404, 'Not found', 'this yardstick serves only /store/{key}');
  const key = decodeURIComponent(path.slice('/store/'.length));
  if (incoming.method === 'GET') {
    const stored = store.get(key);
    if (stored === undefined) return problem(response, 404, 'No such key', `${key} is not stored; PUT it first`);
    return reply(response, 200, { key, value: stored.value });
  }
  if (incoming.method !== 'PUT') return problem(response, 405, 'Method not allowed', 'use GET or PUT');
  readJson(
    incoming,
    (body) => {
      if (typeof body !== 'object' || body === null || !('value' in body)) return problem(response, 400, 'Bad body', 'send {"value": ...}');
      if (incoming.headers['x-fanout-copy'] === '1') {
        keep(key, body as Stored);
        return reply(response, 200, { ok: true });
      }
      const copy = { value: body.value, stamp: nextStamp() };
      keep(key, copy);
      replicate(response, path, copy);
    },
    (why) => problem(response, 400, 'Bad body', `${why}; send {"value": ...}`),
  );
}

const server = createServer(handle);
server.keepAliveTimeout = 60_000;
process.on('message', (message: { peerPorts?: number[] }) => {
  if (Array.isArray(message.peerPorts)) {
    peerPorts = message.peerPorts;
    process.send?.({ ready: true });
  }
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  agent.destroy();
});
process.on('disconnect', () => process.exit(0));
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
