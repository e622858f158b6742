// The client the dashboard polls with: same origin, because every node serves the
// dashboard and answers the API on the same port (the dev server proxies the API).
// Pausing or resuming a job is the one request that must reach another node: only the
// node that runs a job controls it.
import { RingkvClient, type ClusterNodes, type JobList, type RingLayout } from '@ringkv/client';

const timeoutMs = 8_000;

export const client = new RingkvClient({ baseUrl: '', timeoutMs });

/** How often the cluster view refreshes; membership changes show within about this long. */
export const nodesPollMs = 1_500;
/** The ring changes only on join/leave, so it is fetched less often. */
export const ringPollMs = 5_000;
/** Data movement is watched as closely as the members. */
export const jobsPollMs = 1_500;

export const loadClusterNodes = (): Promise<ClusterNodes> => client.clusterNodes();
export const loadRing = (): Promise<RingLayout> => client.ring();
export const loadClusterJobs = (): Promise<JobList> => client.clusterJobs();

/** A client for the node at `baseUrl` ('' is the serving node, see jobNodeBaseUrl). */
export function clientAt(baseUrl: string): RingkvClient {
  return baseUrl === '' ? client : new RingkvClient({ baseUrl, timeoutMs });
}
