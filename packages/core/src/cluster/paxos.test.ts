// Checks conditional writes by per-key Paxos: the acceptor's rules and the phase decisions
// as tables, then on an in-process cluster, clients that read a counter serially and
// increment it with If-Match through different nodes at once: exactly one wins each
// version, none is lost, with and without a replica crashing midway.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { formatVersion, type StoredRecord } from '../storage/record.js';
import { InProcessCluster } from '../testing/in-process-cluster.js';
import { OutcomeUnknownError, UnavailableError } from './outcomes.js';
import { decidePhase, MemoryPaxosStore, PaxosAcceptor, readPromises, type Ballot, type PromiseAnswer } from './paxos.js';
import { conditionRefusal, PreconditionFailedError } from './paxos-proposer.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const ballot = (hlc: number, nodeId = 'n1'): Ballot => ({ hlc, nodeId });
const record = (hlc: number, value: unknown, nodeId = 'n1'): StoredRecord => ({ hlc, nodeId, value, tombstone: false });

function acceptorWithEngine() {
  const engine = new Map<string, StoredRecord>();
  const acceptor = new PaxosAcceptor({
    store: new MemoryPaxosStore(),
    read: async (key) => engine.get(key),
    apply: async (key, chosen) => {
      const held = engine.get(key);
      if (held === undefined || held.hlc < chosen.hlc) engine.set(key, chosen);
    },
    observe: () => undefined,
  });
  return { acceptor, engine };
}

describe('the Paxos acceptor', () => {
  it('promises only above what it promised, accepts unless it promised higher, and reports what it accepted', async () => {
    const { acceptor } = acceptorWithEngine();
    assert.deepEqual(await acceptor.prepare('k', ballot(10)), { promised: true, accepted: null, committed: null, current: null, remembered: null, committedTags: [] });
    assert.deepEqual(await acceptor.prepare('k', ballot(10)), { promised: false, highest: ballot(10) }, 'the same ballot twice');
    assert.deepEqual(await acceptor.prepare('k', ballot(9)), { promised: false, highest: ballot(10) });
    assert.deepEqual(await acceptor.accept('k', ballot(9), record(9, 'a')), { accepted: false, highest: ballot(10) });
    assert.deepEqual(await acceptor.accept('k', ballot(10), record(10, 'b')), { accepted: true });
    const again = await acceptor.prepare('k', ballot(11, 'n2'));
    assert.deepEqual(again, { promised: true, accepted: { ballot: ballot(10), record: record(10, 'b') }, committed: null, current: null, remembered: null, committedTags: [] });
  });

  it('applies a committed record to the engine and settles the proposal it accepted', async () => {
    const { acceptor, engine } = acceptorWithEngine();
    await acceptor.prepare('k', ballot(10));
    await acceptor.accept('k', ballot(10), record(10, 'b'));
    await acceptor.commit('k', ballot(10), record(10, 'b'));
    assert.deepEqual(engine.get('k'), record(10, 'b'));
    const after = await acceptor.prepare('k', ballot(12));
    assert.deepEqual(after, { promised: true, accepted: null, committed: ballot(10), current: record(10, 'b'), remembered: null, committedTags: [] });
  });

  it('refuses a new proposal stamped at or below its closed time, with that time to beat, but takes one found in progress', async () => {
    // Cas seed 5100641: a proposal taken after the replica's closed time passed its version
    // was committed below what a watch had passed. Here time is closed through 100.
    const acceptor = new PaxosAcceptor({
      store: new MemoryPaxosStore(),
      read: async () => undefined,
      apply: async () => undefined,
      observe: () => undefined,
      refusesAt: (hlc) => (hlc <= 100 ? 100 : undefined),
    });
    assert.deepEqual(await acceptor.accept('k', ballot(90, 'n2'), record(90, 'late', 'n2')), { accepted: false, highest: ballot(100, 'n2') });
    assert.deepEqual(await acceptor.prepare('k', ballot(95)), { promised: true, accepted: null, committed: null, current: null, remembered: null, committedTags: [] }, 'a refused accept promised nothing');
    // Finishing a proposal keeps its version (it may have been chosen): never refused.
    assert.deepEqual(await acceptor.accept('k', ballot(120), record(80, 'in progress', 'n3')), { accepted: true });
    assert.deepEqual(await acceptor.accept('k', ballot(130), record(130, 'fresh')), { accepted: true });
  });
});

describe('Paxos decisions', () => {
  const answers = (entries: Array<[string, 'yes' | 'no']>) => new Map(entries);
  const rows: Array<{ name: string; groups: string[][]; answers: Array<[string, 'yes' | 'no']>; decision: string }> = [
    { name: 'a majority of one group', groups: [['a', 'b', 'c']], answers: [['a', 'yes'], ['c', 'yes']], decision: 'reached' },
    { name: 'one yes of three', groups: [['a', 'b', 'c']], answers: [['a', 'yes']], decision: 'pending' },
    { name: 'two noes of three', groups: [['a', 'b', 'c']], answers: [['a', 'no'], ['b', 'no']], decision: 'failed' },
    { name: 'a majority of the old set but not of the new one', groups: [['a', 'b', 'c'], ['a', 'b', 'd']], answers: [['a', 'yes'], ['c', 'yes'], ['b', 'no'], ['d', 'no']], decision: 'failed' },
    { name: 'a majority of both sets while the ring changes', groups: [['a', 'b', 'c'], ['a', 'b', 'd']], answers: [['a', 'yes'], ['b', 'yes']], decision: 'reached' },
    { name: 'a cluster of one', groups: [['a']], answers: [['a', 'yes']], decision: 'reached' },
  ];
  for (const row of rows) {
    it(`decides a phase: ${row.name}`, () => assert.equal(decidePhase(row.groups, answers(row.answers)), row.decision));
  }

  it('finishes a proposal accepted above every commit the promises report, and not one at or below', () => {
    const promise = (accepted: number | null, committed: number | null, current: StoredRecord | null): Extract<PromiseAnswer, { promised: true }> => ({
      promised: true,
      accepted: accepted === null ? null : { ballot: ballot(accepted), record: record(accepted, `v${accepted}`) },
      committed: committed === null ? null : ballot(committed),
      current,
      remembered: null,
      committedTags: [],
    });
    assert.equal(readPromises([promise(20, 10, record(10, 'v10')), promise(null, 10, record(10, 'v10'))]).inProgress?.ballot.hlc, 20);
    assert.equal(readPromises([promise(20, 10, record(10, 'v10')), promise(null, 20, record(20, 'v20'))]).inProgress, null);
    assert.equal(readPromises([promise(null, null, record(5, 'old')), promise(null, 10, record(10, 'v10'))]).current?.value, 'v10');
  });

  it('judges If-Match and If-None-Match on the current record', () => {
    const live = record(7, 'x');
    assert.equal(conditionRefusal({ ifMatch: formatVersion(live) }, live), undefined);
    assert.match(conditionRefusal({ ifMatch: '1-n1' }, live) ?? '', /not 1-n1/);
    assert.match(conditionRefusal({ ifMatch: '1-n1' }, undefined) ?? '', /absent/);
    assert.equal(conditionRefusal({ ifNoneMatch: true }, undefined), undefined);
    assert.equal(conditionRefusal({ ifNoneMatch: true }, { ...live, tombstone: true, value: undefined }), undefined);
    assert.match(conditionRefusal({ ifNoneMatch: true }, live) ?? '', /exists/);
  });
});

/** Clients that read the counter serially and write value + 1 If-Match, each through its own node, until `perClient` wins each. */
async function incrementConcurrently(cluster: InProcessCluster, via: readonly string[], rounds: number) {
  let wins = 0;
  let unknown = 0;
  let refused = 0;
  const wonOver: string[] = [];
  const client = async (nodeId: string) => {
    for (let round = 0; round < rounds; round++) {
      const node = cluster.member(nodeId).node;
      if (!cluster.member(nodeId).up) return;
      try {
        const current = await cluster.settle(node.paxos.read('counter'));
        const next = typeof current?.value === 'number' ? current.value + 1 : 1;
        const condition = current === undefined ? { ifNoneMatch: true } : { ifMatch: formatVersion(current) };
        const won = await cluster.settle(node.paxos.write('counter', { value: next, tombstone: false }, condition));
        wonOver.push(current === undefined ? 'absent' : formatVersion(current));
        assert.equal(won.record.value, next);
        wins++;
      } catch (error) {
        if (error instanceof PreconditionFailedError || error instanceof UnavailableError) refused++;
        else if (error instanceof OutcomeUnknownError) unknown++;
        else if (!(error instanceof Error && /settle/.test(error.message))) throw error;
      }
    }
  };
  await Promise.all(via.map(client));
  assert.equal(new Set(wonOver).size, wonOver.length, 'no two writers won over the same version');
  return { wins, unknown, refused };
}

describe('conditional writes on an in-process cluster', () => {
  it('lets exactly one of several concurrent writers win each version of a counter', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 71, hash, yieldToEventLoop });
    await cluster.start();
    const { wins, unknown, refused } = await incrementConcurrently(cluster, ['n1', 'n2', 'n3', 'n1', 'n2', 'n3'], 8);
    assert.ok(refused > 0, 'writers raced for the same versions');
    assert.ok(unknown <= wins, `${unknown} unknown outcomes beside ${wins} wins: preempted attempts mostly were taken nowhere`);
    const final = await cluster.settle(cluster.member('n2').node.paxos.read('counter'));
    const value = final?.value as number;
    assert.ok(value >= wins && value <= wins + unknown, `counter ${value}: ${wins} increments won, ${unknown} unknown`);
    // Plain quorum reads see the committed value too.
    const plain = await cluster.settle(cluster.member('n3').node.coordinator.read('counter', 'quorum'));
    assert.equal(plain.record?.value, value);
    cluster.stop();
  });

  it('commits a copy only some replica holds before a serial read answers it, so a later majority cannot miss it', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 73, hash, yieldToEventLoop });
    await cluster.start();
    // A commit cut short (the other replicas' disks refused it) left the chosen record on n1 alone.
    const n1 = cluster.member('n1');
    const chosen: StoredRecord = { value: 'only-on-n1', tombstone: false, hlc: n1.node.hlc.now(), nodeId: 'n1' };
    await n1.engine.apply('lagging', chosen);
    const first = await cluster.settle(n1.node.paxos.read('lagging'));
    assert.equal(first?.value, 'only-on-n1');
    cluster.crash('n1');
    await cluster.run(1500);
    const later = await cluster.settle(cluster.member('n2').node.paxos.read('lagging'));
    assert.equal(later?.value, 'only-on-n1', 'the majority without n1 holds what the first serial read answered');
    cluster.stop();
  });

  it('loses no won increment while a replica crashes and restarts midway', async () => {
    const cluster = new InProcessCluster({ nodes: 3, seed: 72, hash, yieldToEventLoop });
    await cluster.start();
    const running = incrementConcurrently(cluster, ['n1', 'n2', 'n1', 'n2'], 10);
    await cluster.run(30);
    cluster.crash('n3');
    await cluster.run(200);
    cluster.restart('n3');
    const { wins, unknown } = await running;
    const final = await cluster.settle(cluster.member('n1').node.paxos.read('counter'));
    const value = final?.value as number;
    assert.ok(value >= wins && value <= wins + unknown, `counter ${value}: ${wins} won, ${unknown} unknown`);
    cluster.stop();
  });
});
