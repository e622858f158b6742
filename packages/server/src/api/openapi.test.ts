// Builds a real node's OpenAPI document (memory storage, no traffic), lints it offline with
// the locally installed redocly CLI's recommended ruleset, and checks that every operation has
// an operationId, a 4xx answer, defined tags and the security route-access.ts gives its route.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { pino } from 'pino';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { bearerSchemeName, documentRouteAccess } from './openapi-security.js';
import { routeAccess } from './route-access.js';

interface Operation {
  operationId?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}

interface Document {
  servers?: { url: string }[];
  info: { license?: { name: string } };
  tags?: { name: string }[];
  components: { securitySchemes?: Record<string, { type: string; scheme: string; description: string }> };
  paths: Record<string, Record<string, Operation>>;
}

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

const httpMethods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
/** Generous for a cold start on a slow machine; a lint takes well under a second here. */
const lintTimeoutMs = 60_000;

let running: RunningNode;
let workDir: string;
let document: Document;

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'ringkv-openapi-'));
  running = await startNode(
    { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir: join(workDir, 'data') },
    pino({ level: 'silent' }),
  );
  await running.app.ready();
  document = running.app.swagger() as unknown as Document;
});

after(async () => {
  await running.close();
  rmSync(workDir, { recursive: true, force: true });
});

function operations(doc: Document): { method: string; path: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.has(method))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
}

/** `/store/{key}` back to the Fastify route url `/store/:key` that route-access.ts matches. */
function routeUrlOf(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ':$1');
}

function isProblemAnswer(response: { content?: Record<string, unknown> } | undefined): boolean {
  return response?.content?.['application/problem+json'] !== undefined;
}

/** Runs the redocly CLI from node_modules with this Node, telemetry and update checks off. */
async function redoclyLint(file: string): Promise<LintReport> {
  const require = createRequire(import.meta.url);
  const packageFile = require.resolve('@redocly/cli/package.json');
  const bin = (JSON.parse(readFileSync(packageFile, 'utf8')) as { bin: Record<string, string | undefined> }).bin.redocly;
  assert.ok(bin !== undefined, '@redocly/cli names no redocly bin');
  const child = spawn(process.execPath, [join(dirname(packageFile), bin), 'lint', '--extends', 'recommended', '--format', 'json', file], {
    cwd: dirname(file),
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: lintTimeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  // Exit code 1 means problems were found; the JSON report on stdout says which.
  assert.ok(exitCode === 0 || exitCode === 1, `redocly exited with ${exitCode}: ${stderr}`);
  return JSON.parse(stdout) as LintReport;
}

describe('OpenAPI document', () => {
  it('passes redocly lint with the recommended ruleset, with no error', async (t) => {
    const file = join(workDir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const report = await redoclyLint(file);
    for (const problem of report.problems) t.diagnostic(`${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer ?? ''}: ${problem.message}`);
    const errors = report.problems.filter((problem) => problem.severity === 'error');
    assert.equal(report.totals.errors, 0, errors.map((problem) => `${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`).join('\n'));
    t.diagnostic(`redocly: ${report.totals.errors} errors, ${report.totals.warnings} warnings`);
  });

  it('names every operation with a unique camelCase operationId', () => {
    const seen = new Map<string, string>();
    const all = operations(document);
    assert.ok(all.length >= 20, `only ${all.length} operations documented`);
    for (const { method, path, operation } of all) {
      const id = operation.operationId;
      assert.ok(id !== undefined, `${method} ${path} has no operationId: add one to its route schema`);
      assert.match(id, /^[a-z][a-zA-Z0-9]*$/, `${method} ${path}: operationId ${id} is not camelCase`);
      assert.equal(seen.get(id), undefined, `operationId ${id} is used by ${seen.get(id)} and ${method} ${path}`);
      seen.set(id, `${method} ${path}`);
    }
  });

  it('gives every operation the security and role that route-access.ts gives its route', () => {
    const scheme = document.components.securitySchemes?.[bearerSchemeName];
    assert.deepEqual({ type: scheme?.type, scheme: scheme?.scheme }, { type: 'http', scheme: 'bearer' });
    assert.match(scheme?.description ?? '', /npx ringkv token create/);
    for (const { method, path, operation } of operations(document)) {
      const access = routeAccess(method, routeUrlOf(path));
      const where = `${method} ${path} (${access})`;
      if (access === 'public') {
        assert.deepEqual(operation.security, [], where);
        assert.equal(operation.responses['401'], undefined, where);
        continue;
      }
      assert.deepEqual(operation.security, [{ [bearerSchemeName]: [] }], where);
      assert.ok(operation.description?.includes(`Requires a token with role ${access}`), `${where}: description names no role`);
      assert.ok(isProblemAnswer(operation.responses['401']), `${where}: no problem+json 401`);
      if (access !== 'read') assert.ok(isProblemAnswer(operation.responses['403']), `${where}: no problem+json 403`);
    }
    const health = document.paths['/health']?.get;
    assert.deepEqual(health?.security, [], '/health is for probes and needs no token');
  });

  it('documents a problem+json 4xx answer on every operation and defines every tag used', () => {
    const defined = new Set((document.tags ?? []).map((tag) => tag.name));
    for (const { method, path, operation } of operations(document)) {
      const clientErrors = Object.entries(operation.responses).filter(([status]) => status.startsWith('4'));
      assert.ok(clientErrors.length > 0, `${method} ${path} documents no 4xx answer`);
      for (const [status, response] of clientErrors) assert.ok(isProblemAnswer(response), `${method} ${path} ${status} is not problem+json`);
      assert.ok((operation.tags ?? []).length > 0, `${method} ${path} has no tag`);
      for (const tag of operation.tags ?? []) assert.ok(defined.has(tag), `tag "${tag}" of ${method} ${path} is not defined in registerDocs (app.ts)`);
    }
  });

  it('names its server and license, and hides the static assets of /docs and /dashboard', () => {
    assert.deepEqual(document.servers?.map((server) => server.url), ['/']);
    assert.equal(document.info.license?.name, 'MIT');
    const assetPaths = Object.keys(document.paths).filter((path) => path.startsWith('/docs') || path.startsWith('/dashboard'));
    assert.deepEqual(assetPaths, []);
  });

  it('still serves /metrics as Prometheus text under its documented text/plain answer', async () => {
    const response = await running.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    assert.match(response.body, /^# HELP /m);
  });

  it('documents a route it has never seen as the access table says: unlisted routes need admin', async () => {
    const app = Fastify({ logger: false });
    await app.register(fastifySwagger, {
      openapi: { info: { title: 'probe', version: '0' }, components: { securitySchemes: { [bearerSchemeName]: { type: 'http', scheme: 'bearer' } } } },
      transform: documentRouteAccess,
    });
    app.post('/some/future/route', { schema: { operationId: 'futureAction', tags: ['probe'] } }, async () => ({}));
    app.get('/health', { schema: { operationId: 'probeHealth', tags: ['probe'] } }, async () => ({}));
    app.get('/docs/asset.js', { schema: { hide: true } }, async () => '');
    await app.ready();
    const doc = app.swagger() as unknown as Document;
    const future = doc.paths['/some/future/route']?.post;
    assert.deepEqual(future?.security, [{ [bearerSchemeName]: [] }]);
    assert.match(future?.description ?? '', /Requires a token with role admin\./);
    assert.ok(isProblemAnswer(future?.responses['401']) && isProblemAnswer(future?.responses['403']));
    assert.deepEqual(doc.paths['/health']?.get?.security, []);
    assert.equal(doc.paths['/docs/asset.js'], undefined);
    await app.close();
  });
});
