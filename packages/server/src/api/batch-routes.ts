// POST /batch (issue 11, part 4): many store operations in one request, each answered with
// the status and body its single request (PUT, GET or DELETE /store/{key}) would have had.
// It saves the round trips and the per-request cost of HTTP, not replica work: every op
// still goes through the coordinator (or the key's Paxos round) exactly as its single
// request would. A batch is not atomic: each op succeeds or fails on its own, and an op
// that failed does not undo the ops before it.
//
// The whole batch is checked before anything runs, so a malformed op is a 400 naming its
// index with nothing done, and more ops or bytes than
// the limits is a 413. Ops on one key run one after another in the order given; ops on
// different keys run concurrently, at most batchOpsConcurrentMax at once. Each op is
// authorised as its single request would be (role and key prefix): a refused op answers
// 403 in its result and the others still run.
import { performance } from 'node:perf_hooks';
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  batchOpsConcurrentMax,
  batchOpsMax,
  ConsistencyError,
  formatVersion,
  isValidKey,
  keyBytesMax,
  PreconditionFailedError,
  replicaCountOf,
  utf8Length,
  type ReplicaCount,
  type StoredRecord,
  type WriteChange,
} from '@ringkv/core';
import { BatchAnswerSchema, batchBodySchema, type BatchOp, type BatchResult } from '@ringkv/client/batch-schemas';
import type { ApiDeps } from './api-deps.js';
import type { CallerIdentity } from './auth.js';
import { ProblemError, problemForError, problemOf, sendProblem, type Problem } from './problems.js';
import { carriedBodyValue } from './proto-key-bodies.js';
import { roleAllows, type Role } from './route-access.js';
import { problemResponse, problemResponses } from './schemas.js';
import { keyNotFound, requireReady, storedAnswer } from './store-routes.js';
import { ttlFromJson } from './write-options.js';
import { preconditionProblem, requestedCondition, weakTagProblem, type RequestedCondition } from './write-conditions.js';

/** What the batch route needs from the node (docs/style.md, "No god objects"). */
export type BatchDeps = Pick<ApiDeps, 'nodeId' | 'replicas' | 'maxValueBytes' | 'admitClients' | 'coordinator' | 'paxos' | 'traffic' | 'security'>;

type ConditionalWrite = Exclude<RequestedCondition, { kind: 'none' }>;
type WriteMode = { kind: 'plain'; w: ReplicaCount } | ConditionalWrite;

/** An op once checked: everything its single request would have parsed, ready to run. */
type PlannedOp =
  | { op: 'put'; key: string; value: unknown; echoed: unknown; ttlSeconds: number | undefined; write: WriteMode }
  | { op: 'delete'; key: string; write: WriteMode }
  | { op: 'get'; key: string; read: ReplicaCount | 'serial' };

const BatchBody = batchBodySchema({ batchOpsMax, keyBytesMax });
const opShape = '{"op": "put"|"get"|"delete", "key": "...", "value"?: <any JSON>, "w"?, "r"?, "ifMatch"?, "ifNoneMatch"?: "*", "ttl"?: <seconds>}';

export const batchRoutes: FastifyPluginAsync<{ deps: BatchDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/batch',
    {
      schema: {
        tags: ['store'],
        operationId: 'runBatch',
        summary: 'Run many store operations in one request',
        description:
          `Runs up to ${batchOpsMax} puts, gets and deletes, each with its own consistency (w, r) or condition (ifMatch, ifNoneMatch), ` +
          'and answers one result per op, in order: the status and body its single request to /store/{key} would have had. ' +
          'NOT atomic: each op succeeds or fails on its own, and a failed op undoes nothing. Ops on one key take effect in the order given; ' +
          'ops on different keys run concurrently. The whole body counts against --max-value-bytes. Each op is authorised as its single ' +
          'request would be: a token may send a batch with role read, and an op it may not run answers 403 in its result.',
        body: BatchBody,
        response: {
          200: BatchAnswerSchema,
          400: problemResponse('A malformed op (its index is in opIndex and the detail) or malformed JSON; nothing in the batch was done'),
          413: problemResponse(`More than ${batchOpsMax} ops, or a body larger than --max-value-bytes; nothing in the batch was done`),
          ...problemResponses(415, 503),
        },
      },
      // Checked here rather than by Fastify's handler, so that an error names the op and a count over the limit is a 413.
      attachValidation: true,
      errorHandler: (error, request, reply) => sendProblem(reply, batchErrorProblem(error, request, deps.maxValueBytes)),
      // The results hold bodies already shaped by the same code as the single requests; plain JSON.stringify writes them
      // exactly (a union of schemas would make the serializer test each result against each shape).
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request, reply) => {
      if (request.validationError !== undefined) return sendProblem(reply, invalidBodyProblem(request.validationError, request.body));
      const planned = request.body.ops.map((op, index) => planOp(op, index, deps.replicas, request.body));
      requireReady(deps);
      const refusals = planned.map((op) => refusalOf(op, request.caller));
      noteRefusals(request, deps, refusals);
      const results = await runOps(planned, refusals, deps, request);
      return { results };
    },
  );
};

/** The Ajv error of a body that is not the batch shape, as a 413 (too many ops) or a 400 naming the op. */
interface AjvError {
  instancePath: string;
  message?: string;
  keyword: string;
  params?: { additionalProperty?: string };
}

function invalidBodyProblem(error: Error & { validation?: AjvError[] }, body: unknown): Problem {
  const ops = (body as { ops?: unknown } | null)?.ops;
  if (Array.isArray(ops) && ops.length > batchOpsMax) return tooManyOpsProblem(ops.length);
  const first = error.validation?.[0];
  const path = first?.instancePath ?? '';
  const match = /^\/ops\/([0-9]+)(?:\/([A-Za-z]+))?/.exec(path);
  if (match === null) {
    return problemOf(400, 'invalid-batch', 'Invalid batch', `the body ${path === '' ? '' : `at ${path} `}${first?.message ?? 'is not a batch'}; send {"ops": [${opShape}, ...]}`);
  }
  const opIndex = Number(match[1]);
  const field = match[2];
  const hint = field === undefined ? `each op is ${opShape}` : fieldHints[field] ?? `each op is ${opShape}`;
  const unknownField = first?.keyword === 'additionalProperties' ? first.params?.additionalProperty : undefined;
  // Ajv says "must be equal to constant" for a wrong op kind or ifNoneMatch; the value itself says more.
  const given = field === undefined ? undefined : (ops as Array<Record<string, unknown>>)[opIndex]?.[field];
  const outOfSet = field !== undefined && ['const', 'enum', 'anyOf'].includes(first?.keyword ?? '');
  const what =
    unknownField !== undefined
      ? `the op has an unknown field ${JSON.stringify(unknownField)}`
      : outOfSet
        ? `${field} ${String(JSON.stringify(given)).slice(0, 80)} is not allowed`
        : `${field ?? 'the op'} ${first?.message ?? 'is malformed'}`;
  return problemOf(400, 'invalid-batch-op', 'Invalid batch op', `op ${opIndex}: ${what}; ${hint}. Nothing in the batch was done`, { opIndex, applied: false });
}

const fieldHints: Record<string, string> = {
  op: 'op is "put", "get" or "delete"',
  key: 'key is a string of 1..1024 UTF-8 bytes',
  w: 'w is one, quorum, all or a replica count, as a string',
  r: 'r is one, quorum, all, a replica count or serial, as a string',
  ifMatch: 'ifMatch is the version you read, as a string ("17320-n1")',
  ifNoneMatch: 'ifNoneMatch is "*" (create only if the key is absent or deleted)',
};

function tooManyOpsProblem(count: number): Problem {
  return problemOf(
    413,
    'batch-too-large',
    'Batch too large',
    `the batch holds ${count} ops; a batch holds at most ${batchOpsMax}: split it into several batches. Nothing in the batch was done`,
    { limitOps: batchOpsMax, applied: false },
  );
}

/** Errors before the handler ran (the body parser) or thrown by it, with the body limit told as a batch's. */
function batchErrorProblem(error: FastifyError, request: FastifyRequest, maxValueBytes: number): Problem {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return problemOf(
      413,
      'batch-too-large',
      'Batch too large',
      `the batch body is larger than this node's limit of ${maxValueBytes} bytes (--max-value-bytes bounds a batch's whole body): ` +
        'split it into several batches, or start the nodes with a larger --max-value-bytes. Nothing in the batch was done',
      { limitBytes: maxValueBytes, applied: false },
    );
  }
  const problem = problemForError(error, { maxValueBytes });
  if (problem.status >= 500 && problem.type.endsWith(':internal')) request.log.error({ err: error }, 'batch failed');
  // The single requests' malformed-body hint speaks of {"value": ...}; a batch's body is the list of ops.
  if (problem.type.endsWith(':malformed-json')) return { ...problem, detail: `the body is not valid JSON (${error.message}); send {"ops": [${opShape}, ...]}` };
  return problem;
}

/** Checks one op as its single request would be checked, throwing a 400 that names it. */
function planOp(op: BatchOp, index: number, replicas: number, body: object): PlannedOp {
  const refuse = (detail: string): never => {
    throw new ProblemError(400, 'invalid-batch-op', 'Invalid batch op', `op ${index}: ${detail}. Nothing in the batch was done`, { opIndex: index, applied: false });
  };
  checkKey(op.key, refuse);
  const given = (field: 'value' | 'w' | 'r' | 'ifMatch' | 'ifNoneMatch' | 'ttl') => op[field] !== undefined;
  const unexpected = (fields: Array<'value' | 'w' | 'r' | 'ifMatch' | 'ifNoneMatch' | 'ttl'>) => fields.find(given);
  if (op.op === 'get') {
    const extra = unexpected(['value', 'w', 'ifMatch', 'ifNoneMatch', 'ttl']);
    if (extra !== undefined) refuse(`a get takes no ${extra} (only key and r)`);
    return { op: 'get', key: op.key, read: readLevelOf(op.r, replicas, refuse) };
  }
  if (op.r !== undefined) refuse(`a ${op.op} takes w, not r`);
  if (op.op === 'put' && !given('value')) refuse(`a put needs a value: {"op": "put", "key": ${JSON.stringify(op.key)}, "value": <any JSON>}`);
  if (op.op === 'delete' && given('value')) refuse('a delete takes no value');
  if (op.op === 'delete' && given('ttl')) refuse('a delete takes no ttl');
  const write = writeModeOf(op, op.op === 'put' ? 'PUT' : 'DELETE', replicas, index);
  if (op.op === 'delete') return { op: 'delete', key: op.key, write };
  let ttlSeconds: number | undefined;
  try {
    ttlSeconds = ttlFromJson(op.ttl);
  } catch (error) {
    refuse(error instanceof ProblemError ? error.problem.detail.replace(/; nothing was written$/, '') : String(error));
  }
  // A value holding a "__proto__" key is carried as JSON text, as in a single PUT (proto-key-bodies.ts).
  return { op: 'put', key: op.key, value: carriedBodyValue(body, op.value), echoed: op.value, ttlSeconds, write };
}

function checkKey(key: string, refuse: (detail: string) => never): void {
  if (isValidKey(key)) return;
  if (key.length === 0) refuse('the key is empty; keys are 1..1024 UTF-8 bytes');
  refuse(`the key is ${utf8Length(key)} UTF-8 bytes; keys are at most ${keyBytesMax} bytes`);
}

function readLevelOf(r: string | undefined, replicas: number, refuse: (detail: string) => never): ReplicaCount | 'serial' {
  if (r !== undefined && r.trim().toLowerCase() === 'serial') return 'serial';
  try {
    return replicaCountOf(r, replicas, 'r');
  } catch (error) {
    if (error instanceof ConsistencyError) refuse(`${error.message}, or serial for a read linearizable with conditional writes`);
    throw error;
  }
}

/**
 * A write's consistency or condition, judged by the same code as the If-Match and
 * If-None-Match headers of a single request (write-conditions.ts). `ifMatch` is taken as
 * the version an answer gave ("17320-n1") or as its ETag with the quotes.
 */
function writeModeOf(op: BatchOp, method: 'PUT' | 'DELETE', replicas: number, index: number): WriteMode {
  const ifMatch = op.ifMatch !== undefined && /^[0-9]+-/.test(op.ifMatch) ? `"${op.ifMatch}"` : op.ifMatch;
  try {
    const requested = requestedCondition({ 'if-match': ifMatch, 'if-none-match': op.ifNoneMatch }, method, op.w !== undefined);
    if (requested.kind !== 'none') return requested;
    return { kind: 'plain', w: replicaCountOf(op.w, replicas, 'w') };
  } catch (error) {
    if (error instanceof ConsistencyError) throw asOpError(index, problemOf(400, 'bad-consistency', 'Invalid consistency level', error.message));
    if (error instanceof ProblemError) throw asOpError(index, error.problem);
    throw error;
  }
}

function asOpError(index: number, problem: Problem): ProblemError {
  const { type, title, detail, status: _status, ...extra } = problem;
  // The shared checks speak of the headers and query of a single request; a batch op has fields of those names.
  const opDetail = detail
    .replace(/; nothing was written$/, '')
    .replaceAll('If-None-Match', 'ifNoneMatch')
    .replaceAll('If-Match', 'ifMatch')
    .replace('drop ?w= from the URL', 'drop w from the op');
  return new ProblemError(400, type.replace('urn:ringkv:problem:', ''), title, `op ${index}: ${opDetail}. Nothing in the batch was done`, {
    ...extra,
    opIndex: index,
    applied: false,
  });
}

/** The 403 the single request would have had (auth.ts), or undefined when the caller may run the op. */
function refusalOf(op: PlannedOp, caller: CallerIdentity): Problem | undefined {
  if (!caller.authRequired) return undefined;
  const needed: Role = op.op === 'get' ? 'read' : 'write';
  const single = `${op.op === 'get' ? 'GET' : op.op === 'put' ? 'PUT' : 'DELETE'} /store/{key}`;
  if (!roleAllows(caller.role, needed)) {
    return problemOf(403, 'forbidden-role', 'Role not allowed', `${single} needs a token with role ${needed}; token "${caller.name}" has role ${caller.role}`, {
      requiredRole: needed,
    });
  }
  if (caller.prefix !== null && !op.key.startsWith(caller.prefix)) {
    return problemOf(403, 'forbidden-prefix', 'Key outside the token prefix', `token "${caller.name}" may reach only keys starting with "${caller.prefix}", not key "${op.key}"`, {
      prefix: caller.prefix,
    });
  }
  return undefined;
}

/** Refused ops count as auth failures like refused requests, with one audit line per batch rather than one per op. */
function noteRefusals(request: FastifyRequest, deps: BatchDeps, refusals: ReadonlyArray<Problem | undefined>): void {
  let refused = 0;
  for (const refusal of refusals) {
    if (refusal === undefined) continue;
    refused++;
    deps.security.auditCounters.authFailures.inc({ reason: refusal.type.endsWith(':forbidden-role') ? 'role' : 'prefix' });
  }
  if (refused === 0) return;
  request.log.warn({ audit: 'auth-failure', reason: 'batch-ops', who: request.caller.name, refusedOps: refused, from: request.ip }, 'batch ops refused');
}

/**
 * Runs the ops: those on one key one after another in the order given, the keys by a pool
 * of at most batchOpsConcurrentMax workers. Every op gets a result; none throws.
 */
async function runOps(planned: readonly PlannedOp[], refusals: ReadonlyArray<Problem | undefined>, deps: BatchDeps, request: FastifyRequest): Promise<BatchResult[]> {
  const results: BatchResult[] = new Array<BatchResult>(planned.length);
  const byKey = new Map<string, number[]>();
  for (const [index, op] of planned.entries()) {
    const indexes = byKey.get(op.key);
    if (indexes === undefined) byKey.set(op.key, [index]);
    else indexes.push(index);
  }
  const groups = [...byKey.values()];
  let nextGroup = 0;
  const worker = async (): Promise<void> => {
    while (nextGroup < groups.length) {
      const group = groups[nextGroup++] as number[];
      for (const index of group) {
        const refusal = refusals[index];
        results[index] = refusal !== undefined ? { status: refusal.status, body: refusal } : await runOp(planned[index] as PlannedOp, deps, request);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(batchOpsConcurrentMax, groups.length) }, worker));
  return results;
}

async function runOp(op: PlannedOp, deps: BatchDeps, request: FastifyRequest): Promise<BatchResult> {
  const startedMs = performance.now();
  try {
    return await resultOf(op, deps);
  } catch (error) {
    const problem = error instanceof PreconditionFailedError ? preconditionProblem(error).problem : problemForError(error, { maxValueBytes: deps.maxValueBytes });
    if (problem.status >= 500 && problem.type.endsWith(':internal')) request.log.error({ err: error, key: op.key, op: op.op }, 'batch op failed');
    return { status: problem.status, body: problem };
  } finally {
    // Each op counts as a request in the node's traffic view (/node-info, the dashboard).
    deps.traffic.record(performance.now() - startedMs);
  }
}

async function resultOf(op: PlannedOp, deps: BatchDeps): Promise<BatchResult> {
  if (op.op === 'get') {
    const record = op.read === 'serial' ? await deps.paxos.read(op.key) : (await deps.coordinator.read(op.key, op.read)).record;
    if (record === undefined || record.tombstone) return { status: 404, body: keyNotFound(op.key, record) };
    return { status: 200, body: storedAnswer(op.key, record) };
  }
  const change: WriteChange = op.op === 'put' ? { value: op.value, tombstone: false, ttlSeconds: op.ttlSeconds } : { value: undefined, tombstone: true };
  const record = await written(op.key, change, op.write, deps);
  const version = formatVersion(record);
  return { status: 200, body: op.op === 'put' ? storedAnswer(op.key, { ...record, value: op.echoed }) : { key: op.key, deleted: true, version } };
}

/** A write as its single request makes it: a quorum write, or the key's Paxos round when it carries a condition. */
async function written(key: string, change: WriteChange, write: WriteMode, deps: BatchDeps): Promise<StoredRecord> {
  if (write.kind === 'plain') {
    return (change.tombstone ? await deps.coordinator.delete(key, write.w) : await deps.coordinator.put(key, change.value, write.w, change.ttlSeconds)).record;
  }
  // A weak tag never matches; the 412 still tells the version the key holds, read linearizably.
  if (write.kind === 'never-matches') throw weakTagProblem(write.tag, await deps.paxos.read(key));
  return (await deps.paxos.write(key, change, write.condition)).record;
}

