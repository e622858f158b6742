// Each member's place in the ring (standby, joining, normal, leaving, left) and whether data is
// moving. The serving node's member list is read first, like the State column: it also
// covers members that cannot be reached for their own /node-info.
import type { ClusterNodes, Job, RingStatus } from '@ringkv/client';

/** The member's ring status as the serving node sees it, else as the member reports it; null when neither knows. */
export function ringStatusOf(view: Pick<ClusterNodes, 'gatheredBy' | 'nodes'>, nodeId: string): RingStatus | null {
  const serving = view.nodes.find((node) => node.nodeId === view.gatheredBy)?.info ?? null;
  const listed = serving?.members.find((member) => member.nodeId === nodeId)?.ringStatus;
  if (listed !== undefined) return listed;
  return view.nodes.find((node) => node.nodeId === nodeId)?.info?.ringStatus ?? null;
}

/**
 * Data is moving while any job is unfinished or any member is joining or leaving (a
 * transfer shows up as a job only once the new ring has settled).
 */
export function isRebalancing(jobs: readonly Pick<Job, 'state'>[], ringStatuses: readonly (RingStatus | null)[]): boolean {
  return jobs.some((job) => job.state !== 'done') || ringStatuses.some((status) => status === 'joining' || status === 'leaving');
}
