// Which data-movement jobs an operator can pause or resume, and where to send the
// request. Only transfers can be paused (a cleanup deletes what the node gave up and is
// not worth holding back). The request goes to the serving node with ?node=<id>, which
// forwards it to the node that runs the job, so the page stays on its own origin.
import type { ClusterNodes, Job } from '@ringkv/client';
import { describeError } from './error-text.js';

export type JobAction = 'pause' | 'resume';

/** A job can be paused or resumed while it is an unfinished transfer. */
export function isControllable(job: Pick<Job, 'kind' | 'state'>): boolean {
  return job.kind !== 'cleanup' && job.state !== 'done';
}

/** The one action that would change the job now: resume a paused job, pause any other. */
export function applicableAction(job: Pick<Job, 'kind' | 'state'>): JobAction | null {
  if (!isControllable(job)) return null;
  return job.state === 'paused' ? 'resume' : 'pause';
}

/**
 * Base URL the control request goes to: '' (this page's origin, which forwards it) when
 * the job's node is a member the serving node lists, null when it is not (it left since
 * the jobs were read).
 */
export function jobNodeBaseUrl(view: Pick<ClusterNodes, 'gatheredBy' | 'nodes'>, nodeId: string): string | null {
  if (nodeId === view.gatheredBy) return '';
  return view.nodes.some((node) => node.nodeId === nodeId) ? '' : null;
}

/** Why a pause or resume failed, in one sentence. */
export function describeControlError(error: unknown, action: JobAction): string {
  return `${action === 'pause' ? 'Pause' : 'Resume'} failed: ${describeError(error)}`;
}

/** Jobs are named by id only within their node; two nodes can run the same transfer. */
export function jobKey(job: Pick<Job, 'node' | 'id'>): string {
  return `${job.node}/${job.id}`;
}

/** A pause or resume answer: the job as its node reported it right after the change. */
export interface ControlAnswer {
  job: Job;
  /** Browser time the answer arrived. */
  atMs: number;
}

/**
 * The polled jobs with each answered pause or resume applied until a poll newer than
 * the answer arrives, so a clicked button takes effect at once instead of up to one
 * poll later (and is not clicked twice meanwhile).
 */
export function withControlAnswers(
  jobs: readonly Job[],
  answers: ReadonlyMap<string, ControlAnswer>,
  polledAtMs: number | null,
): Job[] {
  return jobs.map((job) => {
    const answer = answers.get(jobKey(job));
    return answer !== undefined && (polledAtMs === null || answer.atMs > polledAtMs) ? answer.job : job;
  });
}

/** Unfinished jobs first (what an operator watches), each group in the server's order. */
export function orderJobs(jobs: readonly Job[]): Job[] {
  return [...jobs.filter((job) => job.state !== 'done'), ...jobs.filter((job) => job.state === 'done')];
}
