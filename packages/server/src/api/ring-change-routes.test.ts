// Checks join and leave asked of another member through the node a caller talks to
// (POST /cluster/join?node=, /cluster/leave?node=), on a real 3-node cluster with an auth
// file and a fourth node on standby: admin only, 404 for an unknown member, the member's
// own refusal passed on, the change made on the member, and 502 when it does not answer;
// and, as a table, how each failure of the forwarded request becomes the caller's problem.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { RingkvError, type RingChange } from '@ringkv/client';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { createToken } from '../security/auth-tokens.js';
import { forwardedProblem, forwardedRingChangeProblem } from './ring-routes.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

type Caller = 'none' | 'read' | 'write' | 'admin';

const clusterName = 'ring-change';
/** A new ring settles this fast here, so a join of an empty node finishes in moments. */
const ringSettleMs = 200;
const joinFinishTimeoutMs = 15_000;

let dataDir: string;
let cluster: TestCluster;
let standby: RunningNode;
const tokens: Partial<Record<Caller, string>> = {};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringkv-ring-change-'));
  const authFile = join(dataDir, 'auth.json');
  for (const role of ['read', 'write', 'admin'] as const) tokens[role] = createToken(authFile, { role, name: `${role}-token` }, Date.now()).token;
  cluster = await startTestCluster(clusterName, () => ({ authFile, ringSettleMs }), 1);
  const seeds = cluster.nodes.map((running) => new URL(running.url).host);
  standby = await startNode(
    {
      ...nodeConfigDefaults,
      id: 'n4',
      port: cluster.sparePorts[0] as number,
      seeds,
      replicas: 3,
      storage: 'memory',
      dataDir: join(dataDir, 'n4'),
      clusterSecret: `${clusterName}-test-secret-0123456789`,
      probeIntervalMs: 200,
      readRepairChance: 0,
      authFile,
      ringSettleMs,
      standby: true,
    },
    pino({ level: 'silent' }),
  );
  await waitUntil(() => cluster.nodes.every((running) => running.node.membership.ringOf('n4') === 'standby' && running.node.membership.stateOf('n4') === 'up'), 'every member to list n4 up on standby');
}, { timeout: 40_000 });

after(async () => {
  await standby?.close();
  await cluster?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function post(index: number, url: string, caller: Caller) {
  const running = cluster.nodes[index] as RunningNode;
  const token = tokens[caller];
  return running.app.inject({ method: 'POST', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

function ringOf(index: number, nodeId: string) {
  return (cluster.nodes[index] as RunningNode).node.membership.ringOf(nodeId);
}

async function waitUntil(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  member?: string;
}

describe('join and leave asked of another member', () => {
  it('need an admin token: none is 401, read and write are 403, and the member stays as it was', async () => {
    for (const url of ['/cluster/join?node=n4', '/cluster/leave?node=n4']) {
      for (const [caller, status] of [['none', 401], ['read', 403], ['write', 403]] as const) {
        const answer = await post(0, url, caller);
        assert.equal(answer.statusCode, status, `${caller} ${url}: ${answer.body}`);
        assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
      }
    }
    assert.equal(ringOf(0, 'n4'), 'standby');
    assert.equal(standby.node.membership.ringOf('n4'), 'standby');
  });

  it('answer 404 naming a member nobody knows', async () => {
    for (const url of ['/cluster/join?node=n9', '/cluster/leave?node=n9']) {
      const answer = await post(1, url, 'admin');
      assert.equal(answer.statusCode, 404, answer.body);
      assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
      const problem = answer.json<ProblemBody>();
      assert.equal(problem.type, 'urn:ringkv:problem:no-such-member');
      assert.match(problem.detail, /n9/);
    }
  });

  it("pass on the member's refusal as the member answers it, naming the member", async () => {
    // n2 is normal, so it refuses to join; and with N=3 on three normal members it may not leave.
    for (const [url, direct, reason] of [
      ['/cluster/join?node=n2', '/cluster/join', /n2 is normal, not on standby/],
      ['/cluster/leave?node=n2', '/cluster/leave', /only 2 members would remain for 3 replicas/],
    ] as const) {
      const forwarded = await post(0, url, 'admin');
      assert.equal(forwarded.statusCode, 409, forwarded.body);
      assert.match(String(forwarded.headers['content-type']), /^application\/problem\+json/);
      const problem = forwarded.json<ProblemBody>();
      assert.match(problem.detail, reason);
      assert.equal(problem.member, 'n2');
      const asked = (await post(1, direct, 'admin')).json<ProblemBody>();
      assert.deepEqual({ type: problem.type, title: problem.title, status: problem.status, detail: problem.detail }, asked);
    }
    assert.equal(ringOf(0, 'n2'), 'normal');
  });

  it('move a standby member into the ring when asked through another node', async () => {
    const answer = await post(0, '/cluster/join?node=n4', 'admin');
    assert.equal(answer.statusCode, 202, answer.body);
    const change = answer.json<RingChange>();
    assert.equal(change.nodeId, 'n4');
    assert.equal(change.ringStatus, 'joining');
    assert.match(change.message, /^n4 is joining: .*; [1-3] other members? already holds? the change$/);
    // The member told this node before it answered.
    assert.notEqual(ringOf(0, 'n4'), 'standby');
  });

  it('decommission a member when asked through another node, once it is normal', async () => {
    await waitUntil(
      () => cluster.nodes.every((running) => running.node.membership.ringOf('n4') === 'normal' && running.node.placement.writes.length === 1),
      'n4 to finish joining',
      joinFinishTimeoutMs,
    );
    const answer = await post(1, '/cluster/leave?node=n4', 'admin');
    assert.equal(answer.statusCode, 202, answer.body);
    const change = answer.json<RingChange>();
    assert.deepEqual([change.nodeId, change.ringStatus], ['n4', 'leaving']);
    assert.match(change.message, /^n4 is leaving: /);
    assert.equal(ringOf(1, 'n4'), 'leaving');
  });

  it('answer 502 when the member does not answer, saying the change may not have begun', async () => {
    await standby.close();
    const answer = await post(2, '/cluster/leave?node=n4', 'admin');
    assert.equal(answer.statusCode, 502, answer.body);
    const problem = answer.json<ProblemBody>();
    assert.equal(problem.type, 'urn:ringkv:problem:member-unreachable');
    assert.equal(problem.member, 'n4');
    assert.match(problem.detail, /^n4 did not answer .*may or may not have begun/);
  });
});

describe('the problem a forwarded join or leave answers', () => {
  const refusal = (status: number, type: string, detail: string, extra: Record<string, unknown> = {}) =>
    new RingkvError({ type, title: 'Some title', status, detail, ...extra });

  it('keeps the member\'s status, type, title, detail and extra members, and names the member', () => {
    const problem = forwardedRingChangeProblem(refusal(409, 'urn:ringkv:problem:ring-change-refused', 'n2 is normal', { hint: 1 }), 'join', 'n2').problem;
    assert.deepEqual(problem, { type: 'urn:ringkv:problem:ring-change-refused', title: 'Some title', status: 409, detail: 'n2 is normal', hint: 1, member: 'n2' });
    const foreign = forwardedRingChangeProblem(refusal(503, 'about:blank', 'starting'), 'leave', 'n3').problem;
    assert.deepEqual([foreign.status, foreign.type, foreign.detail], [503, 'urn:ringkv:problem:member-problem', 'starting']);
  });

  it("turns a member's 401 into a 403, so a signed-in page is not sent back to its sign-in form", () => {
    const problem = forwardedRingChangeProblem(refusal(401, 'urn:ringkv:problem:unauthenticated', 'no valid token'), 'leave', 'n3').problem;
    assert.equal(problem.status, 403);
    assert.equal(problem.type, 'urn:ringkv:problem:member-refused-token');
    assert.match(problem.detail, /^n3 does not accept this token \(no valid token\); .*--auth-file/);
  });

  it('is a 502 naming the member for anything else, a timeout included', () => {
    for (const error of [new TypeError('fetch failed'), Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })]) {
      const problem = forwardedRingChangeProblem(error, 'join', 'n4').problem;
      assert.equal(problem.status, 502);
      assert.equal(problem.member, 'n4');
      assert.match(problem.detail, new RegExp(`^n4 did not answer \\(${error.message}\\), so its join may or may not have begun`));
    }
  });

  it('is the same for a forwarded pace or job control: a refusal passed on, or a 502 with its own advice', () => {
    // A member of an older version refuses a pace field it does not know: its 400, not a 502.
    const refused = forwardedProblem(refusal(400, 'urn:ringkv:problem:invalid-request', 'body must NOT have additional properties'), 'n3', 'retry').problem;
    assert.deepEqual([refused.status, refused.type, refused.member], [400, 'urn:ringkv:problem:invalid-request', 'n3']);
    const unanswered = forwardedProblem(new TypeError('fetch failed'), 'n3', 'retry, or check that it is up').problem;
    assert.deepEqual([unanswered.status, unanswered.detail], [502, 'n3 did not answer (fetch failed), retry, or check that it is up']);
  });
});
