// Every error answer is RFC 9457 problem details (`application/problem+json`) with a
// stable `type` per cause and a `detail` that says what to change (docs/design.md,
// "Errors are values at the edges").
// This file maps every failure the API can meet to one such answer; nothing else leaks.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  ConsistencyError,
  IdempotencyKeyInFlightError,
  IdempotencyKeyReusedError,
  InsufficientStorageError,
  OutcomeUnknownError,
  ReadFailedError,
  StorageFailedError,
  StorageFullError,
  UnavailableError,
} from '@ringkv/core';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extra: string]: unknown;
}

export const problemContentType = 'application/problem+json';

/** A failure the API raises on purpose; the error handler turns it into its problem. */
export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(status: number, code: string, title: string, detail: string, extra: Record<string, unknown> = {}) {
    super(detail);
    this.problem = problemOf(status, code, title, detail, extra);
  }
}

/** What every ringkv problem type starts with; the stable code follows. */
export const problemTypePrefix = 'urn:ringkv:problem:';

export function problemOf(status: number, code: string, title: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: `${problemTypePrefix}${code}`, title, status, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  const retryAfter = retryAfterOf(problem);
  if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
  return reply.code(problem.status).type(problemContentType).send(problem);
}

/** Answers `problem` on a node:http response that no Fastify reply wraps (key-read-fast-path.ts), as sendProblem does. */
export function writeProblem(response: ServerResponse, problem: Problem, headers: Record<string, string>): void {
  const body = JSON.stringify(problem);
  const retryAfter = retryAfterOf(problem);
  response.writeHead(problem.status, {
    ...headers,
    ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
    'content-type': `${problemContentType}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** A problem that says when to come back says it in the header too (RFC 9110, section 10.2.3). */
function retryAfterOf(problem: Problem): string | undefined {
  return typeof problem.retryAfterSeconds === 'number' ? String(problem.retryAfterSeconds) : undefined;
}

export interface ProblemContext {
  maxValueBytes: number;
  /**
   * What the route's body is, for the hint after a bad one (`describeBodyShape`): a key's
   * `{"value": <any JSON>}` when absent; null for a route that takes no body.
   */
  bodyShape?: string | null;
}

/** The body of a key's PUT, the hint where a route says nothing of its own. */
const valueBodyShape = '{"value": <any JSON>}';

/** The hint after a bad body: what to send instead, or that none is wanted. */
function bodyHint(context: ProblemContext): string {
  const shape = context.bodyShape === undefined ? valueBodyShape : context.bodyShape;
  return shape === null ? 'this request takes no body' : `send ${shape}`;
}

/**
 * A route's body schema (JSON Schema, as TypeBox builds it) in one line for a problem's
 * detail: `{"value": <any JSON>}`, `{"transferMbPerSecond"?: <number 0..100000>}`; null
 * without a body schema, so that no route's error advises another route's body.
 */
export function describeBodyShape(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null) return null;
  const { properties, required } = schema as { properties?: Record<string, unknown>; required?: readonly string[] };
  if (properties === undefined) return null;
  const fields = Object.entries(properties).map(([name, property]) => `"${name}"${required?.includes(name) === true ? '' : '?'}: ${describeValueShape(property)}`);
  return `{${fields.join(', ')}}`;
}

function describeValueShape(property: unknown): string {
  const { type, minimum, maximum } = (property ?? {}) as { type?: unknown; minimum?: unknown; maximum?: unknown };
  if (type === 'array') return '[...]';
  if (type === 'object') return '{...}';
  if (typeof type !== 'string') return '<any JSON>';
  const bounds = typeof minimum === 'number' && typeof maximum === 'number' ? ` ${minimum}..${maximum}` : '';
  return `<${type}${bounds}>`;
}

/** Maps any error thrown while serving a request to its problem. */
export function problemForError(error: unknown, context: ProblemContext): Problem {
  if (error instanceof ProblemError) return error.problem;
  if (error instanceof ConsistencyError) return problemOf(400, 'bad-consistency', 'Invalid consistency level', error.message);
  if (error instanceof UnavailableError) {
    return problemOf(503, 'unavailable', 'Not enough replicas available', error.message, { required: error.required, failures: error.failures, applied: false });
  }
  if (error instanceof OutcomeUnknownError) {
    return problemOf(504, 'outcome-unknown', 'Write outcome unknown', error.message, {
      required: error.required,
      acks: error.acks,
      failures: error.failures,
    });
  }
  if (error instanceof InsufficientStorageError) {
    return problemOf(507, 'insufficient-storage', 'Insufficient storage', error.message, {
      required: error.required,
      fullNodes: error.fullNodes,
      failures: error.failures,
      applied: false,
    });
  }
  if (error instanceof StorageFullError) {
    return problemOf(507, 'insufficient-storage', 'Insufficient storage', error.message, { applied: false });
  }
  if (error instanceof StorageFailedError) {
    return problemOf(503, 'storage-failed', 'Storage failed', error.message, { applied: false });
  }
  if (error instanceof IdempotencyKeyReusedError) return problemOf(422, 'idempotency-key-reused', 'Idempotency-Key reused', error.message, { applied: false });
  if (error instanceof IdempotencyKeyInFlightError) {
    return problemOf(409, 'idempotency-key-in-flight', 'Idempotent write in flight', error.message, { applied: false, retryAfterSeconds: 1 });
  }
  if (error instanceof ReadFailedError) {
    return problemOf(error.timedOut ? 504 : 503, 'read-failed', 'Not enough replicas answered', error.message, {
      required: error.required,
      replies: error.replies,
      failures: error.failures,
    });
  }
  return problemForFastifyError(error as FastifyError, context);
}

function problemForFastifyError(error: FastifyError, context: ProblemContext): Problem {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemOf(
        413,
        'value-too-large',
        'Value too large',
        `the request body is larger than this node's limit of ${context.maxValueBytes} bytes (the whole body, ` +
          '{"value": ...} included); store a smaller value, or start the nodes with a larger --max-value-bytes (RINGKV_MAX_VALUE_BYTES)',
        { limitBytes: context.maxValueBytes },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemOf(415, 'unsupported-media-type', 'Unsupported media type', 'send the body as JSON with the header Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problemOf(400, 'missing-body', 'Missing body', `the body is empty; ${bodyHint(context)}${context.bodyShape === null ? ': send it without Content-Type: application/json' : ''}`);
    case 'FST_ERR_BAD_URL':
      return problemOf(
        400,
        'bad-url',
        'Malformed URL',
        'the path is not valid percent-encoding (a % must be followed by two hex digits forming UTF-8); encode keys with encodeURIComponent',
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problemOf(414, 'key-too-long', 'Key too long', 'a path segment is far longer than any key may be; keys are at most 1024 UTF-8 bytes');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problemOf(400, 'malformed-json', 'Malformed JSON', `${error.message}; ${bodyHint(context)}`);
    default:
      break;
  }
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    return problemOf(400, 'invalid-request', 'Invalid request', `${error.message}${where === 'body' ? `; ${bodyHint(context)}` : ''}`);
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return problemOf(400, 'malformed-json', 'Malformed JSON', `the body is not valid JSON (${error.message}); ${bodyHint(context)}`);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return problemOf(error.statusCode, 'bad-request', 'Bad request', error.message);
  }
  return problemOf(500, 'internal', 'Internal error', 'the node failed to handle this request; it has been logged. Retry, or report it with the node log');
}

export function notFoundProblem(request: FastifyRequest): Problem {
  return problemOf(
    404,
    'no-such-route',
    'Not found',
    `there is no ${request.method} ${request.url.split('?')[0]}; see /docs for the API`,
  );
}

/** The answer to a connection Node refused before any route saw it (a 'clientError'). */
export function clientErrorProblem(code: string | undefined, headerBytesMax: number): Problem {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return problemOf(
        408,
        'request-timeout',
        'Request timeout',
        'the request (headers and body) did not arrive in time; send it promptly, or start the nodes with a larger ' +
          '--http-request-timeout-ms or --http-headers-timeout-ms',
      );
    case 'HPE_HEADER_OVERFLOW':
      return problemOf(
        431,
        'headers-too-large',
        'Request headers too large',
        `the request line and headers are larger than ${headerBytesMax} bytes; send fewer or shorter headers, ` +
          'or start the nodes with a larger --http-header-bytes-max',
        { limitBytes: headerBytesMax },
      );
    default:
      return problemOf(400, 'bad-http', 'Malformed HTTP request', `the request is not valid HTTP/1.1 (${code ?? 'parse error'}); send a well-formed request`);
  }
}

/** An Upgrade this node does not speak: only the peer protocol upgrades (packages/server/src/transport/peer-server.ts). */
export function upgradeRefusedProblem(upgrade: string | undefined, path: string | undefined): Problem {
  return problemOf(
    400,
    'upgrade-refused',
    'Upgrade not supported',
    `this node does not switch ${path ?? 'this request'} to "${upgrade ?? ''}": only GET /peer/v1 upgrades, to ringkv-peer (its peer protocol). ` +
      'Send API requests without the Upgrade and Connection: upgrade headers',
  );
}

/** An HTTP/1.1 response carrying `problem`, for sockets no Fastify reply owns any more. */
export function rawProblemResponse(problem: Problem): string {
  const body = JSON.stringify(problem);
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
    `Content-Type: ${problemContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Answers `problem` on a raw socket and closes it once written. For Node's 'clientError'
 * and for refused upgrades, where there is no request object to reply through.
 */
export function writeRawProblem(socket: Duplex, problem: Problem): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawProblemResponse(problem), () => socket.destroy());
}
