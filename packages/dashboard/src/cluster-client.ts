// The one client the dashboard uses: same origin, because every node serves the
// dashboard and answers the API on the same port (the dev server proxies the API).
import { RingkvClient, type ClusterNodes, type RingLayout } from '@ringkv/client';

export const client = new RingkvClient({ baseUrl: '', timeoutMs: 8_000 });

/** How often the cluster view refreshes; membership changes show within about this long. */
export const nodesPollMs = 1_500;
/** The ring changes only on join/leave, so it is fetched less often. */
export const ringPollMs = 5_000;

export const loadClusterNodes = (): Promise<ClusterNodes> => client.clusterNodes();
export const loadRing = (): Promise<RingLayout> => client.ring();
