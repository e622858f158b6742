// Which data-movement jobs an operator can pause or resume, and where to send the
// request. Only transfers can be paused (a cleanup deletes what the node gave up and is
// not worth holding back), and only by the node that runs them: POST /jobs/{id}/pause
// answers 404 on any other node.
import type { ClusterNodes, Job } from '@ringkv/client';

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
 * Base URL of the API of the node that runs a job: '' (this page's origin) when it is
 * the serving node, `http://<address>` for another member, null for a node the serving
 * node does not list (it left since the jobs were read).
 */
export function jobNodeBaseUrl(view: Pick<ClusterNodes, 'gatheredBy' | 'nodes'>, nodeId: string): string | null {
  if (nodeId === view.gatheredBy) return '';
  const member = view.nodes.find((node) => node.nodeId === nodeId);
  return member === undefined ? null : `http://${member.address}`;
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
