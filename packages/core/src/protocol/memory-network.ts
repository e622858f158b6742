// An in-process network for tests and the simulator. Every message goes through the real
// codec (encode, then decode on the far side), is delayed by the virtual clock, and can be
// dropped, duplicated, held back so that later messages overtake it, or cut off by
// partitions, all decided by the injected seeded Rng. A crashed node is gone for good: the
// transport it held sends nothing more and hears no more replies, and messages in flight
// to it are lost even if it restarts before they arrive (a new process, new connections);
// new requests to it time out, or with `refuseWhenDown` fail at once with nothing sent.
// Gossip can be starved at one address for a while (`starveGossip`): its SWIM probes and
// their answers still arrive, so nobody suspects it, but without their membership updates,
// which is how late gossip looks to the ring (docs/guarantees.md, ring changes).
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
  /** Addresses whose gossip is starved, with the virtual ms the starvation ends. */
  private readonly starvedUntilMs = new Map<string, number>();
  private requestId = 0;
  /** Other names of addresses (alias). */
  private readonly aliases = new Map<string, string>();

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

  /** Requests to `name` reach the node at `address` (a host name in DNS, for seeds given by name). */
  alias(name: string, address: string): void {
    this.aliases.set(name, address);
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

  /** Heals every cut link. Starved gossip is not a cut: each window ends at its own time. */
  healAll(): void {
    this.cutLinks.clear();
  }

  /**
   * Until the virtual clock reaches `untilMs`, every SWIM message (ping, pingReq and their
   * replies) sent to or from `address` arrives with its membership updates removed: the
   * node stays alive to the failure detector, but hears no membership news and spreads
   * none. Every other message passes untouched. A later call replaces the end time (a time
   * already past ends the starvation).
   */
  starveGossip(address: string, untilMs: number): void {
    this.starvedUntilMs.set(address, untilMs);
  }

  /** True while gossip to and from `address` is starved. */
  isGossipStarved(address: string): boolean {
    const untilMs = this.starvedUntilMs.get(address);
    if (untilMs === undefined) return false;
    if (this.clock.nowMs() < untilMs) return true;
    this.starvedUntilMs.delete(address);
    return false;
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
    let request: ReturnType<typeof decodeFrame>;
    try {
      request = decodeFrame(encodeFrame({ kind: 'request', id, body }).subarray(4));
    } catch (error) {
      // As the TCP transport does: a frame too large to send is refused, nothing sent.
      return Promise.reject(new PeerError('too-large', `the request to ${to} cannot be sent: ${(error as Error).message}`, false));
    }
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
      const target = this.endpoints.get(this.aliases.get(to) ?? to);
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
        // Starvation is judged when a message arrives, for requests and replies alike.
        target.handler(this.starveIfGossip(from, to, delivered), source.self).then(
          (reply) => this.deliverReply(target, source, id, body, reply, (decoded) => settle(() => this.resolveReply(decoded, body, resolve, reject))),
          (error: unknown) => {
            this.observer.handlerFailed?.(to, body, error);
            // As the TCP peer server does: a handler that failed answers with a failure, not silence.
            const failure: PeerReply = { type: 'failure', code: 'storage-error', message: error instanceof Error ? error.message : String(error) };
            this.deliverReply(target, source, id, body, failure, (decoded) => settle(() => this.resolveReply(decoded, body, resolve, reject)));
          },
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
      if (this.isCurrent(asker) && frame.kind === 'reply') onArrive(this.starveIfGossip(from, to, frame.body));
    });
  }

  /** The message as it arrives: a SWIM message to or from a starved address loses its updates. */
  private starveIfGossip<M extends DataRequest | PeerReply>(from: string, to: string, message: M): M {
    if (!('updates' in message) || !gossipTypes.has(message.type)) return message;
    if (!this.isGossipStarved(from) && !this.isGossipStarved(to)) return message;
    return { ...message, updates: [] };
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

/** The SWIM messages whose piggybacked updates a starved address misses. */
const gossipTypes: ReadonlySet<string> = new Set(['ping', 'pingReq', 'pong', 'pingReqReply']);

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
    case 'state':
      return 'stateReply';
    case 'versions':
      return 'versionsReply';
    case 'paxosPrepare':
      return 'paxosPromise';
    case 'paxosAccept':
      return 'paxosAccepted';
    case 'paxosCommit':
      return 'paxosCommitted';
    case 'scanRecords':
      return 'scannedRecords';
    case 'changes':
      return 'changesReply';
  }
}

