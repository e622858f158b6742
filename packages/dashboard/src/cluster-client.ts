// The clients the dashboard talks to the cluster with: same origin, because every node
// serves the dashboard and answers the API on the same port (the dev server proxies the
// API). Every client carries the signed-in token and reports any 401, so that a token
// revoked or expired while the page is open sends the operator back to the sign-in form
// with the node's reason instead of leaving every panel failing.
// Requests meant for another member (pausing or resuming its job, its transfer cap, its
// join or leave) go to the serving node too, with ?node=<id>, and it forwards them.
import { RingkvClient, type ClusterNodes, type JobList, type RingLayout } from '@ringkv/client';

const timeoutMs = 8_000;

/** How often the cluster view refreshes; membership changes show within about this long. */
export const nodesPollMs = 1_500;
/** The ring changes only on join/leave, so it is fetched less often. */
export const ringPollMs = 5_000;
/** Data movement is watched as closely as the members. */
export const jobsPollMs = 1_500;

/** Everything the page asks the cluster, with one token. Loaders keep their identity (see usePolling). */
export interface DashboardApi {
  /** The serving node. */
  client: RingkvClient;
  /** A client for the node at `baseUrl` ('' is the serving node, see jobNodeBaseUrl). */
  clientAt(baseUrl: string): RingkvClient;
  loadClusterNodes(): Promise<ClusterNodes>;
  loadRing(): Promise<RingLayout>;
  loadClusterJobs(): Promise<JobList>;
}

/**
 * Clients sending `token` (none when null); `onUnauthorized` hears the problem detail of
 * every 401 they receive. The caller still gets the error from the client as usual.
 */
export function createApi(token: string | null, onUnauthorized: (detail: string) => void): DashboardApi {
  const fetchWatching = watchUnauthorized(onUnauthorized);
  const clientFor = (baseUrl: string) => new RingkvClient({ baseUrl, timeoutMs, token: token ?? '', fetch: fetchWatching });
  const client = clientFor('');
  return {
    client,
    clientAt: (baseUrl) => (baseUrl === '' ? client : clientFor(baseUrl)),
    loadClusterNodes: () => client.clusterNodes(),
    loadRing: () => client.ring(),
    loadClusterJobs: () => client.clusterJobs(),
  };
}

/** The platform fetch, reporting 401 answers on the side (the client still reads the original). */
function watchUnauthorized(onUnauthorized: (detail: string) => void): typeof fetch {
  return async (input, init) => {
    const response = await globalThis.fetch(input, init);
    if (response.status === 401) onUnauthorized(await problemDetailOf(response.clone()));
    return response;
  };
}

async function problemDetailOf(response: Response): Promise<string> {
  try {
    const problem = (await response.json()) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === 'string' && problem.detail !== '') return problem.detail;
    return typeof problem.title === 'string' ? problem.title : '';
  } catch {
    return '';
  }
}
