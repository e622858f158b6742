// The frame writer over a real loopback socket: frames queued in one turn, small and large
// mixed, arrive whole and in order, whether they are copied into one write or gathered.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { decodeFrame, encodeFrame, FrameDecoder, type Frame } from '@ringkv/core';
import { FrameWriter } from './frame-writer.js';

function putFrame(id: number, valueBytes: number): Frame {
  return { kind: 'request', id, body: { type: 'put', key: `k${id}`, record: { hlc: id, nodeId: 'n1', tombstone: false, value: 'x'.repeat(valueBytes) } } };
}

async function deliver(turns: Frame[][]): Promise<Frame[]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  const expected = turns.reduce((sum, turn) => sum + turn.length, 0);
  const decoder = new FrameDecoder();
  const received: Frame[] = [];
  const done = new Promise<void>((resolve) => {
    peer.on('data', (chunk: Buffer) => {
      for (const payload of decoder.push(chunk)) received.push(decodeFrame(payload));
      if (received.length === expected) resolve();
    });
  });
  const writer = new FrameWriter(client);
  for (const turn of turns) {
    for (const frame of turn) writer.send(encodeFrame(frame));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  client.destroy();
  peer.destroy();
  server.close();
  return received;
}

describe('FrameWriter', () => {
  it('delivers small frames of one turn (copied into one write) whole and in order', async () => {
    const turns = [Array.from({ length: 50 }, (_, i) => putFrame(i + 1, 20))];
    assert.deepEqual(await deliver(turns), turns.flat());
  });

  it('delivers a turn with large frames (gathered into one writev) whole and in order', async () => {
    const turns = [
      [putFrame(1, 10), putFrame(2, 300_000), putFrame(3, 10), putFrame(4, 1_048_576), putFrame(5, 10)],
      [putFrame(6, 70_000)],
      [putFrame(7, 5), putFrame(8, 200_000)],
    ];
    assert.deepEqual(await deliver(turns), turns.flat());
  });
});
