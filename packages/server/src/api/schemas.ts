// What the server adds to the API's schemas, which live in @ringkv/client/schemas (the one
// definition the client's types are derived from): the GET /keys query built with the core's
// limits, and the OpenAPI descriptions of its error answers, which name the node's flags.
import { keysQuerySchema, ProblemSchema } from '@ringkv/client/schemas';
import { keyBytesMax, keysPageLimitDefault, keysPageLimitMax } from '@ringkv/core';

export const KeysQuery = keysQuerySchema({ keysPageLimitDefault, keysPageLimitMax, keyBytesMax });

/** One error answer in OpenAPI, served as application/problem+json. */
export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } };
}

const problemDescriptions: Record<number, string> = {
  400: 'Bad input: malformed JSON or URL, JSON nested deeper than --json-depth-max, a body without value, a bad consistency level or cursor',
  401: 'No valid API token was sent: the Authorization header is missing, or the token is unknown or expired',
  403: 'The token does not allow this: its role is too low or the key is outside its prefix',
  404: 'The key is absent or deleted, or the route does not exist',
  409: 'The ring change was refused; the detail says why and what to do instead',
  413: 'The request body (the whole {"value": ...}) is larger than --max-value-bytes',
  414: 'The key is longer than 1024 UTF-8 bytes',
  415: 'The body is not sent as application/json',
  500: 'The node failed to do it; the detail says what went wrong',
  502: 'The member the request was forwarded to did not answer',
  503: 'Not enough replicas available; nothing was written (safe to retry), or the node is still starting',
  504: 'Replicas did not answer in time; for writes the outcome is unknown',
  507: "The key's replicas have full disks (fullNodes); nothing was written: free space there, and they take writes again by themselves",
};

/** Error responses in OpenAPI, served as application/problem+json. */
export function problemResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(problemDescriptions[status] ?? 'Error')]));
}
