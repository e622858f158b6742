// The real Transport: one persistent PeerConnection per peer address, created on first
// use. Reports each request's latency and failures to the metrics.
import { expectReply, replyTypeOf, type DataRequest, type PeerError, type ReplyFor, type Transport } from '@ringkv/core';
import { PeerConnection, type PeerConnectionOptions } from './peer-connection.js';

export interface TcpTransportDeps extends PeerConnectionOptions {
  observe?(type: DataRequest['type'], seconds: number, error: PeerError | undefined): void;
}

export class TcpTransport implements Transport {
  private readonly connections = new Map<string, PeerConnection>();
  private readonly deps: TcpTransportDeps;

  constructor(deps: TcpTransportDeps) {
    this.deps = deps;
  }

  async request<R extends DataRequest>(address: string, body: R, timeoutMs: number): Promise<ReplyFor[R['type']]> {
    const started = performance.now();
    try {
      const reply = await this.connectionTo(address).request(body, timeoutMs);
      const typed = expectReply(reply, replyTypeOf(body.type) as never) as ReplyFor[R['type']];
      this.deps.observe?.(body.type, (performance.now() - started) / 1000, undefined);
      return typed;
    } catch (error) {
      this.deps.observe?.(body.type, (performance.now() - started) / 1000, error as PeerError);
      throw error;
    }
  }

  /** Bytes sent to peers and not yet answered, over every connection (api/load-shedding.ts sheds writes by it). */
  unansweredBytes(): number {
    let bytes = 0;
    for (const connection of this.connections.values()) bytes += connection.unansweredBytes;
    return bytes;
  }

  /** Addresses with a ready connection. */
  connectedAddresses(): string[] {
    return [...this.connections.values()].filter((connection) => connection.isReady).map((connection) => connection.address);
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private connectionTo(address: string): PeerConnection {
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = new PeerConnection(address, this.deps);
      this.connections.set(address, connection);
    }
    return connection;
  }
}
