// Changing the ring and watching the data move: POST /cluster/join moves the node that
// receives it from standby into the ring, POST /cluster/leave decommissions it (either,
// with ?node=<id>, asked of another member through this one, as the dashboard does),
// POST /cluster/remove/{nodeId} takes out a dead member, and
// every data movement is a job (GET /jobs on a node, GET /cluster/jobs for all of them)
// that can be paused and resumed.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { RingkvError, type RingChange } from '@ringkv/client';
import type { RingChangeResult } from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { bearerOf } from './auth.js';
import { ProblemError, problemTypePrefix } from './problems.js';
import { JobControlQuery, JobControlSchema, JobListSchema, JobParams, NodeParams, PaceQuery, PaceSchema, PaceUpdateSchema, RingChangeQuery, RingChangeSchema } from '@ringkv/client/schemas';
import { problemResponses } from './schemas.js';

function accepted(result: RingChangeResult, nodeId: string) {
  if (result.ok) return { nodeId, ringStatus: result.ringStatus, message: result.message };
  if (result.reason === 'not-found') throw new ProblemError(404, 'no-such-member', 'No such member', result.message);
  throw new ProblemError(409, 'ring-change-refused', 'Ring change refused', result.message);
}

/** Join or leave on this node, or (with `node`, another member's id) asked of that member. */
async function changeRing(deps: ApiDeps, action: 'join' | 'leave', node: string | undefined, token: string | undefined): Promise<RingChange> {
  if (node === undefined || node === deps.nodeId) return accepted(await deps.ring[action](), deps.nodeId);
  let change;
  try {
    change = await deps.ring.forward(action, node, token);
  } catch (error) {
    throw forwardedRingChangeProblem(error, action, node);
  }
  if (change === undefined) throw new ProblemError(404, 'no-such-member', 'No such member', `no member is called ${node}; GET /cluster/nodes lists them`);
  return change;
}

/**
 * What a join or leave asked of member `node` answers when the member did not accept it
 * (`forwardedProblem`). A member that did not answer is a 502 that cannot say whether the
 * change was made.
 */
export function forwardedRingChangeProblem(error: unknown, action: 'join' | 'leave', node: string): ProblemError {
  return forwardedProblem(error, node, `so its ${action} may or may not have begun: check its ring status in GET /cluster/nodes before asking again`);
}

/**
 * What a request forwarded to member `node` answers when the member did not accept it. Its
 * own problem is passed on as it answered (a 409 says why it refused, a 400 what it did not
 * take), naming the member, except a 401: this node took the token, so the caller is signed
 * in and the member's token file differs; a 401 would send a dashboard back to its sign-in
 * form. A member that did not answer is a 502 whose detail goes on with `unanswered`.
 */
export function forwardedProblem(error: unknown, node: string, unanswered: string): ProblemError {
  if (error instanceof RingkvError) {
    const { type, title, status, detail, ...extra } = error.problem;
    if (status === 401) {
      return new ProblemError(403, 'member-refused-token', 'Member refused the token', `${node} does not accept this token (${detail}); give every member the same --auth-file`, { member: node });
    }
    const code = type.startsWith(problemTypePrefix) ? type.slice(problemTypePrefix.length) : 'member-problem';
    return new ProblemError(status, code, title, detail, { ...extra, member: node });
  }
  return new ProblemError(502, 'member-unreachable', 'Member unreachable', `${node} did not answer (${(error as Error).message}), ${unanswered}`, { member: node });
}

/** The 502 detail's end for a pace or job control that a member did not answer: asking again changes nothing twice. */
const retryWhenUp = 'retry, or check that it is up';

/** How join and leave answer for another member (`changeRing`), in their OpenAPI descriptions. */
const askedOfMember =
  "With ?node=<id> this node asks that member with the caller's token and passes on its answer, refusals included (the problem's member names it); " +
  '404 when no member has that id, 502 when it does not answer.';

export const ringRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['ring changes'];

  api.post(
    '/cluster/join',
    {
      schema: {
        tags,
        operationId: 'joinCluster',
        summary: 'Move this node (or, with ?node=, another member) from standby into the ring',
        description:
          'For a node started with --standby (a member that coordinates client requests but holds no data): it becomes joining, its ranges stream to it (watch GET /cluster/jobs), then it is normal. ' +
          'Refused (409) unless it is on standby. Answers once the members it reaches hold the change (the message says how many). ' +
          askedOfMember,
        querystring: RingChangeQuery,
        response: { 202: RingChangeSchema, ...problemResponses(404, 409, 502) },
      },
    },
    async (request, reply) => reply.code(202).send(await changeRing(deps, 'join', request.query.node, bearerOf(request))),
  );

  api.post(
    '/cluster/leave',
    {
      schema: {
        tags,
        operationId: 'leaveCluster',
        summary: 'Decommission this node (or, with ?node=, another member)',
        description:
          'The node becomes leaving: its ranges stream to their new owners (watch GET /cluster/jobs), then it becomes left and stops; a node on standby holds no ranges and is left at once. ' +
          'Refused (409) unless it is a normal member (or on standby) and at least N members remain. Answers once the members it reaches hold the change (the message says how many), so the change outlives this node. ' +
          askedOfMember,
        querystring: RingChangeQuery,
        response: { 202: RingChangeSchema, ...problemResponses(404, 409, 502) },
      },
    },
    async (request, reply) => reply.code(202).send(await changeRing(deps, 'leave', request.query.node, bearerOf(request))),
  );

  api.post(
    '/cluster/remove/:nodeId',
    {
      schema: {
        tags,
        operationId: 'removeMember',
        summary: 'Remove a dead member for good',
        description:
          'For a node that will never return: the surviving replicas re-replicate its ranges to their new owners (a member on standby or joining holds none and is left at once). ' +
          'Refused (409) while the member is up or suspect (ask it to leave instead), or if fewer than N members would remain. ' +
          'Answers once the members this node reaches hold the removal (the message says how many), so it outlives this node.',
        params: NodeParams,
        response: { 202: RingChangeSchema, ...problemResponses(404, 409) },
      },
    },
    async (request, reply) => reply.code(202).send(accepted(await deps.ring.remove(request.params.nodeId), request.params.nodeId)),
  );

  api.get(
    '/jobs',
    { schema: { tags, operationId: 'listJobs', summary: "This node's data-movement jobs", response: { 200: JobListSchema } } },
    async () => deps.ring.jobs(),
  );

  api.get(
    '/cluster/jobs',
    { schema: { tags, operationId: 'listClusterJobs', summary: "Every member's data-movement jobs, gathered by this node", response: { 200: JobListSchema } } },
    async (request) => deps.ring.clusterJobs(bearerOf(request)),
  );

  api.put(
    '/jobs/pace',
    {
      schema: {
        tags,
        operationId: 'setPace',
        summary: "Set the pace of this node's background jobs",
        description:
          'transferMbPerSecond sets the megabytes per second this node may receive in transfers (join, leave, removal); 0 lifts the cap. ' +
          'Background jobs also give way to client requests whatever the cap (backgroundShare in GET /jobs), down to a floor: backgroundShareMin sets it, from 0.01 to 1. ' +
          'A higher floor ends a ring change sooner while clients wait longer meanwhile; 1 means background jobs never give way. ' +
          'Give either or both. A change applies at once to running jobs and lasts until the node restarts, which starts again from --transfer-mb-per-s and --background-share-min. ' +
          "With ?node=<id> the request is forwarded to that member with the caller's token; its refusals are passed on (the problem's member names it).",
        querystring: PaceQuery,
        body: PaceUpdateSchema,
        response: { 200: PaceSchema, ...problemResponses(400, 404, 502) },
      },
    },
    async (request) => {
      let pace;
      try {
        pace = await deps.ring.setPace(request.body, request.query.node, bearerOf(request));
      } catch (error) {
        throw forwardedProblem(error, request.query.node ?? deps.nodeId, retryWhenUp);
      }
      if (pace === undefined) throw new ProblemError(404, 'no-such-member', 'No such member', `no member is called ${request.query.node ?? ''}; GET /cluster/nodes lists them`);
      return pace;
    },
  );

  for (const action of ['pause', 'resume'] as const) {
    api.post(
      `/jobs/:id/${action}`,
      {
        schema: {
          tags,
          operationId: `${action}Job`,
          summary: action === 'pause' ? 'Pause a transfer job on this node' : 'Resume a paused transfer job on this node',
          description:
            'The job state is kept on disk: a paused job stays paused across a restart. With ?node=<id> the request is forwarded to that member (job ids are per node).',
          params: JobParams,
          querystring: JobControlQuery,
          response: { 200: JobControlSchema, ...problemResponses(404, 502) },
        },
      },
      async (request) => {
        let result;
        try {
          result = await deps.ring[action](request.params.id, request.query.node, bearerOf(request));
        } catch (error) {
          throw forwardedProblem(error, request.query.node ?? deps.nodeId, retryWhenUp);
        }
        if (result === undefined) {
          const where = request.query.node ?? deps.nodeId;
          throw new ProblemError(404, 'no-such-job', 'No such job', `${where} runs no transfer job ${request.params.id}; GET /cluster/jobs lists every job with the node running it`);
        }
        return result;
      },
    );
  }
};
