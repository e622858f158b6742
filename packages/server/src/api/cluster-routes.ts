// The cluster as a whole: members and ring (/cluster, /cluster/ring), where a key lives
// (/cluster/owners/{key}), and every node's /node-info gathered by this node
// (/cluster/nodes, what the dashboard polls).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ApiDeps } from './api-deps.js';
import { bearerOf } from './auth.js';
import { ClusterNodesSchema, ClusterSchema, KeyParams, OwnersSchema, RepairStatusSchema, RingLayoutSchema } from '@ringkv/client/schemas';
import { problemResponses } from './schemas.js';
import { checkedKey } from './store-routes.js';

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
    '/cluster/owners/:key',
    {
      schema: {
        tags,
        operationId: 'getOwners',
        summary: "A key's replica nodes in preference order",
        params: KeyParams,
        response: { 200: OwnersSchema, ...problemResponses(400, 414) },
      },
    },
    async (request) => {
      const key = checkedKey(request.params.key);
      return { key, owners: [...deps.coordinator.replicasOf(key)] };
    },
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
};
