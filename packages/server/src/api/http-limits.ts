// The limits of a node's HTTP edge (docs/security.md, "Limits before authentication"): how long a request may
// take to arrive, how many connections and header bytes a client may hold, how deep its
// JSON may nest and how often it may ask. Each is a flag (packages/server/src/cli-program.ts) with
// its default in packages/core/src/limits.ts. Answers Node gives before any route runs
// (408, 431, malformed HTTP or URLs) are problem+json like every other error.
import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  httpConnectionsMaxDefault,
  httpHeaderBytesMaxDefault,
  httpHeadersTimeoutMsDefault,
  httpKeepAliveTimeoutMsDefault,
  httpRequestTimeoutMsDefault,
  jsonDepthMaxDefault,
  rateLimitPerMinuteDefault,
} from '@ringkv/core';
import type { NodeConfig } from '../config.js';
import { clientErrorProblem, problemForError, sendProblem, writeRawProblem, type ProblemContext } from './problems.js';

export interface HttpLimits {
  jsonDepthMax: number;
  httpRequestTimeoutMs: number;
  httpHeadersTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
  httpConnectionsMax: number;
  httpHeaderBytesMax: number;
  /** 0 turns the rate limit off. */
  rateLimitPerMinute: number;
}

export const httpLimitsDefaults: HttpLimits = {
  jsonDepthMax: jsonDepthMaxDefault,
  httpRequestTimeoutMs: httpRequestTimeoutMsDefault,
  httpHeadersTimeoutMs: httpHeadersTimeoutMsDefault,
  httpKeepAliveTimeoutMs: httpKeepAliveTimeoutMsDefault,
  httpConnectionsMax: httpConnectionsMaxDefault,
  httpHeaderBytesMax: httpHeaderBytesMaxDefault,
  rateLimitPerMinute: rateLimitPerMinuteDefault,
};

/** The HTTP limits of a node's config (what node.ts passes to buildApp). */
export function httpLimitsOf(config: Pick<NodeConfig, keyof HttpLimits>): HttpLimits {
  return {
    jsonDepthMax: config.jsonDepthMax,
    httpRequestTimeoutMs: config.httpRequestTimeoutMs,
    httpHeadersTimeoutMs: config.httpHeadersTimeoutMs,
    httpKeepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    httpConnectionsMax: config.httpConnectionsMax,
    httpHeaderBytesMax: config.httpHeaderBytesMax,
    rateLimitPerMinute: config.rateLimitPerMinute,
  };
}

/**
 * Options of node:http's server that only take effect when it is created. Node checks
 * the request and header timeouts every `connectionsCheckingInterval` (30 s by default),
 * which would let a stalled body live far past a short timeout: check at a quarter of it.
 */
export function nodeServerOptions(limits: HttpLimits): HttpServerOptions {
  const shortestTimeoutMs = Math.min(limits.httpHeadersTimeoutMs, limits.httpRequestTimeoutMs);
  return {
    maxHeaderSize: limits.httpHeaderBytesMax,
    headersTimeout: limits.httpHeadersTimeoutMs,
    requestTimeout: limits.httpRequestTimeoutMs,
    keepAliveTimeout: limits.httpKeepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(shortestTimeoutMs / 4))),
  };
}

/**
 * Fastify options for the edge: the server options above (merged into the TLS options
 * when the API is HTTPS, since node:https takes the same ones), and problem+json for the
 * errors Fastify and Node answer themselves.
 */
export function httpEdgeOptions(limits: HttpLimits, problemContext: ProblemContext, https: HttpsServerOptions | undefined) {
  const server = nodeServerOptions(limits);
  return {
    http: server,
    ...(https ? { https: { ...https, ...server } } : {}),
    // Fastify sets these on the server again after creating it, with its own defaults
    // (no request timeout at all) when they are not given.
    requestTimeout: limits.httpRequestTimeoutMs,
    keepAliveTimeout: limits.httpKeepAliveTimeoutMs,
    // JSON.parse makes `__proto__` an own property, never the prototype: valid JSON is data.
    onProtoPoisoning: 'ignore' as const,
    onConstructorPoisoning: 'ignore' as const,
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => sendProblem(reply, problemForError(error, problemContext)),
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket, limits.httpHeaderBytesMax),
  };
}

/**
 * Node's 'clientError' (a timeout, oversized headers, bytes that are not HTTP) comes with a
 * socket and no request. A reset socket needs nothing; one already sending an answer can
 * only be cut, since a second status line would corrupt the first answer.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket, headerBytesMax: number): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (answering?.headersSent === true) {
    socket.destroy();
    return;
  }
  writeRawProblem(socket, clientErrorProblem(error.code, headerBytesMax));
}
