// An in-process network for tests and the simulator. Every message goes through the real
// codec (encode, then decode on the far side), is delayed by the virtual clock, and can be
// dropped, duplicated, held back so that later messages overtake it, or cut off by
// partitions, all decided by the injected seeded Rng. A crashed node is gone for good: the
// transport it held sends nothing more and hears no more replies, and messages in flight
// to it are lost even if it restarts before they arrive (a new process, new connections);
// new requests to it time out, or with `refuseWhenDown` fail at once with nothing sent.
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
  /** Probability that one message arrives twice; the copy draws its own delay. */
  duplicateProbability: number;
  /** Probability that one message is held back by up to `reorderDelayMaxMs` more, so later ones overtake it. */
  reorderProbability: number;
  reorderDelayMaxMs: number;
  /**
   * A request to a crashed node fails at once with `not-connected` (nothing sent), as the
   * TCP transport's does once the peer's socket is closed; otherwise it times out.
   */
  refuseWhenDown: boolean;
}

export const memoryNetworkDefaults: MemoryNetworkOptions = {
  delayMinMs: 1,
  delayMaxMs: 3,
  dropProbability: 0,
  duplicateProbability: 0,
  reorderProbability: 0,
  reorderDelayMaxMs: 0,
  refuseWhenDown: false,
};

/** What became of one message: each copy that will arrive is listed with its delay. */
export type MessageFate = { kind: 'cut' } | { kind: 'dropped' } | { kind: 'refused' } | { kind: 'sent'; delaysMs: number[] };

export interface MessageEvent {
  from: string;
  to: string;
  /** The request, or for a reply the request it answers. */
  request: DataRequest;
  reply?: PeerReply;
  fate: MessageFate;
}

/** Lets a simulator watch the network; nothing here changes what happens. */
export interface MemoryNetworkObserver {
  messageSent?(event: MessageEvent): void;
  /** A request handler rejected: the node had no answer at all (a bug in the node, not a network fault). */
  handlerFailed?(address: string, request: DataRequest, error: unknown): void;
}

interface Endpoint {
  self: MemberAddress;
  handler: RequestHandler;
  up: boolean;
}

export class MemoryNetwork {
  /** The current endpoint (process) at each address; a restart attaches a new one. */
  private readonly endpoints = new Map<string, Endpoint>();
  /** Directed links that are cut: "from->to" by address. */
  private readonly cutLinks = new Set<string>();
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly options: MemoryNetworkOptions;
  private readonly observer: MemoryNetworkObserver;
  private requestId = 0;

  constructor(clock: Clock, rng: Rng, options: Partial<MemoryNetworkOptions> = {}, observer: MemoryNetworkObserver = {}) {
    this.clock = clock;
    this.rng = rng;
    this.options = { ...memoryNetworkDefaults, ...options };
    this.observer = observer;
  }

  /** Attaches a node (a new process at that address); returns the Transport it uses to call others. */
  attach(self: MemberAddress, handler: RequestHandler): Transport {
    const endpoint: Endpoint = { self, handler, up: true };
    this.endpoints.set(self.address, endpoint);
    return { request: (address, body, timeoutMs) => this.send(endpoint, address, body, timeoutMs) };
  }

  /** A crashed node neither sends, receives nor answers. */
  setUp(address: string, up: boolean): void {
    const endpoint = this.endpoints.get(address);
    if (endpoint) endpoint.up = up;
  }

  /** Replace a node's handler (a restarted node). */
  replaceHandler(address: string, handler: RequestHandler): void {
    const endpoint = this.endpoints.get(address);
    if (endpoint) endpoint.handler = handler;
  }

  /** Cut the link from one address to another; `both` cuts both directions. */
  cut(from: string, to: string, both = true): void {
    this.cutLinks.add(`${from}->${to}`);
    if (both) this.cutLinks.add(`${to}->${from}`);
  }

  /** Heal the link from one address to another; `both` heals both directions. */
  heal(from: string, to: string, both = true): void {
    this.cutLinks.delete(`${from}->${to}`);
    if (both) this.cutLinks.delete(`${to}->${from}`);
  }

  isCut(from: string, to: string): boolean {
    return this.cutLinks.has(`${from}->${to}`);
  }

  healAll(): void {
    this.cutLinks.clear();
  }

  setDropProbability(probability: number): void {
    this.options.dropProbability = probability;
  }

  /** Changes delays and fault probabilities from now on. */
  configure(options: Partial<MemoryNetworkOptions>): void {
    Object.assign(this.options, options);
  }

  settings(): Readonly<MemoryNetworkOptions> {
    return { ...this.options };
  }

  private send<R extends DataRequest>(source: Endpoint, to: string, body: R, timeoutMs: number): Promise<ReplyFor[R['type']]> {
    const from = source.self.address;
    // A crashed process does nothing more: its requests never leave and never settle.
    if (!this.isCurrent(source)) return new Promise(() => undefined);
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
      const target = this.endpoints.get(to);
      if (target === undefined) {
        settle(() => reject(new PeerError('not-connected', `no member listens at ${to}`, false)));
        return;
      }
      if (request.kind !== 'request') return;
      if (this.options.refuseWhenDown && !this.isCurrent(target)) {
        this.observer.messageSent?.({ from, to, request: body, fate: { kind: 'refused' } });
        settle(() => reject(new PeerError('not-connected', `${to} refused the connection: nothing was sent`, false)));
        return;
      }
      const delivered = request.body as DataRequest;
      this.deliver(from, to, { from, to, request: body }, () => {
        if (!this.isCurrent(target)) return;
        target.handler(delivered, source.self).then(
          (reply) => this.deliverReply(target, source, id, body, reply, (decoded) => settle(() => this.resolveReply(decoded, body, resolve, reject))),
          (error: unknown) => this.observer.handlerFailed?.(to, body, error),
        );
      });
    });
  }

  /** True while the endpoint is the live process at its address. */
  private isCurrent(endpoint: Endpoint): boolean {
    return endpoint.up && this.endpoints.get(endpoint.self.address) === endpoint;
  }

  private resolveReply<R extends DataRequest>(
    reply: PeerReply,
    body: R,
    resolve: (value: ReplyFor[R['type']]) => void,
    reject: (error: unknown) => void,
  ): void {
    try {
      resolve(expectReply(reply, replyTypeOf(body.type) as never) as ReplyFor[R['type']]);
    } catch (error) {
      reject(error);
    }
  }

  private deliverReply(
    replier: Endpoint,
    asker: Endpoint,
    id: number,
    request: DataRequest,
    reply: PeerReply,
    onArrive: (reply: PeerReply) => void,
  ): void {
    // A process that crashed while handling the request sends no reply.
    if (!this.isCurrent(replier)) return;
    const frame = decodeFrame(encodeFrame({ kind: 'reply', id, body: reply }).subarray(4));
    const from = replier.self.address;
    const to = asker.self.address;
    this.deliver(from, to, { from, to, request, reply }, () => {
      if (this.isCurrent(asker) && frame.kind === 'reply') onArrive(frame.body);
    });
  }

  /** Decides the message's fate (cut, lost, or one or two copies with their delays) and schedules arrival. */
  private deliver(from: string, to: string, message: Omit<MessageEvent, 'fate'>, arrive: () => void): void {
    const fate = this.fateOf(from, to);
    this.observer.messageSent?.({ ...message, fate });
    if (fate.kind !== 'sent') return;
    for (const delayMs of fate.delaysMs) this.clock.setTimer(delayMs, arrive);
  }

  private fateOf(from: string, to: string): MessageFate {
    if (this.cutLinks.has(`${from}->${to}`)) return { kind: 'cut' };
    const options = this.options;
    if (options.dropProbability > 0 && this.rng.next() < options.dropProbability) return { kind: 'dropped' };
    const copies = options.duplicateProbability > 0 && this.rng.next() < options.duplicateProbability ? 2 : 1;
    const delaysMs: number[] = [];
    for (let copy = 0; copy < copies; copy++) delaysMs.push(this.delayMs());
    return { kind: 'sent', delaysMs };
  }

  private delayMs(): number {
    const options = this.options;
    const span = options.delayMaxMs - options.delayMinMs;
    let delayMs = options.delayMinMs + Math.floor(this.rng.next() * (span + 1));
    if (options.reorderProbability > 0 && this.rng.next() < options.reorderProbability) {
      delayMs += 1 + Math.floor(this.rng.next() * options.reorderDelayMaxMs);
    }
    return delayMs;
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
    case 'pingReq':
      return 'pingReqReply';
    case 'digests':
      return 'digestsReply';
    case 'rangeEntries':
      return 'rangeEntriesReply';
    case 'pullRecords':
      return 'records';
    case 'pushRecords':
      return 'pushAck';
    case 'transferScan':
      return 'transferBatch';
  }
}

