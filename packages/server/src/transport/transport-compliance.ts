// The one compliance suite every Transport passes (docs/style.md, "One contract, one compliance suite"): the TCP
// transport over loopback and the simulator's MemoryNetwork show the same behaviour, so a
// simulated run stands for a real one. Each implementation's test file calls
// `transportComplianceSuite` with a factory of harnesses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameBytesMax, PeerError, type DataRequest, type PeerReply, type RequestHandler, type Transport } from '@ringkv/core';

/** One world in which a node under test calls peers. */
export interface TransportHarness {
  /** The node under test's transport, as node `selfId`. */
  readonly transport: Transport;
  readonly selfId: string;
  /** Starts a peer served by `handler`; resolves with its address. */
  serve(handler: RequestHandler): Promise<string>;
  /** An address at which no member listens. */
  unusedAddress(): Promise<string>;
  /** Lets time pass until `work` settles (real time, or the simulator's virtual clock), and returns its outcome. */
  settle<T>(work: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const echo: RequestHandler = async (body) => {
  if (body.type === 'get') return { type: 'getReply', record: { hlc: body.key.length, nodeId: 'peer', tombstone: false, value: { key: body.key, nested: [1, 'two', null] } } };
  if (body.type === 'put') return { type: 'putAck', applied: true };
  return { type: 'failure', code: 'refused', message: `echo does not serve ${body.type}` };
};

/** Asserts `work` rejects with a PeerError of `code`, and returns it. */
async function peerErrorOf(harness: TransportHarness, work: Promise<unknown>, code: PeerError['code']): Promise<PeerError> {
  const outcome = await harness.settle(work.then(() => undefined, (error: unknown) => error));
  assert.ok(outcome instanceof PeerError, `expected a PeerError (${code}), got ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
  assert.equal(outcome.code, code, outcome.message);
  return outcome;
}

/** A request that never leaves the caller may be made synchronously wrong; the contract is a rejected promise. */
function requestOf(transport: Transport, address: string, body: DataRequest, timeoutMs: number): Promise<unknown> {
  try {
    return transport.request(address, body, timeoutMs);
  } catch (error) {
    return Promise.reject(new Error(`request threw synchronously instead of rejecting: ${error instanceof Error ? error.message : String(error)}`));
  }
}

export function transportComplianceSuite(name: string, create: () => Promise<TransportHarness>): void {
  describe(`Transport compliance: ${name}`, () => {
    it('carries a request to the peer and its reply back, values intact, with the caller named', async () => {
      const harness = await create();
      const callers: string[] = [];
      const address = await harness.serve(async (body, from) => {
        callers.push(from.nodeId);
        return echo(body, from);
      });
      const reply = await harness.settle(harness.transport.request(address, { type: 'get', key: 'ключ-🔑' }, 2000));
      assert.deepEqual(reply.record?.value, { key: 'ключ-🔑', nested: [1, 'two', null] });
      const ack = await harness.settle(harness.transport.request(address, { type: 'put', key: 'k', record: { hlc: 7, nodeId: 'n', tombstone: false, value: 'v' } }, 2000));
      assert.equal(ack.applied, true);
      assert.deepEqual(callers, [harness.selfId, harness.selfId]);
      await harness.close();
    });

    it('gives each of many concurrent requests its own reply, whatever order the peer answers in', async () => {
      const harness = await create();
      // Answers in reverse order of arrival: replies are matched to requests, not to order.
      const held: Array<() => void> = [];
      const count = 50;
      const address = await harness.serve(
        (body, from) =>
          new Promise<PeerReply>((resolve) => {
            held.push(() => void echo(body, from).then(resolve));
            if (held.length === count) for (const release of held.reverse()) release();
          }),
      );
      const keys = Array.from({ length: count }, (_, i) => `key-${i}`);
      const replies = await harness.settle(Promise.all(keys.map((key) => harness.transport.request(address, { type: 'get', key }, 5000))));
      replies.forEach((reply, i) => assert.deepEqual((reply.record?.value as { key: string }).key, keys[i]));
      await harness.close();
    });

    it("surfaces a peer's failure reply as a PeerError with the peer's code; nothing was delivered in doubt", async () => {
      const harness = await create();
      const address = await harness.serve(async () => ({ type: 'failure', code: 'storage-full', message: 'no space left on the data volume' }));
      const error = await peerErrorOf(harness, harness.transport.request(address, { type: 'put', key: 'k', record: { hlc: 1, nodeId: 'n', tombstone: false, value: 1 } }, 2000), 'remote-failure');
      assert.equal(error.remoteCode, 'storage-full');
      assert.equal(error.maybeDelivered, false);
      assert.match(error.message, /no space left/);
      await harness.close();
    });

    it('refuses a reply of the wrong type as a remote failure that may have been acted on', async () => {
      const harness = await create();
      const address = await harness.serve(async () => ({ type: 'pushAck', applied: 3 }));
      const error = await peerErrorOf(harness, harness.transport.request(address, { type: 'get', key: 'k' }, 2000), 'remote-failure');
      assert.equal(error.maybeDelivered, true);
      await harness.close();
    });

    it('answers a handler that failed outright with a failure reply, not silence', async () => {
      const harness = await create();
      const address = await harness.serve(async () => {
        throw new Error('the disk went away');
      });
      const error = await peerErrorOf(harness, harness.transport.request(address, { type: 'get', key: 'k' }, 2000), 'remote-failure');
      assert.equal(error.remoteCode, 'storage-error');
      await harness.close();
    });

    it('times out a request the peer never answers, no sooner than asked, as maybe delivered', async () => {
      const harness = await create();
      const address = await harness.serve(() => new Promise<PeerReply>(() => undefined));
      const startedMs = Date.now();
      const error = await peerErrorOf(harness, harness.transport.request(address, { type: 'get', key: 'k' }, 150), 'timeout');
      assert.equal(error.maybeDelivered, true);
      // Real time is only checked for the real transport; a virtual clock takes no real time.
      assert.ok(Date.now() - startedMs < 5000, 'the timeout fired long after it was due');
      await harness.close();
    });

    it('fails a request to an address where nobody listens as not connected, certainly not delivered', async () => {
      const harness = await create();
      const error = await peerErrorOf(harness, harness.transport.request(await harness.unusedAddress(), { type: 'get', key: 'k' }, 2000), 'not-connected');
      assert.equal(error.maybeDelivered, false);
      await harness.close();
    });

    it('refuses a request larger than a frame may be with a rejected promise, sending nothing', async () => {
      const harness = await create();
      let served = 0;
      const address = await harness.serve(async (body, from) => {
        served++;
        return echo(body, from);
      });
      // Make sure a connection exists, so the oversize request takes the connected path.
      await harness.settle(harness.transport.request(address, { type: 'get', key: 'warm-up' }, 2000));
      const huge = 'x'.repeat(frameBytesMax + 1);
      const outcome = await harness.settle(
        requestOf(harness.transport, address, { type: 'put', key: 'big', record: { hlc: 1, nodeId: 'n', tombstone: false, value: huge } }, 2000).then(
          () => 'resolved',
          (error: unknown) => error,
        ),
      );
      assert.ok(outcome instanceof PeerError, `expected a PeerError, got ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
      assert.equal(outcome.maybeDelivered, false);
      assert.equal(served, 1, 'the oversize request reached the peer');
      // The transport still works afterwards.
      const after = await harness.settle(harness.transport.request(address, { type: 'get', key: 'after' }, 2000));
      assert.equal((after.record?.value as { key: string }).key, 'after');
      await harness.close();
    });
  });
}
