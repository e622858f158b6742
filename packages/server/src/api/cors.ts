// CORS headers for the allowed browser origins only (docs/security.md, "Browser origins").
// One onRequest hook with its header values built once. @fastify/cors did the same through a
// per-request options delegator that copied its whole option set twice on every request,
// Origin or not: a tenth of the CPU of a plain GET at r=one (issue 14, "The read path").
import type { FastifyInstance } from 'fastify';
import { isAllowedOrigin, type ApiSecurity } from './auth.js';
import { problemOf, sendProblem } from './problems.js';

const allowedMethods = 'GET, HEAD, PUT, POST, DELETE';
const allowedHeaders = 'Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key';
const exposedHeaders = 'ETag, X-Ringkv-Acks, Idempotent-Replayed, Retry-After';
const preflightMaxAgeSeconds = '600';

export function registerCors(app: FastifyInstance, security: ApiSecurity): void {
  app.addHook('onRequest', (request, reply, done) => {
    // Every answer depends on the Origin header, allowed or not: shared caches must keep them apart.
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !isAllowedOrigin(origin, request, security)) return done();
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', exposedHeaders);
    if (request.method !== 'OPTIONS') return done();
    // A preflight is answered here, before authentication: browsers send it without credentials.
    if (request.headers['access-control-request-method'] === undefined) {
      sendProblem(
        reply,
        problemOf(400, 'invalid-preflight', 'Invalid preflight request', 'a CORS preflight (OPTIONS with Origin) needs the header Access-Control-Request-Method naming the method to come'),
      );
      return;
    }
    reply.header('access-control-allow-methods', allowedMethods);
    reply.header('access-control-allow-headers', allowedHeaders);
    reply.header('access-control-max-age', preflightMaxAgeSeconds);
    reply.code(204).header('content-length', '0').send();
  });
  // An OPTIONS request that reaches a route was no allowed preflight: it is an unknown route (404).
  app.options('*', { schema: { hide: true } }, (_request, reply) => reply.callNotFound());
}
