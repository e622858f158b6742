// The trace of a run: every fault, every client operation and every data message, in
// virtual time. Two runs of one seed produce the same trace, line for line (the
// determinism test compares them). On a failure, `focus` cuts it down to what explains
// the violation: the operations on the offending key, the faults, and the key's messages
// while the operations involved were in flight.
import type { MessageEvent, PeerReply, StoredRecord } from '@ringkv/core';
import type { Operation, ReadValue, Version } from './history.js';

export type TraceEventKind = 'phase' | 'fault' | 'invoke' | 'complete' | 'message' | 'problem';

export interface TraceEvent {
  /** Virtual ms since the run's cluster was created. */
  atMs: number;
  kind: TraceEventKind;
  /** The keys the event is about (one for an operation, a batch for a records message). */
  keys?: readonly string[];
  operationId?: number;
  text: string;
}

export interface FocusWindow {
  key: string;
  /** The key's messages are shown only between these times (sent at). */
  fromMs: number;
  toMs: number;
}

export class Trace {
  readonly events: TraceEvent[] = [];
  /** Virtual ms at which the run started: versions are shown relative to it, like event times. */
  readonly originMs: number;

  constructor(originMs: number) {
    this.originMs = originMs;
  }

  add(event: TraceEvent): void {
    this.events.push(event);
  }

  lines(events: readonly TraceEvent[] = this.events): string[] {
    return events.map((event) => `t=${String(event.atMs).padStart(5)} ${event.kind.padEnd(8)} ${event.text}`);
  }

  /** The events that explain a violation on `window.key`, in order. */
  focus(window: FocusWindow): TraceEvent[] {
    return this.events.filter((event) => {
      if (event.kind === 'phase' || event.kind === 'fault' || event.kind === 'problem') return true;
      if (!event.keys?.includes(window.key)) return false;
      return event.kind !== 'message' || (event.atMs >= window.fromMs && event.atMs <= window.toMs);
    });
  }

  /** A version as `<wall ms since origin>.<logical counter>@<node>`: comparable with event times at a glance. */
  describeVersion(version: Version): string {
    const wallMs = Math.floor(version.hlc / 1024);
    return `${wallMs - this.originMs}.${version.hlc % 1024}@${version.nodeId}`;
  }

  describeRead(read: ReadValue): string {
    if (!read.found) return 'absent';
    if (read.expiresAt !== undefined) {
      const expiry = this.describeVersion({ hlc: read.expiresAt, nodeId: read.version.nodeId }).replace(/@.*$/, '');
      return read.tombstone ? `expired ${this.describeVersion(read.version)} (at ${expiry})` : `${JSON.stringify(read.value)} ${this.describeVersion(read.version)} expiring at ${expiry}`;
    }
    const shown = read.tombstone ? 'tombstone' : JSON.stringify(read.value);
    return `${shown} ${this.describeVersion(read.version)}`;
  }

  describeRecord(record: StoredRecord | null | undefined): string {
    if (record === null || record === undefined) return 'absent';
    return this.describeRead({ found: true, tombstone: record.tombstone, value: record.value, version: record, ...(record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt }) });
  }

  describeOperation(operation: Operation): string {
    const what = operation.kind === 'put' ? `put ${operation.key}=${JSON.stringify(operation.value)}` : `${operation.kind} ${operation.key}`;
    const level = operation.serial === true ? 'r=serial' : operation.kind === 'read' ? `r=${operation.level}` : `w=${operation.level}`;
    const condition = operation.condition === undefined ? '' : operation.condition.ifMatch !== undefined ? ` if-match ${this.describeVersion(operation.condition.ifMatch)}` : ' if-none-match';
    const ttl = operation.ttlSeconds === undefined ? '' : ` ttl=${Math.round(operation.ttlSeconds * 1000)}ms`;
    return `op ${operation.id} ${operation.client} ${what}${condition}${ttl} ${level} via ${operation.node}`;
  }

  describeOutcome(operation: Operation): string {
    const head = `op ${operation.id} ${operation.outcome}`;
    if (operation.outcome !== 'ok') return `${head}: ${operation.reason ?? ''}`;
    if (operation.read !== undefined) return `${head} read ${this.describeRead(operation.read)}`;
    return operation.version ? `${head} version ${this.describeVersion(operation.version)}` : head;
  }

  /** One line for a data message, or undefined for messages the trace leaves out (probes, digests). */
  describeMessage(event: MessageEvent, nodeOf: (address: string) => string): { text: string; keys: string[] } | undefined {
    const body = event.reply === undefined ? this.describeRequest(event) : this.describeReply(event.request, event.reply);
    if (body === undefined) return undefined;
    const fate = event.fate.kind === 'sent' ? event.fate.delaysMs.map((delayMs) => `+${delayMs}ms`).join(' ') : event.fate.kind.toUpperCase();
    const duplicate = event.fate.kind === 'sent' && event.fate.delaysMs.length > 1 ? ' DUPLICATED' : '';
    return { text: `${nodeOf(event.from)}->${nodeOf(event.to)} ${body.text} [${fate}${duplicate}]`, keys: body.keys };
  }

  private describeRequest(event: MessageEvent): { text: string; keys: string[] } | undefined {
    const request = event.request;
    switch (request.type) {
      case 'put':
        return { text: `put ${request.key} ${this.describeRecord(request.record)}`, keys: [request.key] };
      case 'get':
        return { text: `get ${request.key}`, keys: [request.key] };
      case 'pushRecords':
        return { text: `pushRecords ${request.entries.map(([key, record]) => `${key} ${this.describeRecord(record)}`).join(', ')}`, keys: request.entries.map(([key]) => key) };
      case 'pullRecords':
        return { text: `pullRecords ${request.keys.join(', ')}`, keys: request.keys };
      case 'paxosPrepare':
        return { text: `prepare ${request.key} ballot ${this.describeVersion(request.ballot)}${request.idempotencyKey === undefined ? '' : ` key ${request.idempotencyKey}`}`, keys: [request.key] };
      case 'paxosAccept':
      case 'paxosCommit':
        return {
          text: `${request.type === 'paxosAccept' ? 'accept' : 'commit'} ${request.key} ${this.describeRecord(request.record)} ballot ${this.describeVersion(request.ballot)}${request.tags === undefined ? '' : ` tags ${request.tags.map((tag) => `${tag.key}=${this.describeVersion(tag)}`).join(',')}`}`,
          keys: [request.key],
        };
      default:
        return undefined;
    }
  }

  private describeReply(request: MessageEvent['request'], reply: PeerReply): { text: string; keys: string[] } | undefined {
    if (reply.type === 'failure') {
      const keys = 'key' in request ? [request.key] : [];
      return keys.length === 0 ? undefined : { text: `failure ${keys[0]} ${reply.code}`, keys };
    }
    if (reply.type === 'putAck' && request.type === 'put') return { text: `putAck ${request.key} applied=${reply.applied}`, keys: [request.key] };
    if (reply.type === 'getReply' && request.type === 'get') return { text: `getReply ${request.key} ${this.describeRecord(reply.record)}`, keys: [request.key] };
    if (reply.type === 'paxosPromise' && request.type === 'paxosPrepare') {
      const text = reply.promised
        ? `promise ${request.key} accepted ${reply.accepted === null ? 'none' : this.describeRecord(reply.accepted.record)} current ${this.describeRecord(reply.current)}` +
          (reply.remembered === null ? '' : ` remembers ${reply.remembered.key} as ${this.describeVersion(reply.remembered)}`)
        : `refuse ${request.key}: promised ${reply.highest === null ? '?' : this.describeVersion(reply.highest)}`;
      return { text, keys: [request.key] };
    }
    if (reply.type === 'paxosAccepted' && request.type === 'paxosAccept') return { text: `accepted ${request.key} ${reply.accepted}`, keys: [request.key] };
    if (reply.type === 'records') {
      return { text: `records ${reply.entries.map(([key, record]) => `${key} ${this.describeRecord(record)}`).join(', ')}`, keys: reply.entries.map(([key]) => key) };
    }
    return undefined;
  }
}
