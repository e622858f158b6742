// The OpenAPI side of route-access.ts: each documented operation gets its security
// requirement, the role it needs in its description and the 401/403 answers, all derived
// from the one access table the auth hook obeys. It runs as @fastify/swagger's `transform`,
// so a route added later is documented the way it is guarded without anyone remembering
// to, and it changes the document only: the route's own schema (and so its validation and
// serialization) is left as it was.
import type { FastifySchema } from 'fastify';
import type { SwaggerTransform } from '@fastify/swagger';
import { roleRank, routeAccess, routeTouchesKeys, type Access } from './route-access.js';
import { problemResponse } from './schemas.js';

export const bearerSchemeName = 'bearerAuth';

export const bearerSecurityScheme = {
  type: 'http' as const,
  scheme: 'bearer',
  description:
    'An API token sent as `Authorization: Bearer <token>`. Tokens come from ' +
    '`npx ringkv token create --auth-file FILE --role read|write|admin`, which prints the token as its last line; ' +
    'the node checks them when it runs with `--auth-file FILE`, and asks for none without one.',
};

const stateChangingMethods = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

/**
 * Client errors any route can meet before its handler runs (request limits, docs/security.md),
 * so every operation has a documented 4xx answer even when its handler raises none.
 */
const edgeRefusal = problemResponse(
  'Refused before the route ran, for example request headers that are too large (431) or a request that arrived too slowly (408)',
);

/** @fastify/swagger `transform`: adds what the access table says to one route's document. */
export const documentRouteAccess: SwaggerTransform = ({ schema, url, route }) => {
  if (schema?.hide === true) return { schema, url };
  const methods = [route.method].flat();
  const access = strictestAccess(methods.map((method) => routeAccess(method, url)));
  const changesState = methods.some((method) => stateChangingMethods.has(method.toUpperCase()));
  const responses = { ...(schema?.response as Record<string, unknown> | undefined) };
  const notes: string[] = [];
  if (access === 'public') {
    notes.push('Needs no token.');
  } else {
    notes.push(`Requires a token with role ${access}${access === 'admin' ? '' : ' or higher'}.`);
    if (routeTouchesKeys(url)) notes.push('A token limited to a key prefix reaches only keys starting with it.');
    responses['401'] = problemResponse(
      'No valid API token: the Authorization header is missing, or its token is unknown or expired. ' +
        'Send `Authorization: Bearer <token>` with a token from `npx ringkv token create`',
    );
  }
  const forbidden = forbiddenReasons(access, url, changesState);
  if (forbidden.length > 0) responses['403'] = problemResponse(`Not allowed: ${forbidden.join('; or ')}`);
  responses['4XX'] = edgeRefusal;
  const description = [schema?.description, ...notes].filter((part) => part !== undefined && part !== '').join('\n\n');
  const documented: FastifySchema = {
    ...schema,
    description,
    security: access === 'public' ? [] : [{ [bearerSchemeName]: [] }],
    response: responses,
  };
  return { schema: documented, url };
};

function forbiddenReasons(access: Access, url: string, changesState: boolean): string[] {
  const reasons: string[] = [];
  if (access !== 'public' && access !== 'read') reasons.push(`the token's role is below ${access}`);
  if (access !== 'public' && routeTouchesKeys(url)) reasons.push("the key is outside the token's prefix");
  // The auth hook checks the Origin of every state-changing request, public or not.
  if (changesState) reasons.push('a browser sent it from an Origin that is neither the node\'s own nor in --cors-origins');
  return reasons;
}

/** A route serving several methods is documented with what the strictest of them needs. */
function strictestAccess(accesses: Access[]): Access {
  const rank = (access: Access) => (access === 'public' ? 0 : roleRank[access]);
  return accesses.reduce((strictest, access) => (rank(access) > rank(strictest) ? access : strictest), 'public');
}
