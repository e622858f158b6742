// The plain key read, GET /store/{key} with at most ?r=, answered outside Fastify
// (docs/design.md, "The request path"). It is the request a cache-like client sends most, and at
// r=one Fastify's routing, hooks, schema checks and reply machinery cost about as much CPU
// as the read itself (issue 14, "The read path"). Only a read that needs nothing but the
// answer takes it: one that passes authentication silently, carries no Origin and no body, asks no
// serial read, fits the node's load bound and holds nothing a route would decode
// differently. Anything else, refusals included, goes the long way, where the hooks answer
// it and audit it. What the long way guarantees the short one keeps: the connection's
// turn (request-order.ts), the load bound (load-shedding.ts), readiness, the metrics, and
// the same answer byte for byte (key-read-fast-path.test.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import { isValidKey, replicaCountOf, type ReplicaCount } from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { keyReadPasses, type ApiSecurity } from './auth.js';
import type { LoadShedder } from './load-shedding.js';
import { problemForError, writeProblem, type Problem } from './problems.js';
import type { ConnectionTurns } from './request-order.js';
import { keyNotFound, storedAnswer, versionHeaders } from './store-routes.js';

const storePrefix = '/store/';
/**
 * Path characters a key may hold here: RFC 3986's unreserved and sub-delims, ':', '@' and
 * '/'. A percent escape, ';' or any other byte takes the long way, whose router decodes it.
 */
const plainKeyPath = /^[A-Za-z0-9._~!$&'()*+,=:@/-]+$/;
const plainReadLevel = /^r=[A-Za-z0-9]+$/;
const jsonContentType = 'application/json; charset=utf-8';

/** Counts one answer of the key-read route in the metrics, as its onResponse hook does. */
export type AnswerObserver = (statusCode: number, elapsedMs: number) => void;

export interface KeyReadFastPathDeps {
  api: Pick<ApiDeps, 'coordinator' | 'replicas' | 'admitClients' | 'maxValueBytes'>;
  security: ApiSecurity;
  shedder: LoadShedder;
  turns: ConnectionTurns;
  observe: AnswerObserver;
  log: FastifyBaseLogger;
}

/** The key and read level of a plain key read, or undefined for any other request. */
export function plainKeyRead(method: string | undefined, url: string | undefined): { key: string; level: string | undefined } | undefined {
  if (method !== 'GET' || url === undefined || !url.startsWith(storePrefix)) return undefined;
  const queryAt = url.indexOf('?', storePrefix.length);
  const key = queryAt < 0 ? url.slice(storePrefix.length) : url.slice(storePrefix.length, queryAt);
  if (!plainKeyPath.test(key) || !isValidKey(key)) return undefined;
  if (queryAt < 0) return { key, level: undefined };
  const query = url.slice(queryAt + 1);
  if (!plainReadLevel.test(query)) return undefined;
  const level = query.slice(2);
  return level.toLowerCase() === 'serial' ? undefined : { key, level };
}

export class KeyReadFastPath {
  private deps: KeyReadFastPathDeps | undefined;

  /** Serves nothing until the routes exist, so a request never meets half an API. */
  enable(deps: KeyReadFastPathDeps): void {
    this.deps = deps;
  }

  /** Answers `request` if it is a plain key read; false leaves it to Fastify, untouched. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    const deps = this.deps;
    if (deps === undefined) return false;
    const read = plainKeyRead(request.method, request.url);
    const headers = request.headers;
    // A body on a GET is the route's to judge (and the load bound's to count).
    if (read === undefined || headers.origin !== undefined || headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0') return false;
    const { api, shedder, turns } = deps;
    const socket = request.socket;
    // A turn that is taken, a node at its load bound or not ready, a token that does not
    // pass: the long way queues, sheds or refuses it with the same answer as always.
    if (!turns.isFree(socket) || !shedder.hasRoomFor(0) || !api.admitClients()) return false;
    if (!keyReadPasses(deps.security, headers.authorization, read.key)) return false;
    let count: ReplicaCount;
    try {
      count = replicaCountOf(read.level, api.replicas, 'r');
    } catch {
      return false;
    }
    const startedAtMs = performance.now();
    shedder.admit(0);
    turns.take(socket, response, () => this.read(deps, response, read.key, count, startedAtMs), () => shedder.release(0));
    return true;
  }

  private read(deps: KeyReadFastPathDeps, response: ServerResponse, key: string, count: ReplicaCount, startedAtMs: number): void {
    const answered = (status: number) => deps.observe(status, performance.now() - startedAtMs);
    deps.api.coordinator.read(key, count).then(
      (result) => {
        if (result.record === undefined || result.record.tombstone) {
          this.problem(response, keyNotFound(key, result.record));
        } else {
          const body = JSON.stringify(storedAnswer(key, result.record));
          const [etag, acks] = versionHeaders(result.record, result.replies);
          response.writeHead(200, { vary: 'Origin', etag, 'x-ringkv-acks': acks, 'content-type': jsonContentType, 'content-length': Buffer.byteLength(body) });
          response.end(body);
        }
        answered(response.statusCode);
      },
      (error: unknown) => {
        const problem = problemForError(error, { maxValueBytes: deps.api.maxValueBytes });
        if (problem.status >= 500 && problem.type.endsWith(':internal')) deps.log.error({ err: error }, 'request failed');
        this.problem(response, problem);
        answered(problem.status);
      },
    ).catch((error: unknown) => {
      // Writing the answer itself failed: the connection is cut rather than the process.
      deps.log.error({ err: error }, 'answering a key read failed');
      response.destroy();
    });
  }

  private problem(response: ServerResponse, problem: Problem): void {
    if (response.headersSent || response.destroyed) return;
    writeProblem(response, problem, { vary: 'Origin' });
  }
}
