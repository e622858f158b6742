// Real node processes on small tmpfs disks fill up under a bounded quorum PUT load: a full
// node stays up and serves reads while the others meet W, a cluster with no replica that
// has room answers 507, a node restarted on its full disk starts and refuses writes, writes
// resume by themselves when the disks grow, and every acknowledged write is still there;
// with and without --durable. Needs root to mount the tmpfs disks; skipped otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCluster, waitFor, type TestCluster, type TestNode } from './support/cluster.js';

/** Each node's disk: n1 fills first, then n2 and n3 (which also hold hints for n1). */
const diskSizes: Record<string, string> = { n1: '16m', n2: '28m', n3: '28m' };
const valueText = 'd'.repeat(32 * 1024);
/** Bounds on the load: writes in one phase, and its time. */
const phaseWritesMax = 2500;
const phaseMsMax = 20_000;
const concurrency = 8;

function mountDisks(dataDir: string): void {
  for (const [id, size] of Object.entries(diskSizes)) {
    const mountPoint = join(dataDir, id);
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mountPoint]);
  }
}

function unmountDisks(dataDir: string): void {
  for (const id of Object.keys(diskSizes)) {
    try {
      execFileSync('umount', ['-l', join(dataDir, id)]);
    } catch {
      // not mounted (the mount itself failed)
    }
  }
}

/** Whether this process may mount a tmpfs: the reason to skip when not. */
function mountRefusal(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount tmpfs disks; skipped';
  return false;
}

interface PutOutcome {
  status: number;
  body: Record<string, unknown>;
  contentType: string;
}

async function put(node: TestNode, key: string, w = 'quorum'): Promise<PutOutcome> {
  const response = await fetch(`${node.url}/store/${encodeURIComponent(key)}?w=${w}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: { key, text: valueText } }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, contentType: response.headers.get('content-type') ?? '' };
}

async function health(node: TestNode): Promise<{ status: number; storage: unknown }> {
  const response = await fetch(`${node.url}/health`, { signal: AbortSignal.timeout(2000) });
  return { status: response.status, storage: ((await response.json()) as { storage?: unknown }).storage };
}

/**
 * Quorum PUTs of fresh keys through `via`, `concurrency` at a time, until `done` says so
 * (checked between rounds) or the bounds are reached. Every answer must be 201/200, 507 or
 * 504: never a reset connection or another error.
 */
async function load(via: TestNode[], prefix: string, acknowledged: Set<string>, done: () => Promise<boolean>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  const startedMs = Date.now();
  for (let round = 0; round * concurrency < phaseWritesMax && Date.now() - startedMs < phaseMsMax; round++) {
    const keys = Array.from({ length: concurrency }, (_, i) => `${prefix}-${round}-${i}`);
    const outcomes = await Promise.all(keys.map((key, i) => put(via[i % via.length] as TestNode, key)));
    outcomes.forEach((outcome, i) => {
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      assert.ok([200, 201, 504, 507].includes(outcome.status), `unexpected ${outcome.status}: ${JSON.stringify(outcome.body).slice(0, 300)}`);
      if (outcome.status === 200 || outcome.status === 201) acknowledged.add(keys[i] as string);
    });
    if (await done()) return statuses;
  }
  assert.fail(`the phase did not end within ${phaseWritesMax} writes or ${phaseMsMax} ms: ${JSON.stringify([...statuses])}`);
}

function assertAlive(cluster: TestCluster): void {
  for (const node of cluster.nodes) {
    assert.doesNotMatch(node.output(), /SIGBUS|Unhandled|uncaught|Commit failed/i, `${node.id} logged a crash:\n${node.output()}`);
  }
}

async function fillAndRecover(durable: boolean): Promise<void> {
  let dataDir = '';
  const cluster = await startCluster({
    nodes: 3,
    storage: 'lmdb',
    extraArgs: ['--storage-reserve-bytes', String(1024 * 1024), '--anti-entropy-interval-ms', '500', ...(durable ? ['--durable'] : [])],
    beforeStart: (folder) => {
      dataDir = folder;
      mountDisks(folder);
    },
  });
  try {
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    const acknowledged = new Set<string>();

    // n1 fills up; n2 and n3 still take every write, so W=2 is met without it.
    const early = await load([n2, n3], 'early', acknowledged, async () => (await health(n1)).storage === 'full');
    assert.equal(early.get(507) ?? 0, 0, 'one full replica of three costs no write');
    assert.deepEqual(await health(n1), { status: 200, storage: 'full' }, 'a full node is alive and says so');
    const info = await n1.client.nodeInfo();
    assert.equal(info.disk.state, 'full');
    assert.ok(info.disk.warning !== null && info.disk.freeBytes !== null && info.disk.dataBytes !== null, JSON.stringify(info.disk));
    assert.match(await (await fetch(`${n1.url}/metrics`)).text(), /ringkv_storage_state\{[^}]*state="full"[^}]*\} 1/);
    const sample = [...acknowledged].slice(-20);
    for (const key of sample) assert.equal(((await n1.client.get(key))?.value as { key: string }).key, key, 'the full node serves quorum reads');

    // Then n2 and n3 fill too: no replica takes a write, and the answer is 507.
    let insufficient: PutOutcome | undefined;
    await load([n2, n3, n1], 'late', acknowledged, async () => {
      const outcome = await put(n2, `probe-${Date.now()}`);
      if (outcome.status === 507) insufficient = outcome;
      return insufficient !== undefined;
    });
    const problem = (insufficient as PutOutcome).body;
    assert.match((insufficient as PutOutcome).contentType, /application\/problem\+json/);
    assert.equal(problem['type'], 'urn:ringkv:problem:insufficient-storage');
    assert.equal(problem['applied'], false);
    assert.ok(Array.isArray(problem['fullNodes']) && (problem['fullNodes'] as string[]).length >= 2, JSON.stringify(problem));
    assert.match(String(problem['detail']), /out of disk space.*nothing was written/);

    // n1 restarted on its full disk: it starts, serves reads and says why it refuses writes.
    await n1.kill('SIGTERM');
    await n1.start();
    await waitFor(async () => (await n1.client.cluster()).members.every((member) => member.state === 'up'), 15_000);
    for (const key of sample) assert.equal(((await n1.client.get(key))?.value as { key: string }).key, key);
    // At W=all n1's refusal decides: 507, or 504 if n2 or n3 still had room for this one.
    const refused = await put(n1, 'after-restart', 'all');
    assert.ok(refused.status === 507 || refused.status === 504, JSON.stringify(refused.body));
    const failures = refused.body['failures'] as Array<{ nodeId: string; storageFull?: boolean }>;
    assert.ok(failures.some((failure) => failure.nodeId === 'n1' && failure.storageFull === true), JSON.stringify(refused.body));
    assert.equal((await health(n1)).storage, 'full');

    // The disks grow: writes resume by themselves, on every node.
    for (const id of Object.keys(diskSizes)) execFileSync('mount', ['-o', 'remount,size=256m', join(dataDir, id)]);
    await waitFor(async () => [200, 201].includes((await put(n1, `resumed-${Date.now()}`, 'all')).status), 10_000);
    for (const node of cluster.nodes) assert.equal((await health(node)).storage, 'ok');
    // A write n1 refused while full reaches it later (a hint, or anti-entropy).
    const missedByN1 = sample[sample.length - 1] as string;
    await waitFor(async () => (await n2.client.replicas(missedByN1)).replicas.find((copy) => copy.nodeId === 'n1')?.status === 'ok', 15_000);

    // Nothing acknowledged was lost.
    const keys = [...acknowledged];
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(
        keys.slice(i, i + 16).map(async (key, j) => {
          const read = await (cluster.nodes[j % 3] as TestNode).client.get(key);
          assert.equal((read?.value as { key: string } | undefined)?.key, key, `acknowledged ${key} is lost`);
        }),
      );
    }
    assertAlive(cluster);
    process.stdout.write(`# ${durable ? 'durable' : 'default'}: ${acknowledged.size} writes acknowledged, early ${JSON.stringify([...early])}\n`);
  } finally {
    await Promise.all(cluster.nodes.map((node) => node.kill('SIGTERM')));
    unmountDisks(dataDir);
    await cluster.stop();
  }
}

describe('disk full on real processes', { skip: mountRefusal() }, () => {
  it('answers instead of crashing, restarts on a full disk, resumes when space returns', () => fillAndRecover(false));
  it('does the same with --durable', () => fillAndRecover(true));
});
