// An in-process network for tests and the simulator. Every message goes through the real
// codec (encode, then decode on the far side), is delayed by the virtual clock, and can be
// dropped or cut off by partitions, all decided by the injected seeded Rng.
import type { Clock } from '../clock/clock.js';
import type { Rng } from '../rng.js';
import { decodeFrame, encodeFrame } from './codec.js';
import type { MemberAddress, PeerReply, ReplyFor } from './messages.js';
import { expectReply, PeerError, type DataRequest, type RequestHandler, type Transport } from './transport.js';

export interface MemoryNetworkOptions {
  /** One-way delay is uniform in [delayMinMs, delayMaxMs]. */
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that one message (request or reply) is lost. */
  dropProbability: number;
}

interface Endpoint {
  self: MemberAddress;
  handler: RequestHandler;
  up: boolean;
}

export class MemoryNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  /** Directed links that are cut: "from->to" by address. */
  private readonly cutLinks = new Set<string>();
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly options: MemoryNetworkOptions;
  private requestId = 0;

  constructor(clock: Clock, rng: Rng, options: Partial<MemoryNetworkOptions> = {}) {
    this.clock = clock;
    this.rng = rng;
    this.options = { delayMinMs: 1, delayMaxMs: 3, dropProbability: 0, ...options };
  }

  /** Attaches a node; returns the Transport it uses to call others. */
  attach(self: MemberAddress, handler: RequestHandler): Transport {
    this.endpoints.set(self.address, { self, handler, up: true });
    return { request: (address, body, timeoutMs) => this.send(self.address, address, body, timeoutMs) };
  }

  /** A crashed node neither receives nor answers. */
  setUp(address: string, up: boolean): void {
    const endpoint = this.endpoints.get(address);
    if (endpoint) endpoint.up = up;
  }

  /** Replace a node's handler (a restarted node). */
  replaceHandler(address: string, handler: RequestHandler): void {
    const endpoint = this.endpoints.get(address);
    if (endpoint) endpoint.handler = handler;
  }

  /** Cut (or heal) the link from one address to another; `both` cuts both directions. */
  cut(from: string, to: string, both = true): void {
    this.cutLinks.add(`${from}->${to}`);
    if (both) this.cutLinks.add(`${to}->${from}`);
  }

  healAll(): void {
    this.cutLinks.clear();
  }

  setDropProbability(probability: number): void {
    this.options.dropProbability = probability;
  }

  private send<R extends DataRequest>(from: string, to: string, body: R, timeoutMs: number): Promise<ReplyFor[R['type']]> {
    const source = this.endpoints.get(from) as Endpoint;
    const id = ++this.requestId;
    // Round-trip through the codec so the simulated network carries exactly what TCP does.
    const request = decodeFrame(encodeFrame({ kind: 'request', id, body }).subarray(4));
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimer(timer);
        action();
      };
      const timer = this.clock.setTimer(timeoutMs, () =>
        settle(() => reject(new PeerError('timeout', `no reply from ${to} within ${timeoutMs} ms`, true))),
      );
      if (!this.endpoints.has(to)) {
        settle(() => reject(new PeerError('not-connected', `no member listens at ${to}`, false)));
        return;
      }
      this.deliver(from, to, () => {
        const target = this.endpoints.get(to);
        if (!target || !target.up || request.kind !== 'request') return;
        target.handler(request.body as DataRequest, source.self).then(
          (reply) => this.deliverReply(to, from, id, reply, (decoded) => settle(() => this.resolveReply(decoded, body, resolve, reject))),
          () => undefined,
        );
      });
    });
  }

  private resolveReply<R extends DataRequest>(
    reply: PeerReply,
    body: R,
    resolve: (value: ReplyFor[R['type']]) => void,
    reject: (error: unknown) => void,
  ): void {
    try {
      resolve(expectReply(reply, replyTypeOf(body.type) as never) as ReplyFor[R["type"]]);
    } catch (error) {
      reject(error);
    }
  }

  private deliverReply(from: string, to: string, id: number, reply: PeerReply, onArrive: (reply: PeerReply) => void): void {
    const frame = decodeFrame(encodeFrame({ kind: 'reply', id, body: reply }).subarray(4));
    this.deliver(from, to, () => {
      const source = this.endpoints.get(from);
      if (source?.up && frame.kind === 'reply') onArrive(frame.body);
    });
  }

  private deliver(from: string, to: string, arrive: () => void): void {
    if (this.cutLinks.has(`${from}->${to}`)) return;
    if (this.rng.next() < this.options.dropProbability) return;
    const span = this.options.delayMaxMs - this.options.delayMinMs;
    const delayMs = this.options.delayMinMs + Math.floor(this.rng.next() * (span + 1));
    this.clock.setTimer(delayMs, arrive);
  }
}

export function replyTypeOf(type: DataRequest['type']): PeerReply['type'] {
  switch (type) {
    case 'put':
      return 'putAck';
    case 'get':
      return 'getReply';
    case 'ping':
      return 'pong';
    case 'digests':
      return 'digestsReply';
    case 'rangeEntries':
      return 'rangeEntriesReply';
    case 'pullRecords':
      return 'records';
    case 'pushRecords':
      return 'pushAck';
  }
}
