// Floods one node of a real 3-node LMDB cluster with 1 MiB PUTs over 32 connections while a
// light client reads through it, and checks the node sheds the excess (503 problem+json with
// Retry-After, nothing written), writes every PUT it acknowledged, keeps its memory bounded
// and keeps serving the light client. Latency targets belong to the benchmark (bench/flood-bench.ts).
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startCluster, type TestCluster } from './support/cluster.js';

// Enough to overload a node on a 2-core machine many times over, small enough for the suite (~20 s).
const floodPuts = 800;
const floodConnections = 32;
const valueBytes = 1024 * 1024;
const floodDeadlineMs = 60_000;
const rssBytesMax = 500 * 1024 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on `agent`'s connections, bounded by a 30 s timeout. */
function send(agent: Agent, url: string, method: string, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, timeout: 30_000, headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} took over 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A 1 MiB JSON body whose value starts with the PUT's number, so a read shows which PUT it holds. */
function floodBody(index: number): Buffer {
  const head = `{"value":"put-${index}-`;
  return Buffer.from(head + 'x'.repeat(valueBytes - head.length - 2) + '"}');
}

async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((row) => row.startsWith('process_resident_memory_bytes'));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

describe('overload', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startCluster({ nodes: 3, storage: 'lmdb' });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('sheds a 1 MiB PUT flood with 503 + Retry-After, writes exactly what it acknowledged, and stays bounded', async () => {
    const target = cluster.nodes[0]!.url;
    const floodAgent = new Agent({ keepAlive: true, maxSockets: floodConnections });
    const lightAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await send(lightAgent, `${target}/store/light`, 'PUT', Buffer.from('{"value":"small"}'))).status, 200);
    const answers = new Map<number, Answer>();
    let rssMaxBytes = await residentBytes(target);
    const rssBeforeBytes = rssMaxBytes;
    const lightMs: number[] = [];
    let lightFailures = 0;
    let flooding = true;
    const deadlineMs = Date.now() + floodDeadlineMs;

    let next = 0;
    const floodWorker = async () => {
      while (next < floodPuts && Date.now() < deadlineMs) {
        const index = next++;
        // A failed request is recorded, not thrown: the assertions below list every one.
        const answer = await send(floodAgent, `${target}/store/flood-${index}`, 'PUT', floodBody(index)).catch(
          (error: NodeJS.ErrnoException): Answer => ({ status: 0, headers: {}, body: `${error.code ?? ''} ${error.message}` }),
        );
        answers.set(index, answer);
      }
    };
    const lightReader = async () => {
      while (flooding) {
        const startedAt = performance.now();
        const status = await send(lightAgent, `${target}/store/light`, 'GET').then((answer) => answer.status, () => 0);
        lightMs.push(performance.now() - startedAt);
        if (status !== 200) lightFailures++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const memorySampler = async () => {
      while (flooding) {
        rssMaxBytes = Math.max(rssMaxBytes, await residentBytes(target).catch(() => 0));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const watchers = Promise.all([lightReader(), memorySampler()]);
    await Promise.all(Array.from({ length: floodConnections }, floodWorker));
    flooding = false;
    await watchers;
    floodAgent.destroy();

    const accepted = [...answers].filter(([, answer]) => answer.status === 200).map(([index]) => index);
    const shed = [...answers].filter(([, answer]) => answer.status === 503);
    const other = [...answers].filter(([, answer]) => answer.status !== 200 && answer.status !== 503);
    lightMs.sort((a, b) => a - b);
    const p99 = lightMs[Math.floor(lightMs.length * 0.99)] ?? 0;
    process.stdout.write(
      `# flood: ${answers.size} PUTs, ${accepted.length} accepted, ${shed.length} shed; light GET p99 ${p99.toFixed(1)} ms over ${lightMs.length}; ` +
        `node RSS ${Math.round(rssBeforeBytes / 2 ** 20)} -> max ${Math.round(rssMaxBytes / 2 ** 20)} MiB\n`,
    );

    assert.equal(answers.size, floodPuts, 'the flood finished within its deadline');
    assert.deepEqual(other.map(([index, answer]) => `${index}: ${answer.status} ${answer.body.slice(0, 200)}`), [], 'every PUT was accepted or shed');
    assert.ok(shed.length > 0, 'the node shed part of the flood');
    assert.ok(accepted.length > 0, 'the node kept accepting writes under the flood');
    for (const [, answer] of shed) {
      assert.ok(Number(answer.headers['retry-after']) >= 1, 'a shed PUT says when to retry');
      assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
      const problem = JSON.parse(answer.body) as { type: string; detail: string };
      assert.equal(problem.type, 'urn:ringkv:problem:overloaded');
      assert.match(problem.detail, /overloaded, nothing written/);
    }
    assert.equal(lightFailures, 0, 'the light client was served throughout');
    assert.ok(rssMaxBytes < rssBytesMax, `node RSS peaked at ${Math.round(rssMaxBytes / 2 ** 20)} MiB (limit ${rssBytesMax / 2 ** 20})`);

    // Nothing half-written: every acknowledged PUT reads back as itself, every shed one is absent.
    const reader = new Agent({ keepAlive: true, maxSockets: 8 });
    let cursor = 0;
    const checks = [...accepted.map((index) => ({ index, written: true })), ...shed.map(([index]) => ({ index, written: false }))];
    const checker = async () => {
      while (cursor < checks.length) {
        const { index, written } = checks[cursor++]!;
        const answer = await send(reader, `${target}/store/flood-${index}`, 'GET');
        if (written) {
          assert.equal(answer.status, 200, `acknowledged PUT ${index} reads back`);
          assert.ok(answer.body.includes(`"put-${index}-x`), `flood-${index} holds its own value`);
        } else {
          assert.equal(answer.status, 404, `shed PUT ${index} wrote nothing`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, checker));
    reader.destroy();
    lightAgent.destroy();
  });
});
