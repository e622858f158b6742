// Drives every API operation with no token and with read, write, admin and prefix-limited
// tokens against a real node started with an auth file, from one table; checks each
// answer's status, that refusals are problem+json and store nothing, that browser origins
// are checked, and that the table covers every operation the OpenAPI document lists.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { nodeConfigDefaults } from '../config.js';
import { startNode, type RunningNode } from '../node.js';
import { createToken, revokeToken } from '../security/auth-tokens.js';
import { protectedModeProblems } from '../node-security.js';
import type { Access } from './route-access.js';

type Caller = 'none' | 'read' | 'write' | 'admin' | 'prefixed' | 'expired' | 'unknown';

interface Case {
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  url: string;
  /** The route pattern, to match the OpenAPI document. */
  route: string;
  access: Access;
  /** The key the request touches; a prefix-limited token reaches only `app/` keys. */
  key?: string;
  body?: unknown;
}

const cases: Case[] = [
  { method: 'GET', url: '/health', route: '/health', access: 'public' },
  { method: 'GET', url: '/status', route: '/status', access: 'read' },
  { method: 'GET', url: '/keys', route: '/keys', access: 'read' },
  { method: 'GET', url: '/node-info', route: '/node-info', access: 'read' },
  { method: 'GET', url: '/metrics', route: '/metrics', access: 'read' },
  { method: 'GET', url: '/cluster', route: '/cluster', access: 'read' },
  { method: 'GET', url: '/cluster/ring', route: '/cluster/ring', access: 'read' },
  { method: 'GET', url: '/cluster/nodes', route: '/cluster/nodes', access: 'read' },
  { method: 'GET', url: '/jobs', route: '/jobs', access: 'read' },
  { method: 'GET', url: '/cluster/jobs', route: '/cluster/jobs', access: 'read' },
  { method: 'GET', url: '/auth/me', route: '/auth/me', access: 'read' },
  { method: 'GET', url: '/cluster/owners/app%2Fseed', route: '/cluster/owners/{key}', access: 'read', key: 'app/seed' },
  { method: 'GET', url: '/cluster/owners/other', route: '/cluster/owners/{key}', access: 'read', key: 'other' },
  { method: 'GET', url: '/store/app%2Fseed', route: '/store/{key}', access: 'read', key: 'app/seed' },
  { method: 'GET', url: '/store/other', route: '/store/{key}', access: 'read', key: 'other' },
  { method: 'GET', url: '/store/app/seed', route: '/store/{key}', access: 'read', key: 'app/seed' },
  { method: 'GET', url: '/cluster/replicas/app%2Fseed', route: '/cluster/replicas/{key}', access: 'read', key: 'app/seed' },
  { method: 'GET', url: '/cluster/replicas/other/x', route: '/cluster/replicas/{key}', access: 'read', key: 'other/x' },
  { method: 'GET', url: '/cluster/keys', route: '/cluster/keys', access: 'read' },
  { method: 'GET', url: '/cluster/keys?prefix=other', route: '/cluster/keys', access: 'read', key: 'other' },
  // A bad cursor ends the request once it is authorised (a stream that opened would never end under inject).
  { method: 'GET', url: '/watch?since=not-a-cursor', route: '/watch', access: 'read' },
  { method: 'GET', url: '/watch?prefix=other&since=not-a-cursor', route: '/watch', access: 'read', key: 'other' },
  { method: 'GET', url: '/admin/records', route: '/admin/records', access: 'admin' },
  { method: 'GET', url: '/admin/backup-cut', route: '/admin/backup-cut', access: 'admin' },
  { method: 'POST', url: '/admin/restore', route: '/admin/restore', access: 'admin', body: { records: [] } },
  { method: 'PUT', url: '/store/app%2Fnew', route: '/store/{key}', access: 'write', key: 'app/new', body: { value: 1 } },
  { method: 'PUT', url: '/store/elsewhere', route: '/store/{key}', access: 'write', key: 'elsewhere', body: { value: 1 } },
  { method: 'DELETE', url: '/store/app%2Fgone', route: '/store/{key}', access: 'write', key: 'app/gone' },
  { method: 'DELETE', url: '/store/other', route: '/store/{key}', access: 'write', key: 'other' },
  // Its ops are authorised one by one (batch-routes.test.ts); the route itself needs read.
  { method: 'POST', url: '/batch', route: '/batch', access: 'read', body: { ops: [] } },
  { method: 'POST', url: '/repair', route: '/repair', access: 'admin' },
  { method: 'POST', url: '/cluster/remove/ghost', route: '/cluster/remove/{nodeId}', access: 'admin' },
  { method: 'POST', url: '/jobs/none/pause', route: '/jobs/{id}/pause', access: 'admin' },
  { method: 'POST', url: '/jobs/none/resume', route: '/jobs/{id}/resume', access: 'admin' },
  { method: 'PUT', url: '/jobs/pace', route: '/jobs/pace', access: 'admin' },
  { method: 'POST', url: '/admin/reload', route: '/admin/reload', access: 'admin' },
  // A normal member refuses to join (409), but the call must get that far.
  { method: 'POST', url: '/cluster/join', route: '/cluster/join', access: 'admin' },
  // Asked of another member through this node: no member has that id (404), but the call must get that far.
  { method: 'POST', url: '/cluster/join?node=ghost', route: '/cluster/join', access: 'admin' },
  { method: 'POST', url: '/cluster/leave?node=ghost', route: '/cluster/leave', access: 'admin' },
  // Last: a one-node cluster refuses to lose its only member, but the call must get that far.
  { method: 'POST', url: '/cluster/leave', route: '/cluster/leave', access: 'admin' },
];

const rank: Record<Caller, number> = { none: 0, expired: 0, unknown: 0, read: 1, prefixed: 2, write: 2, admin: 3 };
const needed: Record<Access, number> = { public: 0, read: 1, write: 2, admin: 3 };

/** What a caller must get: 'allowed' (anything but 401/403), 401 or 403. */
function expected(testCase: Case, caller: Caller): 'allowed' | 401 | 403 {
  if (testCase.access === 'public') return 'allowed';
  if (rank[caller] === 0) return 401;
  if (rank[caller] < needed[testCase.access]) return 403;
  if (caller === 'prefixed' && testCase.key !== undefined && !testCase.key.startsWith('app/')) return 403;
  return 'allowed';
}

let running: RunningNode;
let dataDir: string;
const tokens: Partial<Record<Caller, string>> = {};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ringkv-auth-'));
  const authFile = join(dataDir, 'auth.json');
  const nowMs = Date.now();
  tokens.read = createToken(authFile, { role: 'read', name: 'reader' }, nowMs).token;
  tokens.write = createToken(authFile, { role: 'write', name: 'writer' }, nowMs).token;
  tokens.admin = createToken(authFile, { role: 'admin', name: 'operator' }, nowMs).token;
  tokens.prefixed = createToken(authFile, { role: 'write', name: 'app', prefix: 'app/' }, nowMs).token;
  tokens.expired = createToken(authFile, { role: 'admin', name: 'old', expiresInMs: 1 }, nowMs - 1000).token;
  tokens.unknown = 'rkv_' + 'A'.repeat(43);
  running = await startNode(
    { ...nodeConfigDefaults, id: 'n1', port: 0, replicas: 1, storage: 'memory', dataDir: join(dataDir, 'n1'), authFile, clusterSecret: 'auth-test-secret-0123456789' },
    pino({ level: 'silent' }),
  );
  for (const key of ['app/seed', 'app/gone', 'other']) await request('PUT', `/store/${encodeURIComponent(key)}`, 'admin', { value: 'seed' });
});

after(async () => {
  await running.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function request(method: string, url: string, caller: Caller, body?: unknown, headers: Record<string, string> = {}) {
  const token = tokens[caller];
  if (method === 'GET' && url.startsWith('/store/')) {
    // Key reads go over a socket: a plain one is answered in front of Fastify (key-read-fast-path.ts), which inject() never reaches.
    const response = await fetch(`${running.url}${url}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    const text = await response.text();
    return { statusCode: response.status, headers: Object.fromEntries(response.headers), body: text, json: <T = unknown>() => JSON.parse(text) as T };
  }
  return running.app.inject({
    method: method as 'GET',
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

async function storedValue(key: string): Promise<unknown> {
  const response = await request('GET', `/store/${encodeURIComponent(key)}`, 'admin');
  return response.statusCode === 200 ? (response.json() as { value: unknown }).value : undefined;
}

describe('API roles', () => {
  it('covers every operation of the OpenAPI document', async () => {
    const document = running.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    const tested = new Set(cases.map((testCase) => `${testCase.method} ${testCase.route}`));
    assert.deepEqual(documented.filter((operation) => !tested.has(operation)), [], 'operations with no row in the role table');
  });

  for (const caller of ['none', 'unknown', 'expired', 'read', 'write', 'prefixed', 'admin'] as const) {
    it(`answers ${caller === 'none' ? 'a request without a token' : `${caller === 'unknown' || caller === 'expired' || caller === 'admin' ? 'an' : 'a'} ${caller} token`} as its role allows`, async () => {
      for (const testCase of cases) {
        const before = testCase.key === undefined ? undefined : await storedValue(testCase.key);
        const response = await request(testCase.method, testCase.url, caller, testCase.body);
        const want = expected(testCase, caller);
        const what = `${testCase.method} ${testCase.url} as ${caller}: ${response.body.slice(0, 300)}`;
        if (want === 'allowed') {
          assert.ok(response.statusCode !== 401 && response.statusCode !== 403, what);
          continue;
        }
        assert.equal(response.statusCode, want, what);
        assert.match(String(response.headers['content-type']), /^application\/problem\+json/, what);
        const problem = response.json() as { detail: string };
        if (want === 401) {
          assert.match(String(response.headers['www-authenticate']), /^Bearer/);
          // Never which part of a token was wrong: unknown and expired read alike.
          assert.doesNotMatch(problem.detail, /expired|unknown/i, what);
        } else {
          assert.match(problem.detail, /role|only keys/, what);
        }
        if (testCase.key !== undefined) assert.deepEqual(await storedValue(testCase.key), before, `refused ${what} changed the key`);
      }
    });
  }

  it('lists only the keys under the prefix of a prefix-limited token', async () => {
    const all = await request('GET', '/keys', 'prefixed');
    assert.equal(all.statusCode, 200);
    const keys = (all.json() as { keys: string[] }).keys;
    assert.ok(keys.length > 0 && keys.every((key) => key.startsWith('app/')), keys.join(','));
    assert.equal((await request('GET', '/keys?prefix=app%2Fs', 'prefixed')).statusCode, 200);
    assert.equal((await request('GET', '/keys?prefix=other', 'prefixed')).statusCode, 403);
    const cluster = await request('GET', '/cluster/keys', 'prefixed');
    assert.equal(cluster.statusCode, 200, cluster.body);
    assert.deepEqual((cluster.json() as { keys: string[] }).keys, keys);
    assert.equal((await request('GET', '/cluster/keys?prefix=other', 'prefixed')).statusCode, 403);
  });

  it('says who the caller is', async () => {
    const me = (await request('GET', '/auth/me', 'prefixed')).json() as Record<string, unknown>;
    assert.deepEqual(me, { authRequired: true, role: 'write', name: 'app', prefix: 'app/', expiresAt: null });
  });

  it('counts refusals and admin actions in /metrics', async () => {
    const metrics = (await request('GET', '/metrics', 'read')).body;
    for (const line of [/ringkv_auth_failures_total\{reason="role"[^}]*\} [1-9]/, /ringkv_auth_failures_total\{reason="missing"[^}]*\} [1-9]/, /ringkv_admin_actions_total\{action="POST \/admin\/reload",outcome="ok"[^}]*\} [1-9]/]) {
      assert.ok(line.test(metrics), `no line ${line} in /metrics`);
    }
  });
});

describe('token file reloads', () => {
  it('takes a token created after start on POST /admin/reload, and refuses it once revoked', async () => {
    const authFile = join(dataDir, 'auth.json');
    const { token } = createToken(authFile, { role: 'read', name: 'late' }, Date.now());
    const asLate = () => running.app.inject({ method: 'GET', url: '/status', headers: { authorization: `Bearer ${token}` } });
    const reload = await request('POST', '/admin/reload', 'admin');
    assert.equal(reload.statusCode, 200, reload.body);
    assert.ok((reload.json() as { reloaded: string[] }).reloaded.includes('tokens'));
    assert.equal((await asLate()).statusCode, 200);
    assert.equal(revokeToken(authFile, 'late'), true);
    // The file is watched: no reload call this time (bounded wait).
    const deadline = Date.now() + 5000;
    while ((await asLate()).statusCode !== 401 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await asLate()).statusCode, 401);
  });
});

describe('browser origins', () => {
  it('refuses a state-changing request from a foreign page, whatever its token', async () => {
    const response = await request('POST', '/cluster/leave', 'admin', undefined, { origin: 'http://evil.example' });
    assert.equal(response.statusCode, 403);
    assert.match(response.json<{ detail: string }>().detail, /--cors-origins/);
    const write = await request('PUT', '/store/app%2Fevil', 'admin', { value: 1 }, { origin: 'http://evil.example' });
    assert.equal(write.statusCode, 403);
    assert.equal(await storedValue('app/evil'), undefined);
  });

  it("accepts the node's own origin and gives no CORS headers to others", async () => {
    const own = `http://127.0.0.1:${new URL(running.url).port}`;
    const ok = await request('PUT', '/store/app%2Fmine', 'write', { value: 2 }, { origin: own });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.headers['access-control-allow-origin'], own);
    const foreign = await request('GET', '/status', 'read', undefined, { origin: 'http://evil.example' });
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });

  it('answers a preflight from an allowed origin before authentication, and none from others', async () => {
    const own = `http://127.0.0.1:${new URL(running.url).port}`;
    const preflight = await request('OPTIONS', '/store/app%2Fx', 'none', undefined, { origin: own, 'access-control-request-method': 'PUT' });
    assert.equal(preflight.statusCode, 204, preflight.body);
    assert.equal(preflight.headers['access-control-allow-origin'], own);
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD, PUT, POST, DELETE');
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
    assert.equal(preflight.headers['access-control-max-age'], '600');
    assert.equal(preflight.headers.vary, 'Origin');
    const noMethod = await request('OPTIONS', '/store/app%2Fx', 'none', undefined, { origin: own });
    assert.equal(noMethod.statusCode, 400);
    assert.match(String(noMethod.headers['content-type']), /^application\/problem\+json/);
    const foreign = await request('OPTIONS', '/store/app%2Fx', 'none', undefined, { origin: 'http://evil.example', 'access-control-request-method': 'PUT' });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    assert.equal(foreign.headers.vary, 'Origin');
    const plain = await request('GET', '/health', 'none');
    assert.equal(plain.headers.vary, 'Origin');
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
  });
});

describe('protected mode', () => {
  const base = { ...nodeConfigDefaults, id: 'n1', dataDir: 'unused' };
  it('refuses a non-loopback bind without an auth file, and names the flags', () => {
    const [problem] = protectedModeProblems({ ...base, host: '0.0.0.0' });
    assert.match(String(problem), /--auth-file/);
    assert.match(String(problem), /--insecure/);
  });

  it('allows loopback, an auth file, or --insecure', () => {
    assert.deepEqual(protectedModeProblems({ ...base, host: '127.0.0.1' }), []);
    assert.deepEqual(protectedModeProblems({ ...base, host: '::1' }), []);
    assert.deepEqual(protectedModeProblems({ ...base, host: '10.1.2.3', authFile: 'auth.json' }), []);
    assert.deepEqual(protectedModeProblems({ ...base, host: '10.1.2.3', insecure: true }), []);
  });
});
