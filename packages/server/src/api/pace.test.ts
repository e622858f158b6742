// Checks the pace of background jobs through the API of a real 3-node cluster: GET /jobs and
// GET /cluster/jobs show every node's transfer cap and background floor, PUT /jobs/pace sets
// either or both on this node or, forwarded, on another member, and bad values or unknown
// members are problem+json that change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JobList, Pace } from '@ringkv/client';
import { backgroundBusyWindowMs } from '@ringkv/core';
import { CpuPressureMeter, cpuPressurePaths, cpuPressureSource } from '../clock/cpu-pressure.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

let cluster: TestCluster;

/**
 * A PSI file for n2 and n3 that this test writes: the microseconds some thread waited for a
 * CPU grow at `share` of the time, as the kernel would count them on a machine that busy.
 * n1 reads the machine's own.
 */
const stalls = { share: 0, micros: 0, sinceMs: performance.now() };
function stalledSoFar(): number {
  return stalls.micros + stalls.share * (performance.now() - stalls.sinceMs) * 1000;
}
function setPressure(share: number): void {
  stalls.micros = stalledSoFar();
  stalls.sinceMs = performance.now();
  stalls.share = share;
}
function pressureOfThisTest(): CpuPressureMeter {
  return new CpuPressureMeter({ path: 'this test', nowMs: () => performance.now(), read: () => `some avg10=0.00 avg60=0.00 avg300=0.00 total=${Math.round(stalledSoFar())}\n` });
}

before(async () => {
  cluster = await startTestCluster(
    'pace',
    (index) => (index === 0 ? { transferMbPerS: 25, backgroundShareMin: 0.25 } : {}),
    0,
    (index) => (index === 0 ? {} : { cpuPressure: pressureOfThisTest() }),
  );
});

after(async () => {
  await cluster.close();
});

function inject(index: number, method: 'GET' | 'PUT', url: string, payload?: unknown) {
  const app = (cluster.nodes[index] as (typeof cluster.nodes)[number]).app;
  return app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function paceOf(index: number, node: string): Promise<Pace> {
  const list = (await inject(index, 'GET', '/cluster/jobs')).json() as JobList;
  const pace = list.paces.find((item) => item.node === node);
  assert.ok(pace !== undefined, `no pace for ${node} in ${JSON.stringify(list.paces)}`);
  return pace;
}

describe('transfer pace', () => {
  it('lists the cap each node started with, and the share clients leave background jobs', async () => {
    const own = (await inject(0, 'GET', '/jobs')).json() as JobList;
    assert.deepEqual(own.paces.map((pace) => pace.node), ['n1']);
    assert.equal(own.paces[0]?.transferMbPerSecond, 25);
    assert.equal(own.paces[0]?.transferredBytes, 0);
    const all = (await inject(1, 'GET', '/cluster/jobs')).json() as JobList;
    assert.deepEqual(all.paces.map((pace) => [pace.node, pace.transferMbPerSecond]), [['n1', 25], ['n2', 0], ['n3', 0]]);
    // Idle but for the requests asking, on cores nobody waits for: background work may take all the time.
    for (const pace of all.paces.slice(1)) assert.equal(pace.backgroundShare, 1, JSON.stringify(pace));
    // n1 reads this machine's pressure, which other programs make: at least its floor.
    const n1 = all.paces[0];
    assert.ok(n1 !== undefined && n1.backgroundShare >= 0.25 && n1.backgroundShare <= 1, JSON.stringify(n1));
    assert.deepEqual(all.paces.map((pace) => [pace.node, pace.backgroundShareMin]), [['n1', 0.25], ['n2', 0.1], ['n3', 0.1]], 'the floor each started with');
  });

  it("gives way to clients' reads, but not to an operator polling the jobs", async () => {
    const n3 = (cluster.nodes[2] as (typeof cluster.nodes)[number]).node;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the window of any earlier request
    for (let i = 0; i < 3; i++) await Promise.all([inject(2, 'GET', '/cluster/jobs'), inject(2, 'GET', '/jobs'), inject(2, 'GET', '/cluster')]);
    assert.equal(n3.budget.share(), 1, 'views and polls are no client load');
    const read = await inject(2, 'GET', '/store/some-key');
    assert.equal(read.statusCode, 404, read.body);
    assert.ok(n3.budget.share() < 1, `a client's read is load for a second: share ${n3.budget.share()}`);
  });

  it('gives way to the machine\'s CPU pressure on a node no client uses, down to its floor', async () => {
    const n3 = (cluster.nodes[2] as (typeof cluster.nodes)[number]).node;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the window of the last test's client read
    // The meter reads the file at most once a window, averaging since its last reading, which
    // the node's own background jobs may have taken at any moment: the first reading after a
    // change may still average in the pressure before it, the second may not.
    const shareUnder = async (pressure: number) => {
      setPressure(pressure);
      for (let reading = 0; reading < 2; reading++) {
        await new Promise((resolve) => setTimeout(resolve, backgroundBusyWindowMs + 50));
        n3.budget.share();
      }
      return n3.budget.share();
    };
    try {
      const share = await shareUnder(0.6);
      assert.ok(Math.abs(share - 0.4) < 0.05, `threads waited 0.6 of the time: share ${share}, not about 0.4`);
      const pace = await paceOf(2, 'n3');
      assert.ok(Math.abs(pace.backgroundShare - 0.4) < 0.05 && Math.abs((pace.cpuPressure ?? 0) - 0.6) < 0.05, JSON.stringify(pace));
      assert.equal(await shareUnder(1), 0.1, 'cores all taken: the floor, as under client load');
    } finally {
      setPressure(0);
    }
    assert.equal(await shareUnder(0), 1, 'nobody waits for a CPU again: full speed');
  });

  it("shows the machine's CPU pressure where Linux measures it", async (t) => {
    if (cpuPressureSource(cpuPressurePaths(undefined)) === undefined) {
      t.skip('no pressure stall information on this machine');
      return;
    }
    // The first reading only marks the start of a window; a quarter second later there is a share.
    await inject(0, 'GET', '/jobs');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pace = ((await inject(0, 'GET', '/jobs')).json() as JobList).paces[0];
    assert.equal(typeof pace?.cpuPressure, 'number', JSON.stringify(pace));
    assert.ok((pace?.cpuPressure ?? -1) >= 0 && (pace?.cpuPressure ?? 2) <= 1, JSON.stringify(pace));
  });

  it('sets the cap of this node, and of another member through this one', async () => {
    const own = await inject(0, 'PUT', '/jobs/pace', { transferMbPerSecond: 80 });
    assert.equal(own.statusCode, 200, own.body);
    assert.equal((own.json() as Pace).transferMbPerSecond, 80);
    assert.equal((await paceOf(2, 'n1')).transferMbPerSecond, 80);
    const forwarded = await inject(0, 'PUT', '/jobs/pace?node=n3', { transferMbPerSecond: 0.5 });
    assert.equal(forwarded.statusCode, 200, forwarded.body);
    assert.deepEqual([(forwarded.json() as Pace).node, (forwarded.json() as Pace).transferMbPerSecond], ['n3', 0.5]);
    assert.equal((await paceOf(0, 'n3')).transferMbPerSecond, 0.5);
    assert.equal((await inject(0, 'PUT', '/jobs/pace', { transferMbPerSecond: 0 })).statusCode, 200);
    assert.equal((await paceOf(1, 'n1')).transferMbPerSecond, 0);
  });

  it('sets the background floor of this node and of another member, alone or with the cap', async () => {
    const own = await inject(0, 'PUT', '/jobs/pace', { backgroundShareMin: 0.5 });
    assert.equal(own.statusCode, 200, own.body);
    assert.deepEqual([(own.json() as Pace).backgroundShareMin, (own.json() as Pace).transferMbPerSecond], [0.5, 0], 'the cap is left as it was');
    assert.equal((cluster.nodes[0] as (typeof cluster.nodes)[number]).node.budget.shareMin(), 0.5, "the node's jobs follow it at once");
    const forwarded = await inject(0, 'PUT', '/jobs/pace?node=n2', { backgroundShareMin: 1, transferMbPerSecond: 12 });
    assert.equal(forwarded.statusCode, 200, forwarded.body);
    const pace = await paceOf(2, 'n2');
    assert.deepEqual([pace.backgroundShareMin, pace.transferMbPerSecond], [1, 12]);
    assert.equal((await inject(0, 'PUT', '/jobs/pace?node=n2', { backgroundShareMin: 0.1, transferMbPerSecond: 0 })).statusCode, 200);
    assert.equal((await inject(0, 'PUT', '/jobs/pace', { backgroundShareMin: 0.1 })).statusCode, 200);
    assert.deepEqual((await paceOf(1, 'n1')).backgroundShareMin, 0.1);
  });

  it('refuses a bad cap or floor, or an unknown member, with problem+json, changing nothing', async () => {
    const floors = [{ backgroundShareMin: 0 }, { backgroundShareMin: 0.001 }, { backgroundShareMin: 1.5 }, { backgroundShareMin: 'high' }, { transferMbPerSecond: 5, backgroundShareMin: 2 }];
    for (const payload of [{ transferMbPerSecond: -1 }, { transferMbPerSecond: 'fast' }, { transferMbPerSecond: 1e9 }, {}, { transferMbPerSecond: 5, extra: true }, ...floors]) {
      const answer = await inject(1, 'PUT', '/jobs/pace', payload);
      assert.equal(answer.statusCode, 400, `${JSON.stringify(payload)}: ${answer.body}`);
      assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
    }
    const unknown = await inject(1, 'PUT', '/jobs/pace?node=n9', { transferMbPerSecond: 5 });
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.match((unknown.json() as { detail: string }).detail, /n9/);
    assert.equal((await paceOf(1, 'n2')).transferMbPerSecond, 0);
    assert.equal((await paceOf(1, 'n2')).backgroundShareMin, 0.1);
    const empty = (await inject(1, 'PUT', '/jobs/pace', {})).json() as { detail: string };
    assert.match(empty.detail, /transferMbPerSecond|backgroundShareMin|propert/, 'an empty body is told what it lacks');
  });
});
