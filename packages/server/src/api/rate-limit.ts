// An optional per-caller request budget (`--rate-limit-per-minute`, docs/security.md,
// "Limits before authentication"), with the maintained @fastify/rate-limit plugin. It counts in the preParsing
// hook: after every onRequest hook (authentication among them), before the body is read.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { rateLimitCallersMax } from '@ringkv/core';
import { ProblemError } from './problems.js';

const windowMs = 60_000;

/** Probes and the static assets of the docs and the dashboard are never limited. */
function isExempt(request: FastifyRequest): boolean {
  const url = request.routeOptions.url ?? '';
  return url === '/health' || url.startsWith('/docs') || url.startsWith('/dashboard');
}

/**
 * The budget a request draws from: its token's when authentication checked one (the auth
 * hook sets `caller`), else its client address. An unchecked Authorization header is never
 * a key: a client could send a new one with every request and never run out.
 */
function callerKey(request: FastifyRequest): string {
  const caller = (request as FastifyRequest & { caller?: { authRequired: boolean; name: string | null } | null }).caller;
  if (caller?.authRequired === true && caller.name !== null) return `token:${caller.name}`;
  return `address:${request.ip}`;
}

/** Registers the limiter; must come before the routes, which it hooks as they are added. */
export async function registerRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  if (perMinute <= 0) return;
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: windowMs,
    hook: 'preParsing',
    cache: rateLimitCallersMax,
    allowList: (request) => isExempt(request),
    keyGenerator: callerKey,
    errorResponseBuilder: (_request, context) =>
      new ProblemError(
        429,
        'rate-limited',
        'Too many requests',
        `this caller may make ${perMinute} requests a minute and has used them; retry after ${Math.max(1, Math.ceil(context.ttl / 1000))} s ` +
          '(the Retry-After header), or start the nodes with a larger --rate-limit-per-minute',
        { limitPerMinute: perMinute, retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)) },
      ),
  });
}
