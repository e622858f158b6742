// Real node processes change the ring under a steady write load: a fourth node joins a
// three-node cluster, a node leaves, a node started on standby waits outside the ring and
// joins on `ringkv join`, and a killed node is removed. After each change no acknowledged write is
// lost, every key is on exactly N nodes (each node's own /keys), ownership has moved,
// and the move was reported as a job with its progress.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from '@ringkv/client';
import { ringkv } from './support/cli.js';
import { startCluster, waitFor, waitForAllUp, type TestCluster, type TestNode } from './support/cluster.js';

const replicas = 3;
const ringArgs = ['--ring-settle-ms', '1000', '--anti-entropy-interval-ms', '300', '--read-repair-chance', '0'];

/** Writes keys at quorum through the live nodes until stopped; remembers what was acknowledged. */
class WriteLoad {
  readonly acknowledged = new Map<string, number>();
  failures = 0;
  private running = true;
  private done: Promise<void>;

  constructor(nodes: () => TestNode[], prefix: string) {
    this.done = (async () => {
      for (let i = 0; this.running && i < 100_000; i++) {
        const live = nodes();
        const node = live[i % live.length] as TestNode;
        const key = `${prefix}-${i % 400}`;
        try {
          await node.client.put(key, i);
          this.acknowledged.set(key, i);
        } catch {
          this.failures++;
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function clusterView(node: TestNode) {
  return node.client.cluster();
}

/** Every live node sees the ring settled: no member joining or leaving, nothing moving, cleanups done. */
async function waitSettled(nodes: TestNode[], timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    for (const node of nodes) {
      const view = await clusterView(node);
      if (view.rebalancing || view.members.some((member) => member.ringStatus === 'joining' || member.ringStatus === 'leaving')) return false;
      const jobs = (await node.client.jobs()).jobs;
      if (jobs.some((job) => job.state !== 'done')) return false;
    }
    // Stable for the settle period, and each node has dropped what it no longer owns.
    const totals = await Promise.all(nodes.map(async (node) => (await node.client.nodeInfo()).keys.total));
    const owned = await Promise.all(nodes.map(async (node) => (await node.client.allKeys()).length));
    return totals.every((total, i) => total === owned[i]);
  }, timeoutMs);
}

/** No acknowledged write lost (quorum reads), and each key on exactly N of the live nodes. */
async function assertPlacement(nodes: TestNode[], load: WriteLoad): Promise<void> {
  const reader = nodes[0] as TestNode;
  for (const [key, value] of load.acknowledged) {
    const stored = await reader.client.get(key);
    assert.ok(stored !== null && typeof stored.value === 'number' && stored.value >= value, `${key}: acknowledged ${value}, read ${JSON.stringify(stored?.value)}`);
  }
  const held = new Map<string, string[]>();
  for (const node of nodes) for (const key of await node.client.allKeys()) held.set(key, [...(held.get(key) ?? []), node.id]);
  for (const key of load.acknowledged.keys()) {
    const holders = held.get(key) ?? [];
    const owners = (await reader.client.owners(key)).owners;
    assert.deepEqual([...holders].sort(), [...owners].sort(), `${key} is on ${holders.join(', ')} but its replicas are ${owners.join(', ')}`);
    assert.equal(holders.length, replicas);
  }
}

function finishedTransfer(jobs: readonly Job[], kind: Job['kind']): Job | undefined {
  return jobs.find((job) => job.kind === kind && job.state === 'done' && job.keysTotal > 0);
}

describe('rebalancing', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let live: TestNode[];

  before(async () => {
    cluster = await startCluster({ nodes: 3, storage: 'lmdb', extraArgs: ringArgs });
    live = [...cluster.nodes];
  });

  after(async () => {
    await cluster?.stop();
  });

  /**
   * Starts `nodeId` while a quorum write load runs; checks the join job, the new share and
   * placement. With `standby` the node starts outside the ring, and `ringkv join` moves it in.
   */
  async function joinUnderLoad(nodeId: string, prefix: string, written = new Map<string, number>(), standby = false): Promise<void> {
    const before = live.length;
    const load = new WriteLoad(() => live.slice(0, before), prefix);
    for (const [key, value] of written) load.acknowledged.set(key, value);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const joining = await cluster.addNode(nodeId, standby ? ['--standby'] : []);
    live.push(joining);
    if (standby) await joinFromStandby(joining);
    await waitFor(async () => (await clusterView(live[0] as TestNode)).members.some((member) => member.nodeId === nodeId && member.ringStatus === 'normal'), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await load.stop();
    await waitSettled(live, 60_000);
    const join = finishedTransfer((await joining.client.jobs()).jobs, 'join');
    assert.ok(join !== undefined, `${nodeId} reports its join as a finished job`);
    assert.ok(join.recordsMoved > 0 && join.keysDone === join.keysTotal, `join job: ${JSON.stringify(join)}`);
    const share = (await clusterView(joining)).members.find((member) => member.nodeId === nodeId)?.ringShare ?? 0;
    assert.ok(share > 0.1, `${nodeId} owns ${share} of the ring`);
    assert.ok((await joining.client.nodeInfo()).keys.total > 0);
    await assertPlacement(live, load);
    process.stdout.write(`# ${nodeId} joined ${before} nodes: ${load.acknowledged.size} keys acknowledged (${load.failures} writes failed), ${join.recordsMoved} records moved to it\n`);
  }

  it('a fourth node joins a three-node cluster under a steady write load: nothing lost, every key on exactly N nodes, progress reported', async () => {
    // 1,000 keys already there, for the new node to receive; the load goes on meanwhile.
    const written = new Map<string, number>();
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => live[(i + j) % live.length]!.client.put(`before-${i + j}`, i + j).then(() => written.set(`before-${i + j}`, i + j))));
    }
    await joinUnderLoad('n4', 'join', written);
  });

  it('a node leaves under a steady write load and stops, with its ranges handed on', async () => {
    const leaving = live[1] as TestNode;
    const stay = live.filter((node) => node !== leaving);
    const load = new WriteLoad(() => stay, 'leave');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const change = await leaving.client.leave();
    assert.equal(change.ringStatus, 'leaving');
    await waitFor(async () => (await clusterView(stay[0] as TestNode)).members.some((member) => member.nodeId === leaving.id && member.ringStatus === 'left'), 60_000);
    // The leaver stops by itself once the change has settled.
    await waitFor(async () => !(await fetch(`${leaving.url}/health`, { signal: AbortSignal.timeout(500) }).then(() => true, () => false)), 20_000);
    await load.stop();
    live = stay;
    await waitSettled(live, 60_000);
    const received = (await Promise.all(live.map(async (node) => finishedTransfer((await node.client.jobs()).jobs, 'leave')))).filter((job) => job !== undefined);
    assert.ok(received.length > 0, 'the new owners report the transfer as finished jobs');
    await assertPlacement(live, load);
  });

  /** A node on standby: every member lists it so, it holds nothing, serves writes as a coordinator, then `ringkv join` moves it in. */
  async function joinFromStandby(node: TestNode): Promise<void> {
    await waitFor(async () => {
      const views = await Promise.all(live.map((member) => clusterView(member)));
      return views.every((view) => view.members.find((member) => member.nodeId === node.id)?.ringStatus === 'standby' && !view.rebalancing);
    }, 20_000);
    await waitFor(async () => (await fetch(`${node.url}/health`)).ok, 20_000);
    await node.client.put(`through-${node.id}`, 1);
    assert.equal((await live[0]!.client.get(`through-${node.id}`))?.value, 1);
    assert.equal((await node.client.nodeInfo()).keys.total, 0, `${node.id} on standby holds no keys`);
    assert.deepEqual((await node.client.jobs()).jobs, [], `${node.id} on standby runs no job`);
    // Asked through a member of the ring, as an operator who talks to any node would.
    const { code, stdout, stderr } = await ringkv(['join', '--member', node.id, '--node', live[0]!.url, '--timeout-s', '90'], { timeoutMs: 100_000 });
    const output = stdout + stderr;
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`${node.id} is joining`));
    assert.match(output, new RegExp(`${node.id} has joined`));
    const again = await node.client.join().then(
      () => undefined,
      (error: { status?: number }) => error.status,
    );
    assert.equal(again, 409, 'a node already in the ring is not told to join');
  }

  it('a node started on standby joins on `ringkv join`, after the leave', async () => {
    await joinUnderLoad('n5', 'rejoin', new Map(), true);
  });

  it('a killed node is removed, and every key returns to N copies', async () => {
    const dead = live[1] as TestNode;
    await dead.kill('SIGKILL');
    const survivors = live.filter((node) => node !== dead);
    await waitFor(async () => (await clusterView(survivors[0] as TestNode)).members.find((member) => member.nodeId === dead.id)?.state === 'down', 15_000);
    const refused = await survivors[0]!.client.remove('no-such-node').then(
      () => undefined,
      (error: { status?: number }) => error.status,
    );
    assert.equal(refused, 404);
    const load = new WriteLoad(() => survivors, 'remove');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await survivors[0]!.client.remove(dead.id);
    await waitFor(async () => (await clusterView(survivors[0] as TestNode)).members.some((member) => member.nodeId === dead.id && member.ringStatus === 'left'), 60_000);
    await load.stop();
    live = survivors;
    await waitForAllUp(live, 15_000, live.length);
    await waitSettled(live, 60_000);
    await assertPlacement(live, load);
    // Only N members remain: another removal or leave would leave keys short of replicas.
    const tooFew = await live[0]!.client.leave().then(
      () => undefined,
      (error: { status?: number }) => error.status,
    );
    assert.equal(tooFew, 409);
  });
});
