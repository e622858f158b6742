// Overload is shed, not queued (issue 13; docs/guarantees.md, "Overload"). A node serves
// at most --inflight-requests-max client requests at once, holding at most
// --inflight-body-bytes-max bytes of request bodies (counted by Content-Length when the
// request arrives, before a byte of the body is read). A request beyond either bound is
// answered 503 with Retry-After at once: before its body is read, before any replica is
// asked, so nothing of it is written anywhere. Without the bounds a flood of large PUTs was
// all accepted and queued: memory grew by hundreds of MB and every other client waited.
// While the event loop was busier than --shed-busy-share of the last window and other
// requests came, a large body (largeBodyBytes) is taken only when no other is in flight:
// parsing, encoding and sending a 1 MiB value holds the loop for milliseconds, and several
// at once made every other client wait behind them (under a flood of 1 MiB PUTs a light client's GET p99 went from
// 123–155 ms to 58–94 ms with this bound, the flooded node accepting about as many).
// A shed large body is not read at all: the 503 says `Connection: close`, and the
// connection is closed shortly after (closeUnread). Node would otherwise read and discard
// every byte of it to keep the connection: under the flood benchmark the flooded node read
// 2 GB of bodies it had refused, against 0.3 GB without, and the light client's p99 went
// from 64–79 ms to 38–47 ms.
// /health and /metrics are never shed: probes and scrapes must see an overloaded node.
//
// The same counts, and how busy the event loop was lately, tell the node's background jobs
// how busy its clients are (ClientLoad, packages/core/src/clock/background-budget.ts).
import type { Socket } from 'node:net';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  backgroundBusyWindowMs,
  inflightBodyBytesMaxDefault,
  inflightRequestsMaxDefault,
  InflightCount,
  largeBodyBytes,
  overloadRetryAfterSecondsDefault,
  replicaBacklogBytesMax,
  shedBusyShareDefault,
  shedLingerMs,
  type ClientLoad,
} from '@ringkv/core';
import { problemOf, sendProblem, type Problem } from './problems.js';
import { isClientWork } from './route-access.js';

export interface LoadSheddingOptions {
  /** Client requests served at once; more get 503. */
  inflightRequestsMax: number;
  /** Bytes of request bodies held at once (by Content-Length); more get 503. */
  inflightBodyBytesMax: number;
  /** What a shed request is told to wait (Retry-After), in seconds. */
  retryAfterSeconds: number;
  /** Bytes sent to replicas and not yet answered beyond which requests with a body are shed. */
  replicaBacklogBytesMax: number;
  /** Busier than this share of the last window, the event loop takes one large body at a time (1: no such bound). */
  busyShareMax: number;
}

export const loadSheddingDefaults: LoadSheddingOptions = {
  inflightRequestsMax: inflightRequestsMaxDefault,
  inflightBodyBytesMax: inflightBodyBytesMaxDefault,
  retryAfterSeconds: overloadRetryAfterSecondsDefault,
  replicaBacklogBytesMax: replicaBacklogBytesMax,
  busyShareMax: shedBusyShareDefault,
};

/** Why a request was shed (a metric label). */
export type ShedReason = 'requests' | 'body-bytes' | 'busy' | 'replica-backlog' | 'peer-queue';

/** Node's `performance.eventLoopUtilization`: a mark, or the difference between two. */
export type EventLoopUtilizationMeter = (current?: EventLoopUtilization, previous?: EventLoopUtilization) => EventLoopUtilization;

/** Counts a node's client requests and body bytes in flight, and decides which to shed. */
export class LoadShedder implements ClientLoad {
  readonly options: LoadSheddingOptions;
  private readonly requests: InflightCount;
  /** The admitted requests that are clients' work on keys (`isClientWork`): the load background jobs give way to. */
  private readonly clientWork: InflightCount;
  private bodyBytes = 0;
  /** Bodies of at least largeBodyBytes in flight. */
  private largeBodies = 0;
  /** When a request without a large body last came (admitted, or served by the fast read path). */
  private lastSmallAtMs = Number.NEGATIVE_INFINITY;
  private readonly shed = new Map<ShedReason, number>();
  private readonly nowMs: () => number;
  private readonly replicaBacklogBytes: () => number;
  /** Told of every shed request (the metrics counter). */
  onShed: ((reason: ShedReason) => void) | undefined;
  private readonly eventLoop: EventLoopUtilizationMeter;
  private eventLoopMark: EventLoopUtilization;
  private eventLoopMarkAtMs: number;
  private lastBusyShare: number | undefined;

  /**
   * `replicaBacklogBytes`: bytes this node sent to replicas that have not answered yet,
   * its own replica included (writes queued in its storage engine). A client's request
   * ends once W replicas acknowledged, while the others still receive the write: without
   * this, a flood outruns the slowest replica and its backlog grows in this node's memory
   * without bound (node.ts passes the transport's count plus the LMDB engine's queue).
   */
  constructor(
    options: Partial<LoadSheddingOptions> = {},
    nowMs: () => number = () => performance.now(),
    replicaBacklogBytes: () => number = () => 0,
    eventLoop: EventLoopUtilizationMeter = (current, previous) => performance.eventLoopUtilization(current, previous),
  ) {
    this.options = { ...loadSheddingDefaults, ...options };
    this.nowMs = nowMs;
    this.requests = new InflightCount(nowMs);
    this.clientWork = new InflightCount(nowMs);
    this.replicaBacklogBytes = replicaBacklogBytes;
    this.eventLoop = eventLoop;
    this.eventLoopMark = eventLoop();
    this.eventLoopMarkAtMs = nowMs();
  }

  /**
   * Takes a place for a request whose body is `bodyBytes` long, or says which bound it
   * would break. A body larger than the whole bound still gets in when no other body is
   * in flight, so that every value the node accepts can be written on a quiet node.
   */
  admit(bodyBytes: number, clientWork = true): ShedReason | undefined {
    const shed = this.boundBroken(bodyBytes);
    if (shed !== undefined) return this.count(shed);
    this.requests.begin();
    if (clientWork) this.clientWork.begin();
    this.bodyBytes += bodyBytes;
    if (bodyBytes >= largeBodyBytes) this.largeBodies++;
    else this.lastSmallAtMs = this.nowMs();
    return undefined;
  }

  /**
   * Whether `admit` would take a request with `bodyBytes` of body now. Nothing is counted,
   * but a small request asked about counts as a client the busy bound protects.
   */
  hasRoomFor(bodyBytes: number): boolean {
    if (bodyBytes < largeBodyBytes) this.lastSmallAtMs = this.nowMs();
    return this.boundBroken(bodyBytes) === undefined;
  }

  private boundBroken(bodyBytes: number): ShedReason | undefined {
    if (this.requests.now() >= this.options.inflightRequestsMax) return 'requests';
    if (bodyBytes > 0 && this.bodyBytes > 0 && this.bodyBytes + bodyBytes > this.options.inflightBodyBytesMax) return 'body-bytes';
    if (bodyBytes >= largeBodyBytes && this.largeBodies > 0 && this.othersWaitOnBusyLoop()) return 'busy';
    if (bodyBytes > 0 && this.replicaBacklogBytes() > this.options.replicaBacklogBytesMax) return 'replica-backlog';
    return undefined;
  }

  /** Gives back what `admit` took, once the request's answer is sent or it was abandoned. */
  release(bodyBytes: number, clientWork = true): void {
    this.bodyBytes -= bodyBytes;
    if (bodyBytes >= largeBodyBytes) this.largeBodies--;
    if (this.requests.now() <= 0 || this.bodyBytes < 0) throw new Error(`load shedding released more than it admitted (${this.requests.now()} requests, ${this.bodyBytes} bytes)`);
    this.requests.end();
    if (clientWork) this.clientWork.end();
  }

  /** Counts a request shed elsewhere (a peer's request refused as its queue was full). */
  count(reason: ShedReason): ShedReason {
    this.shed.set(reason, (this.shed.get(reason) ?? 0) + 1);
    this.onShed?.(reason);
    return reason;
  }

  inflightRequests(): number {
    return this.requests.now();
  }

  inflightBodyBytes(): number {
    return this.bodyBytes;
  }

  replicaBacklog(): number {
    return this.replicaBacklogBytes();
  }

  shedCounts(): ReadonlyMap<ShedReason, number> {
    return this.shed;
  }

  /**
   * ClientLoad: the clients' work on keys in flight now, or the most in flight during the
   * last second. A light client's requests are short and seldom caught in flight at the
   * moment a background page ends, yet its latency is what the budget protects. An
   * operator's views are not counted (`isClientWork`).
   */
  inflight(): number {
    return this.clientWork.recent();
  }

  /**
   * ClientLoad: the share of the last window (`backgroundBusyWindowMs` or a little more)
   * the event loop was busy, from Node's event-loop utilisation; undefined until a window
   * has passed. A window that ended long ago is taken whole: it is read after every page
   * of background work, so that is seldom.
   */
  busyShare(): number | undefined {
    const nowMs = this.nowMs();
    if (nowMs - this.eventLoopMarkAtMs >= backgroundBusyWindowMs) {
      const mark = this.eventLoop();
      this.lastBusyShare = this.eventLoop(mark, this.eventLoopMark).utilization;
      this.eventLoopMark = mark;
      this.eventLoopMarkAtMs = nowMs;
    }
    return this.lastBusyShare;
  }

  /**
   * The busy bound: the event loop was busier than busyShareMax of the last window, and
   * requests without a large body came during it, whose latency large bodies taken side
   * by side would add to. A node doing nothing but take large bodies takes them all.
   */
  private othersWaitOnBusyLoop(): boolean {
    if (this.options.busyShareMax >= 1 || this.nowMs() - this.lastSmallAtMs > backgroundBusyWindowMs) return false;
    return (this.busyShare() ?? 0) > this.options.busyShareMax;
  }
}

/** Probes and scrapes are never shed: they are how an operator sees the overload. */
function isExempt(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  // A watch is one long answer: it would hold its place for as long as it lasts. Watches have a bound of their own (--watch-max).
  return url === '/health' || url === '/metrics' || url === '/watch';
}

/**
 * The body a request will bring, from its headers alone: its Content-Length, or for a
 * chunked body (no length given) the most a body may be.
 */
export function announcedBodyBytes(headers: FastifyRequest['headers'], bodyBytesMax: number): number {
  const length = headers['content-length'];
  if (length !== undefined) {
    const bytes = Number(length);
    return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : bodyBytesMax;
  }
  return headers['transfer-encoding'] !== undefined ? bodyBytesMax : 0;
}

export function overloadedProblem(reason: ShedReason, shedder: LoadShedder): Problem {
  const { inflightRequestsMax, inflightBodyBytesMax, retryAfterSeconds, busyShareMax } = shedder.options;
  const bounds: Record<Exclude<ShedReason, 'peer-queue'>, string> = {
    requests: `it is serving ${shedder.inflightRequests()} requests, its limit (--inflight-requests-max ${inflightRequestsMax})`,
    'body-bytes': `it holds ${shedder.inflightBodyBytes()} bytes of request bodies and this body would pass its limit (--inflight-body-bytes-max ${inflightBodyBytesMax})`,
    busy: `its event loop was busy ${Math.round((shedder.busyShare() ?? 0) * 100)}% of the last ${backgroundBusyWindowMs} ms (more than --shed-busy-share ${busyShareMax}) and it is already reading a body of ${largeBodyBytes} bytes or more: while busy serving other requests it takes such bodies one at a time`,
    'replica-backlog': `its replicas have not yet answered more than ${shedder.options.replicaBacklogBytesMax} bytes of earlier writes`,
  };
  const bound = bounds[reason === 'peer-queue' ? 'requests' : reason];
  return problemOf(
    503,
    'overloaded',
    'Node overloaded',
    `overloaded, nothing written: retry after ${retryAfterSeconds} s. This node refused the request before reading it: ${bound}. ` +
      'Retry later (the Retry-After header), send fewer requests at once, or spread them over more nodes',
    { reason, retryAfterSeconds, applied: false },
  );
}

export interface LoadSheddingDeps {
  shedder: LoadShedder;
  /** Bodies are at most this long (--max-value-bytes): a chunked body is counted as this. */
  bodyBytesMax: number;
  registry: Registry;
}

/**
 * Registers the bound as an onRequest hook (after the per-connection ordering hook, so a
 * pipelined request counts once it is its turn, before CORS, authentication and the rate
 * limit) and the metrics that show it.
 */
export function registerLoadShedding(app: FastifyInstance, deps: LoadSheddingDeps): void {
  const { shedder } = deps;
  registerLoadMetrics(deps.registry, shedder);
  app.addHook('onRequest', (request, reply, done) => {
    if (isExempt(request)) return done();
    const bodyBytes = announcedBodyBytes(request.headers, deps.bodyBytesMax);
    const clientWork = isClientWork(request.routeOptions.url);
    const shed = shedder.admit(bodyBytes, clientWork);
    if (shed !== undefined) {
      // A small unread body is drained by Node after the answer, keeping the connection; a
      // client still sending it reads the 503 once it has. A large one is left unread and
      // its connection closed.
      reply.header('retry-after', String(shedder.options.retryAfterSeconds));
      if (bodyBytes >= largeBodyBytes) closeUnread(request, reply);
      sendProblem(reply, overloadedProblem(shed, shedder));
      return;
    }
    // 'close' comes once the answer is written, or when the connection dies under it.
    reply.raw.once('close', () => shedder.release(bodyBytes, clientWork));
    done();
  });
}

/**
 * Ends the connection of a request whose body will not be read, without reading it. The
 * answer says `Connection: close`, so the client knows to send nothing more on it. The body
 * is left unread: Node reads and discards the body of a request nobody read, unless
 * something began to read it, which `read(0)` does, taking at most one buffer of it. Once
 * the answer is sent Node ends the connection (`destroySoon`); here that sends the end of
 * the answer at once but closes only `shedLingerMs` later, not reading meanwhile. Closing
 * with the body unread resets the connection, and a reset that reached the client before
 * it had read the answer could discard the answer (RFC 9112, section 9.6): the wait gives
 * the client time to read it first.
 */
function closeUnread(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('connection', 'close');
  const socket = request.raw.socket as Socket & { destroySoon?: () => void };
  request.raw.read(0);
  socket.destroySoon = function lingerThenClose(this: Socket): void {
    this.end();
    const timer = setTimeout(() => this.destroy(), shedLingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

function registerLoadMetrics(registry: Registry, shedder: LoadShedder): void {
  const shedName = 'ringkv_requests_shed_total';
  // One node per registry; a second app built on the same registry (tests) shares them.
  const existing = registry.getSingleMetric(shedName) as Counter<'reason'> | undefined;
  if (existing !== undefined) {
    shedder.onShed = (reason) => existing.inc({ reason });
    return;
  }
  new Gauge({
    name: 'ringkv_inflight_requests',
    help: 'Client requests this node is serving now (bounded by --inflight-requests-max).',
    registers: [registry],
    collect() {
      this.set(shedder.inflightRequests());
    },
  });
  new Gauge({
    name: 'ringkv_inflight_body_bytes',
    help: 'Bytes of request bodies (by Content-Length) this node holds now (bounded by --inflight-body-bytes-max).',
    registers: [registry],
    collect() {
      this.set(shedder.inflightBodyBytes());
    },
  });
  new Gauge({
    name: 'ringkv_replica_unanswered_bytes',
    help: 'Bytes of writes this node sent to replicas that have not answered yet, its own storage queue included (writes are shed beyond a bound).',
    registers: [registry],
    collect() {
      this.set(shedder.replicaBacklog());
    },
  });
  const shed = new Counter({
    name: shedName,
    help: 'Requests refused as overload with nothing applied: client requests (503) by the bound they hit, and peer requests refused as their queue was full.',
    labelNames: ['reason'],
    registers: [registry],
  });
  shedder.onShed = (reason) => shed.inc({ reason });
}
