// Builds a node's HTTP API without listening (docs/style.md, "Thin HTTP"), so tests can drive it
// with inject(). One plugin per area; TypeBox schemas validate, type and document.
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type onResponseHookHandler } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { ApiDeps } from './api-deps.js';
import { adminRoutes } from './admin-routes.js';
import { registerAuth } from './auth.js';
import { registerCors } from './cors.js';
import { clusterRoutes } from './cluster-routes.js';
import { ringRoutes } from './ring-routes.js';
import { nodeRoutes } from './node-routes.js';
import { bearerSchemeName, bearerSecurityScheme, documentRouteAccess } from './openapi-security.js';
import { httpEdgeOptions, httpLimitsDefaults, type HttpLimits } from './http-limits.js';
import { registerJsonBodyParser } from './json-depth.js';
import { lazyCompilers } from './lazy-schema-compilers.js';
import { LoadShedder, registerLoadShedding } from './load-shedding.js';
import { describeBodyShape, notFoundProblem, problemForError, problemOf, sendProblem } from './problems.js';
import { registerRateLimit } from './rate-limit.js';
import { ConnectionTurns, orderRequestsPerConnection } from './request-order.js';
import { KeyReadFastPath, type AnswerObserver } from './key-read-fast-path.js';
import { storeRoutes } from './store-routes.js';
import { batchRoutes } from './batch-routes.js';
import { watchRoutes } from './watch-routes.js';
import { restoreRoutes } from './restore-routes.js';
import { ringkvVersion } from '../version.js';

export interface BuildAppOptions {
  deps: ApiDeps;
  logger?: Logger;
  /** TLS options of node:https; the API (and the peer upgrade on the same port) is then HTTPS. */
  https?: import('node:https').ServerOptions;
  /** Timeouts, connection, header, depth and rate limits of the edge (node.ts: `httpLimitsOf(config)`). */
  http?: HttpLimits;
  /** Bounds on client requests and body bytes in flight (node.ts builds it from the flags; defaults otherwise). */
  shedder?: LoadShedder;
}

export async function buildApp({ deps, logger, https, http = httpLimitsDefaults, shedder = new LoadShedder() }: BuildAppOptions): Promise<FastifyInstance> {
  const edge = httpEdgeOptions(http, { maxValueBytes: deps.maxValueBytes }, https);
  const fastPath = new KeyReadFastPath();
  const app = Fastify({
    ...edge,
    // The server Fastify would make, with the key-read fast path in front of its router.
    serverFactory: (handler, options) => {
      const listener = (request: IncomingMessage, response: ServerResponse) => {
        if (!fastPath.serve(request, response)) handler(request, response);
      };
      const server = edge.https === undefined ? createHttpServer(edge.http, listener) : createHttpsServer(edge.https, listener);
      server.keepAliveTimeout = edge.keepAliveTimeout;
      server.requestTimeout = edge.requestTimeout;
      server.setTimeout(Number(options.connectionTimeout ?? 0));
      return server;
    },
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // One shared logger instead of a child per request: request logging is off, and a
    // child logger per request costs more than the rest of a GET.
    childLoggerFactory: (parent) => parent,
    logController: new LogController({ disableRequestLogging: true }),
    // --max-value-bytes bounds the whole body, envelope included, exactly as documented.
    bodyLimit: deps.maxValueBytes,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 16 * 1024, ignoreTrailingSlash: false },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // Each route's validators and serializers are compiled on first use, not at start.
    schemaController: { compilersFactory: lazyCompilers() },
  }) as unknown as FastifyInstance;

  // Only JSON bodies: without this, text/plain would be parsed as a string and get a
  // misleading 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  registerJsonBodyParser(app, http.jsonDepthMax);
  // Beyond it Node closes new connections at once, before they cost a parser or a request.
  app.server.maxConnections = http.httpConnectionsMax;
  // First of all hooks: a pipelined request waits for the one before it, authentication included.
  const turns = new ConnectionTurns();
  orderRequestsPerConnection(app, turns);
  // Second: overload is refused before CORS, authentication, the rate limit or the body cost anything.
  registerLoadShedding(app, { shedder, bodyBytesMax: deps.maxValueBytes, registry: deps.metrics.registry });

  app.setErrorHandler((error, request, reply) => {
    // The route's own body in the hint; before routing (a route not found) a key's.
    const bodyShape = request.routeOptions.url === undefined ? undefined : describeBodyShape(request.routeOptions.schema?.body);
    const problem = problemForError(error, { maxValueBytes: deps.maxValueBytes, bodyShape });
    if (problem.status >= 500 && problem.type.endsWith(':internal')) request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, notFoundProblem(request)));

  const observerOf = recordTraffic(app, deps);
  registerCors(app, deps.security);
  registerAuth(app, deps.security);
  await registerRateLimit(app, http.rateLimitPerMinute);
  await registerDocs(app);
  await app.register(storeRoutes, { deps });
  await app.register(batchRoutes, { deps });
  await app.register(nodeRoutes, { deps });
  await app.register(clusterRoutes, { deps });
  await app.register(ringRoutes, { deps });
  await app.register(adminRoutes, { security: deps.security });
  await app.register(restoreRoutes, { deps });
  await app.register(watchRoutes, { deps });
  await registerDashboard(app, deps.dashboardRoot);
  const observe = observerOf('GET', '/store/*');
  if (observe === undefined) throw new Error('the key read route was not registered');
  fastPath.enable({ api: deps, security: deps.security, shedder, turns, observe, log: app.log });
  return app;
}

/**
 * Each route gets its own onResponse hook with its metric children and counts bound once:
 * label lookups and the request.routeOptions getter cost more than the observation itself.
 * Returns the observer of a declared method of a route (the key-read fast path counts its
 * answers with the route's).
 */
function recordTraffic(app: FastifyInstance, deps: ApiDeps): (method: string, url: string) => AnswerObserver | undefined {
  const declared = new Map<string, AnswerObserver>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const label = keyRouteLabel(route.url);
    const observers = new Map(methods.map((method) => [method, routeObserver(deps, method, label, true)]));
    for (const [method, observer] of observers) declared.set(`${method} ${route.url}`, observer);
    const observe: onResponseHookHandler = (request, reply, done) => {
      const method = request.method;
      let observer = observers.get(method);
      if (observer === undefined) {
        // A method the route was not declared with (the HEAD Fastify adds to a GET) is counted, not timed.
        observer = routeObserver(deps, method, label, false);
        observers.set(method, observer);
      }
      observer(reply.statusCode, reply.elapsedTime);
      done();
    };
    route.onResponse = route.onResponse === undefined ? [observe] : [...[route.onResponse].flat(), observe];
  });
  // Requests that match no route (404 from the not-found handler) are not counted here.
  return (method, url) => declared.get(`${method} ${url}`);
}

/** A key route is a wildcard (keys hold slashes); its label names the key as the routes did before, so dashboards keep matching. */
function keyRouteLabel(url: string): string {
  return url.endsWith('/*') ? `${url.slice(0, -1)}:key` : url;
}

/** Counts the answers of one method of one route: by status, their duration (when `timed`), and client traffic for /store. */
function routeObserver(deps: ApiDeps, method: string, label: string, timed: boolean): AnswerObserver {
  const histogram = timed ? deps.metrics.httpDuration.labels(method, label) : undefined;
  const counts = deps.metrics.requestCounts.route(method, label);
  const countsTraffic = label.startsWith('/store');
  return (statusCode, elapsedMs) => {
    counts.count(statusCode);
    histogram?.observe(elapsedMs / 1000);
    if (countsTraffic) deps.traffic.record(elapsedMs);
  };
}

async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'ringkv',
        version: ringkvVersion,
        description:
          'A Dynamo-style distributed key-value store. Any node serves any key; each key lives on N replicas; ' +
          'reads and writes wait for a tunable quorum (?r= and ?w=: one, quorum, all or a count). ' +
          'Errors are application/problem+json. A node started with --auth-file wants an API token on every ' +
          'operation except /health; each operation names the role it needs.',
        license: { name: 'MIT', url: 'https://spdx.org/licenses/MIT.html' },
      },
      // Relative: the document is served by a node, and every node answers for the whole cluster.
      servers: [{ url: '/', description: 'The node serving this document' }],
      components: { securitySchemes: { [bearerSchemeName]: bearerSecurityScheme } },
      tags: [
        { name: 'store', description: 'Keys and values' },
        { name: 'watch', description: 'The change feed: every put, delete and expiry under a prefix, as Server-Sent Events' },
        { name: 'node', description: "This node's status, keys and metrics" },
        { name: 'cluster', description: 'Members, ring and key placement' },
        { name: 'ring changes', description: 'Members leaving or removed, and the data-movement jobs that follow' },
        { name: 'security', description: "The caller's identity, and reloading tokens and certificates" },
      ],
    },
    // Security, role notes and 401/403 answers come from route-access.ts for every route.
    transform: documentRouteAccess,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}

async function registerDashboard(app: FastifyInstance, root: string | undefined): Promise<void> {
  if (root === undefined || !existsSync(root)) {
    app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) =>
      sendProblem(
        reply,
        problemOf(503, 'dashboard-not-built', 'Dashboard not built', 'the dashboard has not been built: run `npm run build` in the ringkv checkout and restart the node'),
      ),
    );
    return;
  }
  await app.register(fastifyStatic, { root, prefix: '/dashboard', redirect: true, wildcard: true });
}
