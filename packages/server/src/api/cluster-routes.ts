// The cluster as a whole: members and ring (/cluster, /cluster/ring), where a key lives
// (/cluster/owners/{key}) and what each of its replicas holds (/cluster/replicas/{key}),
// every node's /node-info gathered by this node (/cluster/nodes, what the dashboard polls),
// and the cluster-wide listings (cluster-scan-routes.ts). A key is the rest of the path,
// slashes included, as on /store/{key}.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { formatVersion, isExpired } from '@ringkv/core';
import type { ApiDeps } from './api-deps.js';
import { bearerOf } from './auth.js';
import { ClusterNodesSchema, ClusterSchema, KeyPathParams, OwnersSchema, RepairStatusSchema, ReplicasSchema, RingLayoutSchema } from '@ringkv/client/schemas';
import { clusterScanRoutes } from './cluster-scan-routes.js';
import { problemResponses } from './schemas.js';
import { checkedKey, keyPathDocument, requireReady } from './store-routes.js';
import { expiresAtOf } from './write-options.js';

export const clusterRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['cluster'];

  api.get(
    '/cluster',
    { schema: { tags, operationId: 'getCluster', summary: 'Members, replication factor and ring summary', response: { 200: ClusterSchema } } },
    async () => deps.clusterInfo(),
  );

  api.get(
    '/cluster/ring',
    { schema: { tags, operationId: 'getRing', summary: 'Every ring range with its replica set', response: { 200: RingLayoutSchema } } },
    async () => deps.ringLayout(),
  );

  api.get(
    '/cluster/owners/*',
    {
      config: { swaggerTransform: keyPathDocument },
      schema: {
        tags,
        operationId: 'getOwners',
        summary: "A key's replica nodes in preference order",
        params: KeyPathParams,
        response: { 200: OwnersSchema, ...problemResponses(400, 414) },
      },
    },
    async (request) => {
      const key = checkedKey(request.params['*']);
      return { key, owners: [...deps.coordinator.replicasOf(key)] };
    },
  );

  api.get(
    '/cluster/replicas/*',
    {
      config: { swaggerTransform: keyPathDocument },
      schema: {
        tags,
        operationId: 'getReplicas',
        summary: "Every replica's copy of a key",
        description: "Asks each of the key's replicas, in preference order, for the version it holds. No quorum, no repair.",
        params: KeyPathParams,
        response: { 200: ReplicasSchema, ...problemResponses(400, 414, 503) },
      },
    },
    async (request) => replicasOf(deps, checkedKey(request.params['*'])),
  );

  api.post(
    '/repair',
    {
      schema: {
        tags,
        operationId: 'repairNow',
        summary: 'Run anti-entropy now',
        description:
          'Anti-entropy runs continuously (--anti-entropy-interval-ms); this forces one round with every peer and answers with the repair status.',
        response: { 200: RepairStatusSchema },
      },
    },
    async () => deps.repairNow(),
  );

  api.get(
    '/cluster/nodes',
    {
      schema: {
        tags,
        operationId: 'getClusterNodes',
        summary: "Every member's /node-info, gathered by this node",
        description: 'Unreachable members are listed with info null and the error; the dashboard polls this.',
        response: { 200: ClusterNodesSchema },
      },
    },
    async (request) => deps.clusterNodes(bearerOf(request)),
  );

  await app.register(clusterScanRoutes, { deps });
};

/** Each replica's copy of `key` as the operator sees it: an expired copy shows as the delete it counts as. */
async function replicasOf(deps: ApiDeps, key: string) {
  requireReady(deps);
  const copies = await deps.coordinator.inspect(key);
  const atHlc = deps.hlcNow();
  return {
    key,
    owners: [...deps.coordinator.replicasOf(key)],
    replicas: copies.map((copy) => {
      const expired = copy.record !== undefined && isExpired(copy.record, atHlc);
      const expiresAt = copy.record === undefined ? undefined : expiresAtOf(copy.record);
      return {
        nodeId: copy.nodeId,
        status: copy.status,
        version: copy.record ? formatVersion(copy.record) : null,
        tombstone: (copy.record?.tombstone ?? false) || expired,
        ...(expired ? { expired: true as const } : {}),
        ...(copy.record && !copy.record.tombstone && !expired ? { value: copy.record.value } : {}),
        ...(expiresAt === undefined ? {} : { expiresAt }),
      };
    }),
  };
}
