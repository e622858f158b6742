// Who is asking, and may they (docs/security.md, "Clients"). One onRequest hook, before any
// body is read or any replica is asked: the Origin of a state-changing browser request,
// then the bearer token, its role and its key prefix. A refused request stores nothing.
// Failures and admin actions are audit log lines and counters.
import type { FastifyInstance, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { Counter } from 'prom-client';
import type { TokenCheck } from '../security/auth-tokens.js';
import { ProblemError } from './problems.js';
import { listingRoutes, roleAllows, routeAccess, routeTouchesKeys, type Access, type Role } from './route-access.js';

export interface TokenVerifier {
  verify(bearer: string | undefined, nowMs: number): TokenCheck;
}

/** The caller as the routes see it. */
export interface CallerIdentity {
  authRequired: boolean;
  name: string | null;
  role: Role;
  prefix: string | null;
  expiresAtMs: number | null;
}

export interface ApiSecurity {
  /** The loaded token file, or undefined when the node runs without one (every caller is admin). */
  tokens(): TokenVerifier | undefined;
  /** Browser origins allowed besides the node's own (`--cors-origins`). */
  corsOrigins: readonly string[];
  /** The address the node binds, which its own pages are served from. */
  host: string;
  /** The port the node listens on (known once it listens). */
  port(): number;
  tls: boolean;
  /** Re-reads the token file, certificates and cluster secret; names what it read. */
  reload(): Promise<{ reloaded: string[] }>;
  auditCounters: { authFailures: Counter<string>; adminActions: Counter<string> };
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: CallerIdentity;
  }
}

const unrestricted: CallerIdentity = { authRequired: false, name: null, role: 'admin', prefix: null, expiresAtMs: null };
const stateChangingMethods = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
const loopbackNames = ['127.0.0.1', 'localhost', '[::1]'];

export function registerAuth(app: FastifyInstance, security: ApiSecurity): void {
  app.decorateRequest('caller', null as unknown as CallerIdentity);
  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    // An unmatched path answers 404 to anyone who may read: the route map is no secret,
    // but probing it should not need less than reading does.
    const access: Access = url === undefined ? 'read' : accessOf(request.method, url);
    request.caller = unrestricted;
    if (stateChangingMethods.has(request.method)) checkOrigin(request, security);
    if (access === 'public') return;
    const tokens = security.tokens();
    if (tokens === undefined) return;
    const check = tokens.verify(bearerOf(request), Date.now());
    if (!check.ok) {
      refuse(request, security, check.reason, url);
      reply.header('www-authenticate', 'Bearer realm="ringkv"');
      throw new ProblemError(
        401,
        'unauthenticated',
        'Authentication required',
        'this node requires an API token and none valid was sent: send the header "Authorization: Bearer <token>" ' +
          'with a token from `npx ringkv token create --auth-file FILE --role read|write|admin`',
      );
    }
    const identity = check.identity;
    request.caller = { authRequired: true, ...identity };
    if (!roleAllows(identity.role, access as Role)) {
      refuse(request, security, 'role', url);
      throw new ProblemError(403, 'forbidden-role', 'Role not allowed', `${request.method} ${url} needs a token with role ${access}; token "${identity.name}" has role ${identity.role}`, {
        requiredRole: access,
      });
    }
    if (identity.prefix !== null && url !== undefined && routeTouchesKeys(url)) confineToPrefix(request, identity.prefix, url, security);
  });
  // The audit hook goes on admin routes only, bound when each route is registered: the
  // other routes pay nothing for it on every response.
  app.addHook('onRoute', (route) => {
    if (![route.method].flat().some((method) => routeAccess(method, route.url) === 'admin')) return;
    const audit: onResponseHookHandler = (request, reply, done) => {
      if (reply.statusCode !== 401 && reply.statusCode !== 403) auditAdminAction(request, reply.statusCode, security);
      done();
    };
    route.onResponse = route.onResponse === undefined ? [audit] : [...[route.onResponse].flat(), audit];
  });
}

/** The access a route needs, looked up once per method and route pattern. */
const accessByRoute = new Map<string, Access>();
function accessOf(method: string, url: string): Access {
  const key = `${method} ${url}`;
  let access = accessByRoute.get(key);
  if (access === undefined) {
    access = routeAccess(method, url);
    accessByRoute.set(key, access);
  }
  return access;
}

function auditAdminAction(request: FastifyRequest, status: number, security: ApiSecurity): void {
  const outcome = status < 400 ? 'ok' : 'failed';
  security.auditCounters.adminActions.inc({ action: `${request.method} ${request.routeOptions.url}`, outcome });
  request.log.info(
    { audit: 'admin-action', who: request.caller?.name ?? 'anonymous', action: `${request.method} ${request.url}`, from: request.ip, status, outcome },
    'admin action',
  );
}

/**
 * Whether a read of `key` passes authentication without a word: no token file, or a valid
 * token whose role may read and whose prefix holds the key. The key-read fast path asks
 * it; a request it fails goes the long way, where the hook above refuses it and audits the
 * refusal.
 */
export function keyReadPasses(security: ApiSecurity, authorization: string | undefined, key: string): boolean {
  const tokens = security.tokens();
  if (tokens === undefined) return true;
  const check = tokens.verify(bearerFrom(authorization), Date.now());
  return check.ok && roleAllows(check.identity.role, 'read') && (check.identity.prefix === null || key.startsWith(check.identity.prefix));
}

/** The token of an `Authorization: Bearer` header, if any. */
export function bearerOf(request: FastifyRequest): string | undefined {
  return bearerFrom(request.headers.authorization);
}

function bearerFrom(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function refuse(request: FastifyRequest, security: ApiSecurity, reason: string, url: string | undefined): void {
  security.auditCounters.authFailures.inc({ reason });
  request.log.warn(
    { audit: 'auth-failure', reason, who: request.caller?.name ?? null, action: `${request.method} ${url ?? request.url.split('?')[0]}`, from: request.ip },
    'request refused',
  );
}

/**
 * A browser sends Origin with every state-changing request. A page on another site must
 * not be able to drive a node (a cross-site POST /cluster/leave needs no preflight), so
 * only the node's own origins and the allow-list pass. Requests without Origin (curl,
 * the CLI, other servers) are not from a browser and pass on to authentication.
 */
function checkOrigin(request: FastifyRequest, security: ApiSecurity): void {
  const origin = request.headers.origin;
  if (origin === undefined || isAllowedOrigin(origin, request, security)) return;
  refuse(request, security, 'origin', request.routeOptions.url);
  throw new ProblemError(
    403,
    'forbidden-origin',
    'Origin not allowed',
    `a browser page from ${origin} may not change this node; serve the application from the node itself, or start the nodes with --cors-origins ${origin}`,
  );
}

export function isAllowedOrigin(origin: string, request: FastifyRequest, security: ApiSecurity): boolean {
  if (security.corsOrigins.includes(origin)) return true;
  const scheme = security.tls ? 'https' : 'http';
  const own = [security.host, ...loopbackNames].map((host) => `${scheme}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${security.port()}`);
  if (own.includes(origin)) return true;
  // With tokens required, the page's own host name is fine too (a rebinding page holds no
  // token); without them only names that cannot be rebound are.
  return security.tokens() !== undefined && origin === `${scheme}://${request.headers.host ?? ''}`;
}

function confineToPrefix(request: FastifyRequest, prefix: string, url: string, security: ApiSecurity): void {
  if (listingRoutes.has(url)) {
    const query = request.query as { prefix?: string };
    const asked = query.prefix ?? '';
    // A listing wider than the token narrows to the token's prefix; a disjoint one is refused.
    if (prefix.startsWith(asked)) query.prefix = prefix;
    else if (!asked.startsWith(prefix)) refusePrefix(request, prefix, `keys under "${asked}"`, security);
    return;
  }
  // Key routes take the key as the rest of the path (Fastify's `*` parameter, already decoded).
  const params = request.params as { key?: string; '*'?: string };
  const key = params['*'] ?? params.key;
  if (key !== undefined && !key.startsWith(prefix)) refusePrefix(request, prefix, `key "${key}"`, security);
}

function refusePrefix(request: FastifyRequest, prefix: string, what: string, security: ApiSecurity): never {
  refuse(request, security, 'prefix', request.routeOptions.url);
  throw new ProblemError(403, 'forbidden-prefix', 'Key outside the token prefix', `token "${request.caller.name}" may reach only keys starting with "${prefix}", not ${what}`, {
    prefix,
  });
}
