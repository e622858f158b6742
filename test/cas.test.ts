// Conditional writes on real processes: six clients increment one counter by serial read
// and PUT If-Match through random nodes of a 3-node LMDB cluster while a node is killed
// with SIGKILL and restarted and (in network namespaces) another is cut off from its peers;
// the recorded history must pass the simulator's linearizability checker and the counter
// must end between the 200 answers and the 200 answers plus the unknown outcomes. Each
// increment carries an Idempotency-Key, and one whose outcome was unknown (504, no answer)
// or in flight (409) is sent again through another node: the retries settle most unknown
// outcomes without applying any increment twice, which the same checks would catch. The way
// answers become history, and the checker over it, are first shown to reject bad histories.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLinearizable, createHistory, type History, type Version } from './support/cas-linearizability.js';
import { runCounterScenario } from './support/cas-scenario.js';
import { classifyReadAnswer, classifyWriteAnswer, counterProblem, tokenOf } from './support/cas-workload.js';
import { parseSeed, SeededRandom } from './support/chaos-random.js';

const nodeIds = ['n1', 'n2', 'n3'];
const key = 'counter';

/** Appends one conditional increment answered `answer`, over `expected` (null: If-None-Match), at [startMs, endMs]. */
function increment(history: History, client: string, count: number, expected: Version | null, answer: Parameters<typeof classifyWriteAnswer>[0], startMs: number, endMs: number) {
  const condition = expected === null ? { ifNoneMatch: true as const } : { ifMatch: expected };
  const operation = history.invoke({ client, kind: 'put', key, value: tokenOf({ count, writer: `${client}#${startMs}` }), level: 2, condition, node: 'n1', incarnation: 0, phase: 'workload' }, startMs);
  const classified = classifyWriteAnswer(answer, expected);
  history.complete(operation, classified.outcome, endMs, classified.details);
  return operation;
}

function serialRead(history: History, answer: Parameters<typeof classifyReadAnswer>[0], startMs: number, endMs: number) {
  const operation = history.invoke({ client: 'r', kind: 'read', key, level: 2, serial: true, node: 'n2', incarnation: 0, phase: 'workload' }, startMs);
  const classified = classifyReadAnswer(answer);
  history.complete(operation, classified.outcome, endMs, classified.details);
  return operation;
}

const v1 = { hlc: 1000, nodeId: 'n1' };
const v2 = { hlc: 2000, nodeId: 'n2' };
const v2b = { hlc: 2001, nodeId: 'n3' };

describe('conditional-write history', () => {
  it('accepts a chain of increments with a refused rival, a 503 and an unknown outcome a later read saw', () => {
    const history = createHistory();
    increment(history, 'c1', 1, null, { status: 200, body: { key, value: { count: 1, writer: 'c1#0' }, version: '1000-n1' } }, 0, 10);
    increment(history, 'c2', 1, null, { status: 412, body: { status: 412, currentVersion: '1000-n1' } }, 5, 15);
    increment(history, 'c3', 2, v1, { status: 503, body: { status: 503, title: 'Unavailable' } }, 20, 25);
    const unknown = increment(history, 'c1', 2, v1, { error: new DOMException('timed out', 'TimeoutError') }, 30, 40);
    assert.equal(unknown.outcome, 'unknown');
    serialRead(history, { status: 200, body: { key, value: { count: 2, writer: 'c1#30' }, version: '2000-n2' } }, 50, 60);
    increment(history, 'c2', 3, v2, { status: 200, body: { version: '3000-n3' } }, 70, 80);
    serialRead(history, { status: 200, body: { key, value: { count: 3, writer: 'c2#70' }, version: '3000-n3' } }, 90, 95);
    assert.deepEqual(checkLinearizable(history, nodeIds), []);
    assert.equal(counterProblem(history, 3), undefined);
  });

  it('flags two winners over one version, a read older than an acknowledged write, and a counter out of bounds', () => {
    const doubleWin = createHistory();
    increment(doubleWin, 'c1', 1, null, { status: 200, body: { version: '1000-n1' } }, 0, 10);
    increment(doubleWin, 'c1', 2, v1, { status: 200, body: { version: '2000-n2' } }, 20, 30);
    increment(doubleWin, 'c2', 2, v1, { status: 200, body: { version: '2001-n3' } }, 20, 30);
    assert.deepEqual(checkLinearizable(doubleWin, nodeIds).map((violation) => violation.kind), ['double-win']);
    assert.match(counterProblem(doubleWin, 2) ?? '', /below the 3 increments answered 200/);

    const staleRead = createHistory();
    increment(staleRead, 'c1', 1, null, { status: 200, body: { version: '1000-n1' } }, 0, 10);
    increment(staleRead, 'c1', 2, v1, { status: 200, body: { version: '2000-n2' } }, 20, 30);
    serialRead(staleRead, { status: 200, body: { key, value: { count: 1, writer: 'c1#0' }, version: '1000-n1' } }, 40, 50);
    assert.deepEqual(checkLinearizable(staleRead, nodeIds).map((violation) => violation.kind), ['not-linearizable']);

    const refusedApplied = createHistory();
    increment(refusedApplied, 'c1', 1, null, { status: 200, body: { version: '1000-n1' } }, 0, 10);
    increment(refusedApplied, 'c2', 2, v1, { status: 503, body: { status: 503 } }, 20, 30);
    assert.match(counterProblem(refusedApplied, 2) ?? '', /above the 1 answered 200 plus the 0 of unknown outcome/);
    // A 412 naming a version no write made is a refusal on a phantom.
    increment(refusedApplied, 'c3', 2, v1, { status: 412, body: { currentVersion: `${v2b.hlc}-${v2b.nodeId}` } }, 40, 50);
    assert.deepEqual(checkLinearizable(refusedApplied, nodeIds).map((violation) => violation.kind), ['not-linearizable']);
  });

  it('classifies answers as THE CONTRACT defines them', () => {
    assert.equal(classifyWriteAnswer({ status: 504, body: {} }, v1).outcome, 'unknown');
    assert.equal(classifyWriteAnswer({ status: 503, body: {} }, v1).outcome, 'failed');
    assert.equal(classifyWriteAnswer({ error: new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }) }, v1).outcome, 'failed');
    assert.equal(classifyWriteAnswer({ error: new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }) }, v1).outcome, 'unknown');
    const absent = classifyWriteAnswer({ status: 412, body: { currentVersion: null } }, v1);
    assert.deepEqual([absent.outcome, absent.details.preconditionFailed, absent.details.read], ['failed', true, { found: false }]);
    const deleted = classifyWriteAnswer({ status: 412, body: { currentVersion: '5-n2', deleted: true } }, null);
    assert.deepEqual(deleted.details.read, { found: true, tombstone: true, value: undefined, version: { hlc: 5, nodeId: 'n2' } });
    assert.ok(classifyWriteAnswer({ status: 400, body: { title: 'Bad If-Match' } }, v1).unexpected);
    assert.ok(classifyWriteAnswer({ status: 412, body: { title: 'no version' } }, v1).unexpected);
    assert.deepEqual(classifyReadAnswer({ status: 404, body: {} }).details.read, { found: false });
    assert.ok(classifyReadAnswer({ status: 200, body: { value: 'not a counter', version: '1-n1' } }).unexpected);
  });
});

describe('conditional writes on real processes', () => {
  it('stay linearizable and count every acknowledged increment under kill -9, restart and (in namespaces) a partition', { timeout: 120_000 }, async (t) => {
    // CAS_NETWORK=loopback runs the fallback (kill and restart only) where namespaces work.
    const seed = parseSeed(process.env.CAS_SEED) ?? SeededRandom.freshSeed();
    t.diagnostic(`cas seed ${seed} (replay the clients' choices: CAS_SEED=${seed} node scripts/run-tests.mjs cas.test)`);
    const result = await runCounterScenario({
      seed,
      clients: 6,
      key: 'cas-counter',
      workloadMs: 15_000,
      killAtMs: 2500,
      killHoldMs: 2500,
      partitionAtMs: 8500,
      partitionHoldMs: 3500,
      requestTimeoutMs: 4000,
      replicaTimeoutMs: 1000,
      loopbackOnly: process.env.CAS_NETWORK === 'loopback',
      log: (line) => t.diagnostic(line),
    });
    if (result.network === 'loopback') {
      const message = `partition skipped, no network namespaces (${result.fallbackReason ?? 'unknown reason'}): ran on loopback with kill -9 and restart only`;
      t.diagnostic(message);
      console.warn(`cas: ${message}`);
    }
    for (const fault of result.faults) t.diagnostic(fault);
    const where = result.passed ? '' : ` (history and node logs kept in ${result.runDir})`;
    assert.deepEqual(result.problems, [], `harness problems${where}`);
    assert.deepEqual(result.unexpected, [], `answers outside THE CONTRACT${where}`);
    assert.deepEqual(result.violations.map((violation) => violation.message), [], `linearizability violations${where}`);
    assert.equal(result.counterProblem, undefined, `${result.counterProblem ?? ''}${where}`);
    const writes = result.history.operations.filter((operation) => operation.kind === 'put');
    const acknowledged = writes.filter((operation) => operation.outcome === 'ok').length;
    const refused = writes.filter((operation) => operation.preconditionFailed === true).length;
    t.diagnostic(`${acknowledged} increments answered 200, ${refused} answered 412, counter at ${result.finalCount ?? '?'}`);
    assert.ok(acknowledged >= 30, `only ${acknowledged} increments succeeded: too few to mean anything`);
    assert.ok(refused >= 5, `only ${refused} increments were refused: the clients did not contend`);
    assert.equal(result.faults.length, result.network === 'namespaces' ? 4 : 2, 'every planned fault happened');
  });
});
