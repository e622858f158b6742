// Runs the compiled CLI's data and ring commands as a user would (`ringkv put|get|del|ls|
// status ... --node <url>`) against real nodes started in this process (one open, one with
// API tokens) and a silent socket, and checks output, --json, values from files and stdin,
// failing over between --node values, conditional writes (--if-match, --if-none-match, a
// refused condition exits 3) and serial reads, expiring keys (--ttl, expiresAt printed, gone
// after it), --idempotency-key (a repeat answers the first outcome, a reuse exits 3, a keyed
// write fails over after no answer and waits out a 409 in flight), `ls --cluster` on a 3-node
// cluster with one replica per key (the whole cluster, across more than one page, against one
// node's own list), and the exit code of every kind of outcome.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RingkvClient } from '@ringkv/client';
import { startTestCluster, type TestCluster } from './api/test-cluster.js';
import { nodeConfigDefaults } from './config.js';
import { startNode, type RunningNode } from './node.js';
import { createToken } from './security/auth-tokens.js';

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const commandTimeoutMs = 30_000;
let running: RunningNode;
let guarded: RunningNode;
let readToken: string;
let dataDir: string;
/** Accepts connections and never answers: a node that is frozen or a network that ate the reply. */
let silent: Server;
let silentAddress: string;
const silentSockets = new Set<Socket>();
/** A port nothing listens on: connections are refused. */
let closedAddress: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ringkv-data-commands-'));
  running = await startNode({ ...nodeConfigDefaults, id: 'n1', port: 0, storage: 'memory', dataDir: join(dataDir, 'n1') });
  const authFile = join(dataDir, 'auth.json');
  readToken = createToken(authFile, { role: 'read', name: 'reader' }, Date.now()).token;
  guarded = await startNode({ ...nodeConfigDefaults, id: 'g1', port: 0, storage: 'memory', dataDir: join(dataDir, 'g1'), authFile });
  silent = createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentAddress = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedAddress = `127.0.0.1:${(closed.address() as { port: number }).port}`;
  await new Promise((resolve) => closed.close(resolve));
});

after(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await running.close();
  await guarded.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs the CLI without blocking this process, which serves the nodes it talks to. `--node` defaults to the open node. */
function ringkv(args: string[], options: { stdin?: string } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  // Only the variables a test sets: a RINGKV_* from the caller's shell must not leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RINGKV_')));
  const withNode = args.includes('--node') ? args : [...args, '--node', running.url];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cliPath, ...withNode], { encoding: 'utf8', timeout: commandTimeoutMs, env }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
    child.stdin?.end(options.stdin ?? '');
  });
}

describe('ringkv get, put, del, ls and status', () => {
  it('puts JSON and text, gets them back as JSON, and lists the keys', async () => {
    const put = await ringkv(['put', 'app/config', '{"retries":3}']);
    assert.equal(put.status, 0, put.stderr);
    assert.match(put.stdout, /^\d+-n1\n$/, 'the version');
    assert.match(put.stderr, /stored "app\/config" on 1 replica/);
    assert.equal((await ringkv(['put', 'greeting', 'hello world', '--w', 'all'])).status, 0);
    const get = await ringkv(['get', 'app/config']);
    assert.equal(get.status, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout), { retries: 3 });
    assert.equal((await ringkv(['get', 'greeting', '--r', 'one'])).stdout, '"hello world"\n');
    assert.equal((await ringkv(['ls', '--prefix', 'app/'])).stdout, 'app/config\n');
    assert.equal((await ringkv(['keys', '--prefix', 'app/', '--local'])).stdout, 'app/config\n', 'keys is an alias of ls');
  });

  it('takes values from a file, from stdin, and as a string when told', async () => {
    const file = join(dataDir, 'value.json');
    writeFileSync(file, '{"from": "file"}\n');
    assert.equal((await ringkv(['put', 'v/file', '--file', file])).status, 0);
    assert.deepEqual(JSON.parse((await ringkv(['get', 'v/file'])).stdout), { from: 'file' });
    assert.equal((await ringkv(['put', 'v/stdin', '-'], { stdin: 'line one\nline two\n' })).status, 0);
    assert.equal((await ringkv(['get', 'v/stdin'])).stdout, '"line one\\nline two\\n"\n', 'text from stdin is taken exactly');
    assert.equal((await ringkv(['put', 'v/zip', '02134', '--string'])).status, 0);
    assert.equal((await ringkv(['get', 'v/zip'])).stdout, '"02134"\n');
    assert.equal((await ringkv(['put', 'v/number', '2134'])).status, 0);
    assert.equal((await ringkv(['get', 'v/number'])).stdout, '2134\n');
    const both = await ringkv(['put', 'v/both', 'x', '--file', file]);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /either as an argument or with --file, not both/);
    const none = await ringkv(['put', 'v/none']);
    assert.equal(none.status, 2);
    const absent = await ringkv(['put', 'v/absent', '--file', join(dataDir, 'absent.json')]);
    assert.equal(absent.status, 2);
    assert.match(absent.stderr, /cannot read .*absent\.json \(ENOENT\)/);
  });

  it('prints one JSON document per command with --json', async () => {
    const put = await ringkv(['put', 'j/1', '[1,2]', '--json']);
    assert.equal(put.status, 0, put.stderr);
    const receipt = JSON.parse(put.stdout) as { key: string; version: string; acks: number };
    assert.deepEqual({ key: receipt.key, acks: receipt.acks }, { key: 'j/1', acks: 1 });
    const get = JSON.parse((await ringkv(['get', 'j/1', '--json'])).stdout) as { key: string; value: unknown; version: string };
    assert.deepEqual(get, { key: 'j/1', value: [1, 2], version: receipt.version });
    const listed = JSON.parse((await ringkv(['ls', '--prefix', 'j/', '--json'])).stdout) as { keys: string[]; scope: string };
    assert.deepEqual(listed.keys, ['j/1']);
    assert.equal(listed.scope, 'node');
    const deleted = JSON.parse((await ringkv(['del', 'j/1', '--json'])).stdout) as { deleted: boolean };
    assert.equal(deleted.deleted, true);
    const missing = await ringkv(['get', 'j/1', '--json']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
    assert.deepEqual(JSON.parse(missing.stderr), { error: { message: 'key "j/1" does not exist (or was deleted)', status: 404 }, exitCode: 1 });
  });

  it('shows the members in a table, or /cluster as JSON', async () => {
    const table = await ringkv(['status']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^cluster ringkv .*1 member, 1 up, N=3, ring stable$/m);
    assert.match(table.stdout, /^NODE +ADDRESS +STATE +RING +SHARE$/m);
    assert.match(table.stdout, /^n1 +127\.0\.0\.1:\d+ +up +normal +100\.0%$/m);
    const cluster = JSON.parse((await ringkv(['status', '--json'])).stdout) as { members: Array<{ nodeId: string }> };
    assert.deepEqual(cluster.members.map((member) => member.nodeId), ['n1']);
  });

  it('deletes (del and delete), and then get exits 1 saying the key does not exist', async () => {
    assert.equal((await ringkv(['put', 'gone', '1'])).status, 0);
    assert.equal((await ringkv(['del', 'gone'])).status, 0);
    assert.equal((await ringkv(['put', 'gone2', '1'])).status, 0);
    assert.equal((await ringkv(['delete', 'gone2'])).status, 0);
    const get = await ringkv(['get', 'gone']);
    assert.equal(get.status, 1);
    assert.equal(get.stdout, '');
    assert.match(get.stderr, /"gone" does not exist/);
  });
});

describe('conditional writes and serial reads', () => {
  it('put --if-none-match creates once; put and del --if-match apply only over the version given', async () => {
    const created = await ringkv(['put', 'cas/a', '1', '--if-none-match']);
    assert.equal(created.status, 0, created.stderr);
    const version = created.stdout.trim();
    assert.match(created.stderr, /stored "cas\/a" on at least 1 replica \(a majority; the condition held\)/);
    const again = await ringkv(['put', 'cas/a', '2', '--if-none-match', '--json']);
    assert.equal(again.status, 3, again.stderr);
    const refusal = JSON.parse(again.stderr) as { error: { status: number; currentVersion: string | null; message: string }; exitCode: number };
    assert.deepEqual([refusal.error.status, refusal.error.currentVersion, refusal.exitCode], [412, version, 3]);
    const updated = await ringkv(['put', 'cas/a', '2', '--if-match', version]);
    assert.equal(updated.status, 0, updated.stderr);
    const stale = await ringkv(['put', 'cas/a', '3', '--if-match', version]);
    assert.equal(stale.status, 3, stale.stderr);
    assert.match(stale.stderr, new RegExp(`^ringkv: the key's version is ${updated.stdout.trim()}, not ${version}; nothing was written`));
    const serial = await ringkv(['get', 'cas/a', '--r', 'serial', '--json']);
    assert.deepEqual(JSON.parse(serial.stdout), { key: 'cas/a', value: 2, version: updated.stdout.trim() });
    assert.equal((await ringkv(['del', 'cas/a', '--if-match', version])).status, 3, 'a stale delete is refused');
    assert.equal((await ringkv(['del', 'cas/a', '--if-match', updated.stdout.trim()])).status, 0);
    const gone = await ringkv(['put', 'cas/a', '4', '--if-match', updated.stdout.trim(), '--json']);
    assert.equal(gone.status, 3);
    assert.equal((JSON.parse(gone.stderr) as { error: { deleted?: boolean } }).error.deleted, true);
    assert.equal((await ringkv(['get', 'cas/a', '--r', 'serial'])).status, 1);
  });

  it('refuses conflicting flags (exit 2) and a malformed version (400, exit 2), storing nothing', async () => {
    const both = await ringkv(['put', 'cas/b', '1', '--if-match', '1-n1', '--if-none-match']);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /not both/);
    const withW = await ringkv(['put', 'cas/b', '1', '--if-none-match', '--w', 'all']);
    assert.equal(withW.status, 2);
    assert.match(withW.stderr, /majority of the key's replicas; drop --w/);
    const malformed = await ringkv(['put', 'cas/b', '1', '--if-match', 'not-a-version!']);
    assert.equal(malformed.status, 2, malformed.stderr);
    assert.match(malformed.stderr, /is not a ringkv version/);
    assert.equal((await ringkv(['get', 'cas/b'])).status, 1, 'nothing was stored');
  });

  it('goes on to the next --node only when the conditional write never reached a node', async () => {
    const refused = await ringkv(['put', 'cas/c', '1', '--if-none-match', '--node', closedAddress, '--node', running.url]);
    assert.equal(refused.status, 0, refused.stderr);
    const unanswered = await ringkv(['put', 'cas/c', '2', '--if-none-match', '--timeout-ms', '500', '--node', silentAddress, '--node', running.url]);
    assert.equal(unanswered.status, 4, unanswered.stderr);
    assert.equal((await ringkv(['get', 'cas/c'])).stdout, '1\n');
  });
});

describe('expiring keys (--ttl)', () => {
  it('put --ttl prints when the key expires, get prints it too, and a put without --ttl makes the key permanent', async () => {
    const startedMs = Date.now();
    const put = await ringkv(['put', 'ttl/a', '{"n":1}', '--ttl', '3600']);
    assert.equal(put.status, 0, put.stderr);
    assert.match(put.stderr, /^expires at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in (59 min \d+ s|1 h 0 min)\)$/m);
    const get = await ringkv(['get', 'ttl/a', '--json']);
    assert.equal(get.status, 0, get.stderr);
    const read = JSON.parse(get.stdout) as { value: unknown; version: string; expiresAt: string };
    assert.equal(read.version, put.stdout.trim());
    const aheadMs = Date.parse(read.expiresAt) - startedMs;
    assert.ok(aheadMs > 3_590_000 && aheadMs < 3_610_000, `expiresAt ${read.expiresAt} is not an hour after the put`);
    assert.match((await ringkv(['get', 'ttl/a'])).stderr, new RegExp(`^version ${read.version}\nexpires at ${read.expiresAt.replace(/\./g, '\\.')} \\(in `));
    const putJson = JSON.parse((await ringkv(['put', 'ttl/a', '2', '--ttl', '60', '--json'])).stdout) as { expiresAt?: string };
    assert.ok(putJson.expiresAt !== undefined && Date.parse(putJson.expiresAt) - Date.now() <= 60_000, 'the new ttl replaces the old one');
    assert.equal((await ringkv(['put', 'ttl/a', '3'])).status, 0);
    const permanent = JSON.parse((await ringkv(['get', 'ttl/a', '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(permanent), ['key', 'value', 'version'], 'no expiresAt');
    assert.doesNotMatch((await ringkv(['get', 'ttl/a'])).stderr, /expires/);
  });

  it('a key is gone (exit 1) once its ttl has passed, and not listed', async () => {
    assert.equal((await ringkv(['put', 'ttl/short', '1', '--ttl', '1'])).status, 0);
    assert.equal((await ringkv(['ls', '--prefix', 'ttl/short'])).stdout, 'ttl/short\n');
    const deadlineMs = Date.now() + 10_000;
    let get = await ringkv(['get', 'ttl/short']);
    while (get.status === 0 && Date.now() < deadlineMs) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      get = await ringkv(['get', 'ttl/short']);
    }
    assert.equal(get.status, 1, get.stderr);
    assert.equal((await ringkv(['ls', '--prefix', 'ttl/short'])).stdout, '');
  });

  it('refuses a ttl that is not a whole number from 1 to 630720000 (exit 2), storing nothing', async () => {
    for (const ttl of ['0', '-5', '630720001']) {
      const put = await ringkv(['put', 'ttl/bad', '1', '--ttl', ttl]);
      assert.equal(put.status, 2, `--ttl ${ttl}: ${put.stderr}`);
      assert.match(put.stderr, /ttl/);
    }
    assert.equal((await ringkv(['put', 'ttl/bad', '1', '--ttl', '1.5'])).status, 2);
    assert.equal((await ringkv(['get', 'ttl/bad'])).status, 1, 'nothing was stored');
  });
});

describe('--idempotency-key', () => {
  it('a repeated put or del answers the first outcome and writes nothing new; the key with another value exits 3', async () => {
    const first = await ringkv(['put', 'idem/a', '1', '--idempotency-key', 'cli-put-1']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /^stored "idem\/a" on at least 1 replica \(a majority\)$/m);
    const again = await ringkv(['put', 'idem/a', '1', '--idempotency-key', 'cli-put-1', '--json']);
    assert.equal(again.status, 0, again.stderr);
    const replayed = JSON.parse(again.stdout) as { version: string; replayed?: boolean };
    assert.deepEqual([replayed.version, replayed.replayed], [first.stdout.trim(), true]);
    assert.match((await ringkv(['put', 'idem/a', '1', '--idempotency-key', 'cli-put-1'])).stderr, /already stored "idem\/a" by an earlier request/);
    const reused = await ringkv(['put', 'idem/a', '2', '--idempotency-key', 'cli-put-1', '--json']);
    assert.equal(reused.status, 3, reused.stderr);
    assert.equal((JSON.parse(reused.stderr) as { error: { status: number } }).error.status, 422);
    assert.equal((await ringkv(['get', 'idem/a'])).stdout, '1\n', 'nothing new was written');

    const deleted = await ringkv(['del', 'idem/a', '--idempotency-key', 'cli-del-1']);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.equal((await ringkv(['put', 'idem/a', '5'])).status, 0);
    const deletedAgain = await ringkv(['del', 'idem/a', '--idempotency-key', 'cli-del-1', '--json']);
    assert.equal(deletedAgain.status, 0, deletedAgain.stderr);
    const replayedDelete = JSON.parse(deletedAgain.stdout) as { key: string; version: string; replayed?: boolean };
    assert.deepEqual([replayedDelete.key, replayedDelete.version, replayedDelete.replayed], ['idem/a', deleted.stdout.trim(), true]);
    assert.equal((await ringkv(['get', 'idem/a'])).stdout, '5\n', 'the repeated delete did not delete the newer value');
  });

  it('sends a keyed write on to the next node after no answer, and refuses bad keys and --w (exit 2) before sending', async () => {
    const put = await ringkv(['put', 'idem/b', '"x"', '--idempotency-key', 'cli-put-2', '--timeout-ms', '500', '--node', silentAddress, '--node', running.url]);
    assert.equal(put.status, 0, put.stderr);
    assert.equal((await ringkv(['get', 'idem/b'])).stdout, '"x"\n');
    const tooLong = await ringkv(['put', 'idem/c', '1', '--idempotency-key', 'k'.repeat(256)]);
    assert.equal(tooLong.status, 2);
    assert.match(tooLong.stderr, /at most 255 characters/);
    assert.equal((await ringkv(['del', 'idem/b', '--idempotency-key', 'has space'])).status, 2);
    const withW = await ringkv(['put', 'idem/c', '1', '--idempotency-key', 'cli-put-3', '--w', 'all']);
    assert.equal(withW.status, 2);
    assert.match(withW.stderr, /drop --w/);
    assert.equal((await ringkv(['get', 'idem/c'])).status, 1, 'nothing was stored');
  });

  it('asks again after the Retry-After of a 409 saying the first request is still in flight', async () => {
    // A stand-in node, because a real one cannot be held mid-write on cue: 409 in flight first, then the replayed outcome.
    const asked: Array<{ key: string | undefined; atMs: number }> = [];
    const node = createHttpServer((request: IncomingMessage, response) => {
      asked.push({ key: request.headers['idempotency-key'] as string | undefined, atMs: Date.now() });
      if (asked.length === 1) {
        const problem = { type: 'urn:ringkv:problem:idempotency-key-in-flight', title: 'In flight', status: 409, detail: 'still in flight; retry after 1 s' };
        response.writeHead(409, { 'content-type': 'application/problem+json', 'retry-after': '1' }).end(JSON.stringify(problem));
      } else {
        response.writeHead(200, { 'content-type': 'application/json', 'idempotent-replayed': 'true', 'x-ringkv-acks': '2' }).end(JSON.stringify({ key: 'idem/d', value: 1, version: '7-n2' }));
      }
    });
    await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
    try {
      const put = await ringkv(['put', 'idem/d', '1', '--idempotency-key', 'cli-put-4', '--node', `127.0.0.1:${(node.address() as { port: number }).port}`]);
      assert.equal(put.status, 0, put.stderr);
      assert.equal(put.stdout, '7-n2\n');
      assert.match(put.stderr, /already stored "idem\/d" by an earlier request/);
      assert.deepEqual(asked.map((request) => request.key), ['cli-put-4', 'cli-put-4']);
      assert.ok(asked[1]!.atMs - asked[0]!.atMs >= 950, `asked again after ${asked[1]!.atMs - asked[0]!.atMs} ms, before the Retry-After`);
    } finally {
      node.closeAllConnections();
      await new Promise((resolve) => node.close(resolve));
    }
  });
});

describe('ls --cluster', () => {
  let spread: TestCluster;
  /** More than one page of the CLI's 1000 keys, each key on one node only (N=1). */
  const treeKeys = Array.from({ length: 1_050 }, (_, index) => `tree/${String(index).padStart(4, '0')}`);
  const slashKeys = ['tree/a/b/c', 'tree/a/b'];
  const allTreeKeys = [...treeKeys, ...slashKeys].sort();

  before(async () => {
    spread = await startTestCluster('ls-cluster', () => ({ replicas: 1 }));
    const client = new RingkvClient({ baseUrl: spread.nodes[0]!.url });
    for (let start = 0; start < treeKeys.length; start += 500) {
      const answer = await client.batch(treeKeys.slice(start, start + 500).map((key) => ({ op: 'put' as const, key, value: key })));
      assert.ok(answer.results.every((result) => result.status === 200), 'every batch put was stored');
    }
    for (const key of slashKeys) await client.put(key, key);
  });

  after(() => spread.close());

  it('lists every live key of the cluster once, in order, across pages; plain ls lists only the asked node', async () => {
    const [first, second] = spread.nodes.map((node) => node.url);
    const listed = await ringkv(['keys', '--cluster', '--prefix', 'tree/', '--node', first!]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(listed.stdout.split('\n').slice(0, -1), allTreeKeys);
    const local = await ringkv(['ls', '--prefix', 'tree/', '--node', first!]);
    assert.equal(local.status, 0, local.stderr);
    const localKeys = local.stdout.split('\n').slice(0, -1);
    assert.ok(localKeys.length > 0 && localKeys.length < allTreeKeys.length, `the node holds ${localKeys.length} of ${allTreeKeys.length}: its own share`);
    assert.ok(localKeys.every((key) => allTreeKeys.includes(key)));

    const json = await ringkv(['ls', '--cluster', '--prefix', 'tree/a/', '--json', '--node', second!]);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { scope: 'cluster', prefix: 'tree/a/', keys: ['tree/a/b', 'tree/a/b/c'] });
  });

  it('leaves out deleted keys, asks the next --node when one is down, and refuses --cluster with --local', async () => {
    const client = new RingkvClient({ baseUrl: spread.nodes[2]!.url });
    await client.delete('tree/a/b');
    const listed = await ringkv(['keys', '--cluster', '--prefix', 'tree/a', '--node', closedAddress, '--node', spread.nodes[1]!.url]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal(listed.stdout, 'tree/a/b/c\n');
    const both = await ringkv(['ls', '--cluster', '--local', '--node', spread.nodes[0]!.url]);
    assert.equal(both.status, 2, both.stderr);
    assert.match(both.stderr, /--cluster.*--local|--local.*--cluster/);
    const help = await ringkv(['keys', '--help']);
    assert.match(help.stdout.replace(/\s+/g, ' '), /By default the keys ONE node stores .* with --cluster every live key of the whole cluster/);
  });
});

describe('several --node values', () => {
  it('asks the next node when one refuses the connection, for reads and writes', async () => {
    const put = await ringkv(['put', 'fo/1', '"x"', '--node', closedAddress, '--node', running.url]);
    assert.equal(put.status, 0, put.stderr);
    const get = await ringkv(['get', 'fo/1', '--node', `${closedAddress},${running.url}`]);
    assert.equal(get.status, 0, get.stderr);
    assert.equal(get.stdout, '"x"\n');
  });

  it('moves on from a node that does not answer for a read, but not for a write (exit 4: outcome unknown)', async () => {
    const get = await ringkv(['get', 'fo/1', '--timeout-ms', '500', '--node', silentAddress, '--node', running.url]);
    assert.equal(get.status, 0, get.stderr);
    const put = await ringkv(['put', 'fo/unknown', '1', '--timeout-ms', '500', '--node', silentAddress, '--node', running.url]);
    assert.equal(put.status, 4, put.stderr);
    assert.match(put.stderr, /did not answer in time; a change it was asked for may or may not have been made/);
    assert.equal((await ringkv(['get', 'fo/unknown'])).status, 1, 'the write was not sent to the next node');
  });

  it('exits 3 when no node is reachable, naming each', async () => {
    const get = await ringkv(['get', 'k', '--node', closedAddress, '--node', closedAddress.replace('127.0.0.1', 'localhost')]);
    assert.equal(get.status, 3);
    assert.match(get.stderr, /no node could serve the request: 127\.0\.0\.1:\d+: .*; localhost:\d+/);
  });
});

describe('exit codes', () => {
  it('2 for a bad level (400) and for usage errors', async () => {
    const put = await ringkv(['put', 'k', '1', '--w', 'most']);
    assert.equal(put.status, 2);
    assert.match(put.stderr, /^ringkv: unknown consistency level w="most"/);
    assert.doesNotMatch(put.stderr, /\bat .*\.js:\d+/);
    assert.equal((await ringkv(['get'])).status, 2, 'missing argument');
    assert.equal((await ringkv(['frobnicate'])).status, 2, 'unknown command');
  });

  it('3 when the ring cannot give the replicas asked for (503: nothing written)', async () => {
    const put = await ringkv(['put', 'k', '1', '--w', '2']);
    assert.equal(put.status, 3, put.stderr);
    assert.equal((await ringkv(['get', 'k'])).status, 1);
  });

  it('5 without a token or with one that may not write (401, 403)', async () => {
    const anonymous = await ringkv(['get', 'k', '--node', guarded.url]);
    assert.equal(anonymous.status, 5, anonymous.stderr);
    const reader = await ringkv(['put', 'k', '1', '--token', readToken, '--node', guarded.url]);
    assert.equal(reader.status, 5, reader.stderr);
    assert.equal((await ringkv(['get', 'k', '--token', readToken, '--node', guarded.url])).status, 1, 'a read token reads');
  });

  it('the ring commands: 1 for an unknown member or job, 2 for leave with two nodes', async () => {
    const remove = await ringkv(['remove', 'n9', '--no-wait']);
    assert.equal(remove.status, 1, remove.stderr);
    const pause = await ringkv(['jobs', 'pause', 'transfer-none']);
    assert.equal(pause.status, 1, pause.stderr);
    assert.match(pause.stderr, /no job transfer-none/);
    const leave = await ringkv(['leave', '--node', `${running.url},${closedAddress}`]);
    assert.equal(leave.status, 2);
    assert.match(leave.stderr, /--node names one node for this command/);
    // Asked of another member through this node: its id unknown, or its refusal passed on.
    const unknown = await ringkv(['join', '--member', 'n9', '--no-wait']);
    assert.equal(unknown.status, 1, unknown.stderr);
    assert.match(unknown.stderr, /no member is called n9/);
    const normal = await ringkv(['join', '--member', running.nodeId, '--no-wait']);
    assert.equal(normal.status, 3, normal.stderr);
    assert.match(normal.stderr, /is normal, not on standby/);
  });

  it('jobs pace sets the transfer cap, `jobs` shows it, and a bad cap or member is refused', async () => {
    const set = await ringkv(['jobs', 'pace', '12.5']);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /transfers capped at 12\.5 MB\/s/);
    assert.match((await ringkv(['jobs'])).stdout, /pace .*transfers capped at 12\.5 MB\/s.*background share now/);
    const bad = await ringkv(['jobs', 'pace', 'fast']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /megabytes per second from 0/);
    const unknown = await ringkv(['jobs', 'pace', '5', '--member', 'n9']);
    assert.equal(unknown.status, 1, unknown.stderr);
    assert.match(unknown.stderr, /n9/);
    const lifted = await ringkv(['jobs', 'pace', '0']);
    assert.match(lifted.stdout, /no transfer cap/);
  });

  it('jobs pace --background-share-min sets the floor alone or with the cap, and a bad floor or neither is refused', async () => {
    const floor = await ringkv(['jobs', 'pace', '--background-share-min', '0.4']);
    assert.equal(floor.status, 0, floor.stderr);
    assert.match(floor.stdout, /no transfer cap.*floor 0\.40/);
    const both = await ringkv(['jobs', 'pace', '3', '--background-share-min', '0.1']);
    assert.equal(both.status, 0, both.stderr);
    assert.match(both.stdout, /transfers capped at 3 MB\/s.*floor 0\.10/);
    for (const args of [['--background-share-min', '0'], ['--background-share-min', 'high'], ['2', '--background-share-min', '1.5']]) {
      const bad = await ringkv(['jobs', 'pace', ...args]);
      assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, /floor is from 0\.01 to 1/);
    }
    const neither = await ringkv(['jobs', 'pace']);
    assert.equal(neither.status, 2, neither.stderr);
    assert.match(neither.stderr, /give a transfer cap in MB\/s, --background-share-min, or both/);
    assert.match((await ringkv(['jobs', 'pace', '0'])).stdout, /no transfer cap.*floor 0\.10/, 'the refused floors changed nothing');
  });
});
