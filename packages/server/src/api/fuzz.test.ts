// Fuzzes every route of a real in-memory node through inject() with fast-check: random
// methods, paths (the real route patterns with random and badly percent-encoded params),
// queries, headers and bodies. Checks no 5xx for bad input, every error is problem+json,
// a refused request stores nothing, and the node keeps serving. RINGKV_FUZZ_RUNS sets the
// number of runs (300 by default; `node scripts/fuzz-long.mjs` runs many more).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';

const runs = Number(process.env.RINGKV_FUZZ_RUNS ?? 300);
const seed = process.env.RINGKV_FUZZ_SEED === undefined ? undefined : Number(process.env.RINGKV_FUZZ_SEED);

let running: RunningNode;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringkv-fuzz-'));
  running = await startNode(
    { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir, clusterSecret: 'fuzz-test-secret', maxValueBytes: 4096, jsonDepthMax: 20 },
    pino({ level: 'silent' }),
  );
});

after(async () => {
  await running.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Route patterns as the API declares them; `{}` marks a parameter. */
const routePatterns = [
  '/store/{}', '/store/{}/replicas', '/store/', '/keys', '/status', '/health', '/node-info', '/metrics', '/cluster', '/cluster/ring',
  '/cluster/owners/{}', '/cluster/replicas/{}', '/cluster/keys', '/admin/records', '/admin/backup-cut', '/admin/restore', '/cluster/nodes', '/cluster/join', '/cluster/leave', '/cluster/remove/{}', '/repair', '/jobs', '/cluster/jobs', '/jobs/{}/pause',
  '/jobs/{}/resume', '/auth/me', '/admin/reload', '/docs/json', '/dashboard', '/nowhere/{}',
];

const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEFxz%'.split(''));
/** A path parameter: text encoded properly, raw, or with broken percent-escapes. */
const param = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
  fc.string({ maxLength: 20 }).map((text) => text.replace(/[\s#?/]/g, '_')),
  fc.tuple(fc.string({ maxLength: 5 }), hexDigit, hexDigit).map(([text, high, low]) => `${encodeURIComponent(text)}%${high}${low}`),
  fc.integer({ min: 1000, max: 3000 }).map((length) => 'k'.repeat(length)),
  fc.constantFrom('%', '%%', '%E0%A4%A', '%C0%AF', '..', '%00', 'a%2Fb', '__proto__', 'constructor'),
);

const path = fc.oneof(
  fc.tuple(fc.constantFrom(...routePatterns), param).map(([pattern, value]) => pattern.replace('{}', value)),
  fc.string({ maxLength: 30 }).map((text) => `/${encodeURIComponent(text)}`),
);

const queryValue = fc.oneof(fc.constantFrom('one', 'quorum', 'all', '0', '1', '2', '-1', '1.5', 'NaN', '', '%zz'), fc.string({ maxLength: 10 }).map(encodeURIComponent));
const query = fc
  .array(fc.tuple(fc.constantFrom('w', 'r', 'limit', 'cursor', 'prefix', 'node', 'x', '__proto__'), queryValue), { maxLength: 3 })
  .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}`));

const anyJson = fc.jsonValue({ maxDepth: 4 });
const body = fc.oneof(
  fc.constant(undefined),
  anyJson.map((value) => JSON.stringify({ value })),
  anyJson.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 60 }),
  fc.integer({ min: 15, max: 60 }).map((depth) => `{"value":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  fc.integer({ min: 4000, max: 4200 }).map((length) => `{"value":"${'x'.repeat(length)}"}`),
  fc.constantFrom('{"value":{"__proto__":{"polluted":1}}}', '{"value":1,"extra":2}', '{"value":', '[]', 'null', '{"value":"\\ud800"}'),
);

const contentType = fc.option(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data', ';;', 'application/problem+json'),
  { nil: undefined },
);

const request = fc.record({
  method: fc.constantFrom('GET', 'PUT', 'DELETE', 'POST', 'HEAD', 'OPTIONS', 'PATCH'),
  url: fc.tuple(path, query).map(([base, search]) => base + search),
  contentType,
  body,
  origin: fc.option(fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1:1'), { nil: undefined }),
  authorization: fc.option(fc.constantFrom('Bearer nonsense', 'Basic abc', 'Bearer', ''), { nil: undefined }),
});

/** What a refused request must leave unchanged: the live key count, and the key it named. */
async function storedState(method: string, url: string): Promise<string> {
  const status = await running.app.inject({ method: 'GET', url: '/status' });
  assert.equal(status.statusCode, 200, status.body);
  const keyCount = (status.json() as { keyCount: number }).keyCount;
  const keyPath = url.split('?')[0] ?? '';
  if ((method !== 'PUT' && method !== 'DELETE') || !keyPath.startsWith('/store/')) return String(keyCount);
  const read = await running.app.inject({ method: 'GET', url: keyPath });
  return `${keyCount} ${read.statusCode} ${read.body}`;
}

describe('HTTP fuzzing', () => {
  it(`answers ${runs} random requests without 5xx, with problem+json errors, storing nothing it refused`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        const before = await storedState(input.method, input.url);
        const headers: Record<string, string> = {};
        if (input.contentType !== undefined) headers['content-type'] = input.contentType;
        if (input.origin !== undefined) headers.origin = input.origin;
        if (input.authorization !== undefined) headers.authorization = input.authorization;
        const hasBody = input.body !== undefined && input.method !== 'GET' && input.method !== 'HEAD';
        const response = await running.app.inject({ method: input.method as 'GET', url: input.url, headers, ...(hasBody ? { payload: input.body } : {}) });
        // The node is healthy and alone: nothing it does for bad input may be a server error.
        assert.ok(response.statusCode < 500, `${response.statusCode} for ${input.method} ${input.url}: ${response.body}`);
        if (response.statusCode >= 400 && input.method !== 'HEAD') {
          assert.match(String(response.headers['content-type']), /^application\/problem\+json/, `${input.method} ${input.url}: ${response.body}`);
          const problem = response.json() as { type: unknown; title: unknown; status: unknown; detail: unknown };
          assert.equal(problem.status, response.statusCode);
          assert.ok(typeof problem.type === 'string' && problem.type.startsWith('urn:ringkv:problem:'), String(problem.type));
          assert.ok(typeof problem.title === 'string' && typeof problem.detail === 'string' && problem.detail.length > 0);
          assert.equal(await storedState(input.method, input.url), before, `refused ${input.method} ${input.url} changed what is stored`);
        }
        assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype was polluted');
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }), interruptAfterTimeLimit: Math.max(20_000, runs * 100) },
    );
    const health = await running.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 200);
  });
});
