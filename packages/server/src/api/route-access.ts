// Who may call which route (docs/security.md, "Roles"). One table decides it for the
// auth hook, the OpenAPI security of each operation and the role tests, so the three
// cannot disagree. Roles are ordered: admin may do what write may, write what read may.

export type Role = 'read' | 'write' | 'admin';
/** `public` needs no token: probes and the static assets of /docs and /dashboard. */
export type Access = 'public' | Role;

export const roleRank: Record<Role, number> = { read: 1, write: 2, admin: 3 };

export function roleAllows(role: Role, needed: Role): boolean {
  return roleRank[role] >= roleRank[needed];
}

interface AccessRule {
  method: string | '*';
  /** A Fastify route url (`/cluster`); a trailing `*` matches the rest (and so the wildcard route `/store/*`). */
  url: string;
  access: Access;
}

/** First match wins. Routes not listed need admin: a new route is closed until someone opens it. */
const accessRules: AccessRule[] = [
  { method: '*', url: '/health', access: 'public' },
  // CORS preflights carry no credentials; the request that follows them is checked.
  { method: 'OPTIONS', url: '*', access: 'public' },
  { method: '*', url: '/docs*', access: 'public' },
  { method: '*', url: '/dashboard*', access: 'public' },
  // A key is the rest of the path (`/store/*`, slashes included); `/store/` alone is the empty key's 400.
  { method: '*', url: '/store/', access: 'read' },
  { method: 'GET', url: '/store/*', access: 'read' },
  { method: 'HEAD', url: '/store/*', access: 'read' },
  { method: 'PUT', url: '/store/*', access: 'write' },
  { method: 'DELETE', url: '/store/*', access: 'write' },
  // Each op of a batch is checked again as its single request would be (batch-routes.ts): a read token may run gets.
  { method: 'POST', url: '/batch', access: 'read' },
  { method: 'GET', url: '/status', access: 'read' },
  { method: 'GET', url: '/keys', access: 'read' },
  { method: 'GET', url: '/node-info', access: 'read' },
  { method: 'GET', url: '/metrics', access: 'read' },
  { method: 'GET', url: '/cluster', access: 'read' },
  { method: 'GET', url: '/cluster/ring', access: 'read' },
  { method: 'GET', url: '/cluster/owners/*', access: 'read' },
  { method: 'GET', url: '/cluster/replicas/*', access: 'read' },
  { method: 'GET', url: '/cluster/keys', access: 'read' },
  { method: 'GET', url: '/watch', access: 'read' },
  { method: 'GET', url: '/cluster/nodes', access: 'read' },
  { method: 'GET', url: '/jobs', access: 'read' },
  { method: 'GET', url: '/cluster/jobs', access: 'read' },
  { method: 'GET', url: '/auth/me', access: 'read' },
  // Backup and restore see and write every key, tombstones included: admin (the default, stated).
  { method: 'GET', url: '/admin/records', access: 'admin' },
  { method: '*', url: '/admin/backup-cut', access: 'admin' },
  { method: 'POST', url: '/admin/restore', access: 'admin' },
];

/** The access a route needs; `url` is the route's pattern, not the request path. */
export function routeAccess(method: string, url: string): Access {
  const upper = method.toUpperCase();
  for (const rule of accessRules) {
    if (rule.method !== '*' && rule.method !== upper) continue;
    const matches = rule.url.endsWith('*') ? url.startsWith(rule.url.slice(0, -1)) : url === rule.url;
    if (matches) return rule.access;
  }
  return 'admin';
}

/** Routes whose key (the rest of the path) or listing prefix a prefix-limited token must stay inside. */
export function routeTouchesKeys(url: string): boolean {
  return url.startsWith('/store/') || keyPathRoutes.has(url) || listingRoutes.has(url);
}

/** Routes that take the key as the rest of the path, besides /store/*. */
const keyPathRoutes: ReadonlySet<string> = new Set(['/cluster/owners/*', '/cluster/replicas/*']);
/** Routes that list keys under a `prefix` query. */
export const listingRoutes: ReadonlySet<string> = new Set(['/keys', '/cluster/keys', '/admin/records', '/watch']);

/**
 * Whether a route is clients' work on keys (reads and writes by path, listings, batches and
 * restores), whose latency background jobs give way to (load-shedding.ts counts it as the
 * client load; clock/background-budget.ts in the core). The operator's views and controls
 * (jobs, the cluster and node views, the dashboard's assets, the API docs) are bounded and
 * shed like them but are no such load: counted, a dashboard left open or a monitor polling
 * GET /jobs, as the join benchmark does, held a joining node that no client uses to half
 * its speed.
 */
export function isClientWork(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/store/') || listingRoutes.has(url) || keyBatchRoutes.has(url));
}

/** Besides keys by path and the listings: many keys in one request. */
const keyBatchRoutes: ReadonlySet<string> = new Set(['/batch', '/admin/restore']);
