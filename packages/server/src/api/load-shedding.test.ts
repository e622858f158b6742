// Checks that a node sheds requests beyond its in-flight bounds with 503 problem+json and
// Retry-After before reading them (nothing written), never sheds /health or /metrics, and
// gives its places back; requests are held in flight over real sockets by sending a head
// and only part of the body.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { largeBodyBytes } from '@ringkv/core';
import { announcedBodyBytes, LoadShedder, type EventLoopUtilizationMeter } from './load-shedding.js';
import { isClientWork } from './route-access.js';

describe('LoadShedder', () => {
  it('admits up to the request bound, then sheds by requests; release gives the place back', () => {
    const shedder = new LoadShedder({ inflightRequestsMax: 2, inflightBodyBytesMax: 100 });
    assert.equal(shedder.admit(0), undefined);
    assert.equal(shedder.admit(0), undefined);
    assert.equal(shedder.admit(0), 'requests');
    shedder.release(0);
    assert.equal(shedder.admit(0), undefined);
    assert.equal(shedder.shedCounts().get('requests'), 1);
  });

  it('sheds by body bytes, yet admits one body larger than the bound on a quiet node', () => {
    const shedder = new LoadShedder({ inflightRequestsMax: 10, inflightBodyBytesMax: 100 });
    assert.equal(shedder.admit(60), undefined);
    assert.equal(shedder.admit(40), undefined);
    assert.equal(shedder.admit(1), 'body-bytes');
    assert.equal(shedder.admit(0), undefined, 'a request without a body is not held back by bodies');
    shedder.release(60);
    shedder.release(40);
    shedder.release(0);
    assert.equal(shedder.admit(500), undefined, 'alone, a large body passes');
    assert.equal(shedder.admit(1), 'body-bytes');
    shedder.release(500);
    assert.equal(shedder.inflightBodyBytes(), 0);
    assert.throws(() => shedder.release(0), /released more than it admitted/);
  });

  it('reports as client load the most requests in flight during the last second', () => {
    let nowMs = 0;
    const shedder = new LoadShedder({ inflightRequestsMax: 10 }, () => nowMs);
    for (let i = 0; i < 3; i++) shedder.admit(0);
    for (let i = 0; i < 3; i++) shedder.release(0);
    nowMs = 500;
    assert.equal(shedder.inflight(), 3);
    nowMs = 1600;
    assert.equal(shedder.inflight(), 0);
  });

  it("bounds an operator's views like any request but does not count them as client load", () => {
    let nowMs = 0;
    const shedder = new LoadShedder({ inflightRequestsMax: 2 }, () => nowMs);
    assert.equal(shedder.admit(0, false), undefined);
    assert.equal(shedder.inflightRequests(), 1);
    assert.equal(shedder.inflight(), 0, 'a GET /jobs in flight is no load for background jobs to give way to');
    assert.equal(shedder.admit(0), undefined);
    assert.equal(shedder.admit(0, false), 'requests', 'both count against the bound');
    shedder.release(0, false);
    shedder.release(0);
    nowMs = 500;
    assert.equal(shedder.inflight(), 1, 'the key request counts for the window after it ended');
  });

  it('counts reads, writes, batches, listings, backups and restores of keys as client work, and nothing else', () => {
    for (const url of ['/store/*', '/store/', '/batch', '/keys', '/cluster/keys', '/admin/records', '/admin/restore']) assert.equal(isClientWork(url), true, url);
    for (const url of ['/jobs', '/cluster/jobs', '/jobs/pace', '/cluster', '/cluster/nodes', '/cluster/ring', '/node-info', '/dashboard/*', '/docs/json', '/admin/reload', undefined]) {
      assert.equal(isClientWork(url), false, String(url));
    }
  });

  it('reports how busy the event loop was over the last window, measured once a window has passed', () => {
    const loop = fakeLoop();
    const shedder = new LoadShedder({}, loop.clock, () => 0, loop.meter);
    assert.equal(shedder.busyShare(), undefined, 'nothing measured yet');
    loop.nowMs = 100;
    loop.active = 80;
    loop.idle = 20;
    assert.equal(shedder.busyShare(), undefined, 'a window has not passed');
    loop.nowMs = 250;
    loop.active = 200;
    loop.idle = 50;
    assert.equal(shedder.busyShare(), 0.8);
    loop.nowMs = 400;
    loop.active = 210;
    loop.idle = 190;
    assert.equal(shedder.busyShare(), 0.8, 'kept until the next window has passed');
    loop.nowMs = 500;
    loop.active = 225;
    loop.idle = 275;
    assert.equal(shedder.busyShare(), 0.1);
  });

  it('takes one large body at a time while the event loop is busy serving others, and any number otherwise', () => {
    const loop = fakeLoop();
    const shedder = new LoadShedder({ busyShareMax: 0.6 }, loop.clock, () => 0, loop.meter);
    const large = largeBodyBytes;
    // Quiet (30% busy), with a light client reading: large bodies come in side by side.
    loop.nowMs = 250;
    loop.active = 75;
    loop.idle = 175;
    assert.equal(shedder.hasRoomFor(0), true);
    assert.equal(shedder.admit(large), undefined);
    assert.equal(shedder.admit(large), undefined);
    shedder.release(large);
    shedder.release(large);
    // Busy (90%) with nothing but large bodies for a window: they still come in side by side.
    loop.nowMs = 520;
    loop.active = 300;
    loop.idle = 200;
    assert.equal(shedder.admit(large), undefined);
    assert.equal(shedder.admit(large), undefined);
    shedder.release(large);
    // A light client's read came just now: the next large body is shed while one is in flight.
    assert.equal(shedder.hasRoomFor(0), true);
    assert.equal(shedder.admit(large), 'busy');
    assert.equal(shedder.hasRoomFor(large), false);
    // Small bodies, and requests without one, are not held back by it.
    assert.equal(shedder.admit(large - 1), undefined);
    assert.equal(shedder.admit(0), undefined);
    shedder.release(large - 1);
    shedder.release(0);
    assert.equal(shedder.admit(large), 'busy', 'small bodies in flight do not make room');
    shedder.release(large);
    assert.equal(shedder.admit(2 * large), undefined, 'once the large body is done, the next one comes in');
    assert.equal(shedder.admit(large), 'busy');
    loop.nowMs = 800;
    assert.equal(shedder.admit(large), undefined, 'no small request for a window: large bodies side by side again');
    shedder.release(large);
    shedder.release(2 * large);
    assert.equal(shedder.shedCounts().get('busy'), 3);
    // Turned off (1), a busy loop holds nothing back.
    const off = new LoadShedder({ busyShareMax: 1 }, loop.clock, () => 0, loop.meter);
    loop.nowMs = 1100;
    off.admit(0);
    loop.active = 600;
    loop.idle = 200;
    assert.equal(off.admit(large), undefined);
    assert.equal(off.admit(large), undefined);
  });

  it('counts a body by its Content-Length, a chunked one as the largest body', () => {
    assert.equal(announcedBodyBytes({ 'content-length': '123' }, 1000), 123);
    assert.equal(announcedBodyBytes({ 'transfer-encoding': 'chunked' }, 1000), 1000);
    assert.equal(announcedBodyBytes({}, 1000), 0);
    assert.equal(announcedBodyBytes({ 'content-length': 'x' }, 1000), 1000);
  });
});

describe('load shedding on a node', () => {
  let running: RunningNode;
  let dataDir: string;
  const held: Socket[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ringkv-shed-'));
    running = await startNode(
      { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir, maxValueBytes: 4096, inflightRequestsMax: 3, inflightBodyBytesMax: 4096 },
      pino({ level: 'silent' }),
    );
  });

  after(async () => {
    for (const socket of held) socket.destroy();
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts a PUT of `bodyBytes` and sends all of its body but the last byte: the node holds it in flight. */
  async function holdPut(key: string, bodyBytes: number): Promise<{ socket: Socket; finish(): Promise<string> }> {
    const { port } = new URL(running.url);
    const inflightBefore = await gauge('ringkv_inflight_requests');
    const socket = connect(Number(port), '127.0.0.1');
    held.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const body = JSON.stringify({ value: 'v'.repeat(bodyBytes - 12) });
    assert.equal(body.length, bodyBytes);
    socket.write(`PUT /store/${key} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n${body.slice(0, -1)}`);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    await waitFor(async () => (await gauge('ringkv_inflight_requests')) === inflightBefore + 1);
    return {
      socket,
      finish: async () => {
        socket.write(body.slice(-1));
        await waitFor(async () => answer.includes('\r\n\r\n'));
        return answer;
      },
    };
  }

  async function gauge(name: string): Promise<number> {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    const line = text.split('\n').find((row) => row.startsWith(`${name}{`) || row.startsWith(`${name} `));
    return Number(line?.split(' ').at(-1) ?? Number.NaN);
  }

  async function assertOverloaded(response: Response, reason: string): Promise<void> {
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '1');
    assert.match(String(response.headers.get('content-type')), /^application\/problem\+json/);
    const problem = (await response.json()) as { type: string; detail: string; reason: string; applied: boolean };
    assert.equal(problem.type, 'urn:ringkv:problem:overloaded');
    assert.match(problem.detail, /^overloaded, nothing written: retry after 1 s/);
    assert.equal(problem.reason, reason);
    assert.equal(problem.applied, false);
  }

  it('sheds a PUT whose body would pass the byte bound before reading it, and writes nothing', async () => {
    const first = await holdPut('held-1', 3000);
    const shed = await fetch(`${running.url}/store/shed-1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'w'.repeat(1500) }) });
    await assertOverloaded(shed, 'body-bytes');
    // A GET brings no body: it is served beside the held PUT.
    assert.equal((await fetch(`${running.url}/store/shed-1`)).status, 404, 'the shed PUT wrote nothing');
    assert.match(await first.finish(), /^HTTP\/1\.1 200/);
    assert.equal((await fetch(`${running.url}/store/held-1`)).status, 200);
    await waitFor(async () => (await gauge('ringkv_inflight_body_bytes')) === 0);
  });

  it('sheds beyond the request bound, but never /health or /metrics, and counts what it shed', async () => {
    const holds = [await holdPut('a', 100), await holdPut('b', 100), await holdPut('c', 100)];
    assert.equal(await gauge('ringkv_inflight_requests'), 3);
    await assertOverloaded(await fetch(`${running.url}/store/a`), 'requests');
    await assertOverloaded(await fetch(`${running.url}/store/d`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":1}' }), 'requests');
    assert.equal((await fetch(`${running.url}/health`)).status, 200);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    assert.match(metrics, /ringkv_requests_shed_total\{reason="requests"[^}]*\} 2/);
    assert.match(metrics, /ringkv_requests_shed_total\{reason="body-bytes"[^}]*\} 1/);
    // A client that gives up gives its place back; the others finish and give theirs.
    holds[0]?.socket.destroy();
    for (const hold of holds.slice(1)) assert.match(await hold.finish(), /^HTTP\/1\.1 200/);
    await waitFor(async () => (await gauge('ringkv_inflight_requests')) === 0);
    assert.equal((await fetch(`${running.url}/store/d`)).status, 404, 'the shed PUT wrote nothing');
    assert.equal((await fetch(`${running.url}/store/d`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":1}' })).status, 200);
  });
});

describe('a busy node takes one large body at a time', () => {
  let running: RunningNode;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ringkv-shed-busy-'));
    // The node runs in this process, so spinning this event loop makes the node's busy.
    running = await startNode({ ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir, maxValueBytes: 1024 * 1024, shedBusyShare: 0.6 }, pino({ level: 'silent' }));
  });

  after(async () => {
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sheds a second large body while one is in flight and the loop was busy, with nothing written', async () => {
    const { port } = new URL(running.url);
    const body = JSON.stringify({ value: 'v'.repeat(largeBodyBytes * 2) });
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    // The first large PUT, held in flight: all of its body but the last byte.
    socket.write(`PUT /store/held HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, -1)}`);
    await waitFor(async () => {
      const text = await (await fetch(`${running.url}/metrics`)).text();
      const line = text.split('\n').find((row) => /^ringkv_inflight_body_bytes[{ ]/.test(row));
      return Number(line?.split(' ').at(-1)) === body.length;
    });
    const spinUntil = performance.now() + 600;
    while (performance.now() < spinUntil) {
      // busy: the event loop takes no turn
    }
    // Another client's small read: the bound protects such requests.
    assert.equal((await fetch(`${running.url}/store/light`)).status, 404);
    const shed = await fetch(`${running.url}/store/second`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    assert.equal(shed.status, 503);
    assert.equal(shed.headers.get('retry-after'), '1');
    const problem = (await shed.json()) as { reason: string; detail: string; applied: boolean };
    assert.equal(problem.reason, 'busy');
    assert.equal(problem.applied, false);
    assert.match(problem.detail, /--shed-busy-share 0\.6/);
    // A small body is not held back; the held one finishes; then a large body comes in again.
    assert.equal((await fetch(`${running.url}/store/small`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":1}' })).status, 200);
    socket.write(body.slice(-1));
    await waitFor(async () => answer.includes('\r\n\r\n'));
    assert.match(answer, /^HTTP\/1\.1 200/);
    socket.destroy();
    assert.equal((await fetch(`${running.url}/store/second`)).status, 404, 'the shed PUT wrote nothing');
    assert.equal((await fetch(`${running.url}/store/second`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body })).status, 200);
    assert.match(await (await fetch(`${running.url}/metrics`)).text(), /ringkv_requests_shed_total\{reason="busy"[^}]*\} 1/);
  });

  it('leaves a shed large body unread and closes its connection after the answer', async () => {
    const { port } = new URL(running.url);
    const held = JSON.stringify({ value: 'v'.repeat(largeBodyBytes * 2) });
    const first = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => first.once('connect', resolve).once('error', reject));
    first.write(`PUT /store/held-2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${held.length}\r\n\r\n${held.slice(0, -1)}`);
    await waitFor(async () => {
      const text = await (await fetch(`${running.url}/metrics`)).text();
      const line = text.split('\n').find((row) => /^ringkv_inflight_body_bytes[{ ]/.test(row));
      return Number(line?.split(' ').at(-1)) === held.length;
    });
    // A body far larger than the sockets' buffers (and than --inflight-body-bytes-max, so it is
    // shed beside the held one): what the node does not read stays with the client.
    const bodyBytes = 32 * 1024 * 1024;
    const second = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => second.once('connect', resolve).once('error', reject));
    let answer = '';
    second.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    second.on('error', () => undefined); // the reset that closes it, once the client has the answer
    const closed = new Promise<void>((resolve) => second.once('close', () => resolve()));
    second.write(`PUT /store/unread HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
    second.write(Buffer.alloc(bodyBytes, 0x20));
    await waitFor(async () => answer.includes('}'));
    assert.match(answer, /^HTTP\/1\.1 503/);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.match(answer, /"reason":"body-bytes"/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(second.writableLength > 8 * 1024 * 1024, `the node read the shed body: ${second.writableLength} bytes left unsent`);
    await closed;
    first.write(held.slice(-1));
    first.destroy();
    assert.equal((await fetch(`${running.url}/store/unread`)).status, 404, 'the shed PUT wrote nothing');
  });
});

/** Polls `check` every 10 ms for at most 5 s. */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadlineMs = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadlineMs) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A fake clock, and a fake of performance.eventLoopUtilization: marks of busy and idle time, and their difference. */
function fakeLoop(): { nowMs: number; active: number; idle: number; clock: () => number; meter: EventLoopUtilizationMeter } {
  const loop = {
    nowMs: 0,
    active: 0,
    idle: 0,
    clock: () => loop.nowMs,
    meter: (current?: EventLoopUtilization, previous?: EventLoopUtilization): EventLoopUtilization => {
      if (current === undefined) return { active: loop.active, idle: loop.idle, utilization: 0 };
      const busy = current.active - (previous?.active ?? 0);
      const rest = current.idle - (previous?.idle ?? 0);
      return { active: busy, idle: rest, utilization: busy / (busy + rest) };
    },
  };
  return loop;
}
