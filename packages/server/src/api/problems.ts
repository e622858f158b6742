// Every error answer is RFC 9457 problem details (`application/problem+json`) with a
// stable `type` per cause and a `detail` that says what to change (DESIGN.md rule 3).
// This file maps every failure the API can meet to one such answer; nothing else leaks.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConsistencyError, OutcomeUnknownError, ReadFailedError, UnavailableError } from '@ringkv/core';

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

export function problemOf(status: number, code: string, title: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { type: `urn:ringkv:problem:${code}`, title, status, detail, ...extra };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(problemContentType).send(problem);
}

export interface ProblemContext {
  maxValueBytes: number;
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
        `the request body is larger than this node's value limit of ${context.maxValueBytes} bytes; ` +
          'store a smaller value, or start the nodes with a larger --max-value-bytes (RINGKV_MAX_VALUE_BYTES)',
        { limitBytes: context.maxValueBytes },
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemOf(415, 'unsupported-media-type', 'Unsupported media type', 'send the body as JSON with the header Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problemOf(400, 'missing-body', 'Missing body', 'the body is empty; send {"value": <any JSON>}');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problemOf(400, 'malformed-json', 'Malformed JSON', `${error.message}; send {"value": <any JSON>}`);
    default:
      break;
  }
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    return problemOf(400, 'invalid-request', 'Invalid request', `${error.message}${where === 'body' ? '; the body is {"value": <any JSON>}' : ''}`);
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return problemOf(400, 'malformed-json', 'Malformed JSON', `the body is not valid JSON (${error.message}); send {"value": <any JSON>}`);
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
