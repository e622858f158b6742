// The replica side of the peer protocol: what a node does with a request from another
// node. Writes fold the writer's clock into ours before they are applied, so versions
// this node issues later are larger than any it has stored.
import { ClockSkewError, type HybridLogicalClock } from '../clock/hlc.js';
import { isValidKey } from '../keys.js';
import type { Membership } from '../membership/membership.js';
import type { MemberAddress, PeerReply } from '../protocol/messages.js';
import type { DataRequest, RequestHandler } from '../protocol/transport.js';
import type { Engine } from '../storage/engine.js';

export interface ReplicaHandlerDeps {
  engine: Engine;
  hlc: HybridLogicalClock;
  membership: Membership;
}

export function createReplicaHandler(deps: ReplicaHandlerDeps): RequestHandler {
  return async (body: DataRequest, _from: MemberAddress): Promise<PeerReply> => {
    switch (body.type) {
      case 'ping':
        return deps.membership.handlePing(body);
      case 'get':
        if (!isValidKey(body.key)) return failure('bad-request', 'key must be 1..1024 UTF-8 bytes');
        return { type: 'getReply', record: (await deps.engine.get(body.key)) ?? null };
      case 'put':
        if (!isValidKey(body.key)) return failure('bad-request', 'key must be 1..1024 UTF-8 bytes');
        try {
          deps.hlc.observe(body.record.hlc);
        } catch (error) {
          if (error instanceof ClockSkewError) return failure('clock-skew', error.message);
          throw error;
        }
        try {
          return { type: 'putAck', applied: (await deps.engine.apply(body.key, body.record)).applied };
        } catch (error) {
          return failure('storage-error', (error as Error).message);
        }
    }
  };
}

function failure(code: 'bad-request' | 'clock-skew' | 'storage-error', message: string): PeerReply {
  return { type: 'failure', code, message };
}

