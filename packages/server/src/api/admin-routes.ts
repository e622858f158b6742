// The caller's own identity (GET /auth/me, for the dashboard and the CLI) and the
// reload of security material without a restart (POST /admin/reload). Not on SIGHUP:
// a node run from a terminal must still stop when the terminal closes.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ApiSecurity } from './auth.js';
import { ProblemError } from './problems.js';
import { AuthIdentitySchema } from '@ringkv/client/schemas';
import { problemResponses } from './schemas.js';

const ReloadSchema = Type.Object({ reloaded: Type.Array(Type.String(), { description: 'What was read again: tokens, certificates, cluster secret' }) });

export const adminRoutes: FastifyPluginAsync<{ security: ApiSecurity }> = async (app, { security }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/auth/me',
    {
      schema: {
        tags: ['security'],
        operationId: 'getIdentity',
        summary: "The caller's role and key prefix",
        response: { 200: AuthIdentitySchema, ...problemResponses(401) },
      },
    },
    async (request) => {
      const caller = request.caller;
      return {
        authRequired: caller.authRequired,
        role: caller.role,
        name: caller.name,
        prefix: caller.prefix,
        expiresAt: caller.expiresAtMs === null ? null : new Date(caller.expiresAtMs).toISOString(),
      };
    },
  );

  api.post(
    '/admin/reload',
    {
      schema: {
        tags: ['security'],
        operationId: 'reloadSecurity',
        summary: 'Re-read the token file, TLS certificates and cluster secret',
        description: 'Open connections stay up; new connections and requests use what was read. Files are also re-read when they change.',
        response: { 200: ReloadSchema, ...problemResponses(401, 403, 500) },
      },
    },
    async () => {
      try {
        return await security.reload();
      } catch (error) {
        throw new ProblemError(
          500,
          'reload-failed',
          'Reload failed',
          `${(error as Error).message}; the node keeps what it had loaded before. Fix the file and reload again`,
        );
      }
    },
  );
};
