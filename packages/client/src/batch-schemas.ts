// The JSON contract of POST /batch (issue 11, part 4) as TypeBox schemas: many store
// operations in one request, each answered with the status and body its single request
// (PUT, GET or DELETE /store/{key}) would have had. The server validates and documents
// with these; the client's batch types are derived from them.
// Like schemas.ts it imports nothing but typebox and the store's answer schemas; the bound
// on ops comes from the core's limits, so the request schema is built by a function the
// server calls with them (as keysQuerySchema is).
import { Type, type Static } from 'typebox';
import { DeleteResultSchema, ProblemSchema, StoredValueSchema } from './schemas.js';

/** The bounds POST /batch enforces; the server passes its own (the core's limits). */
export interface BatchLimits {
  batchOpsMax: number;
  keyBytesMax: number;
}

export const BatchOpKindSchema = Type.Union([Type.Literal('put'), Type.Literal('get'), Type.Literal('delete')], {
  description: 'put: PUT /store/{key}; get: GET /store/{key}; delete: DELETE /store/{key}',
});

export const BatchOpSchema = Type.Object(
  {
    op: BatchOpKindSchema,
    key: Type.String({ description: 'The key: 1..1024 UTF-8 bytes (not percent-encoded: it is JSON here)' }),
    value: Type.Optional(Type.Unknown({ description: 'put only, and required there: any JSON value' })),
    w: Type.Optional(Type.String({ description: 'put and delete: write consistency, one, quorum (default), all or a count; not with ifMatch/ifNoneMatch' })),
    r: Type.Optional(Type.String({ description: 'get only: read consistency, one, quorum (default), all, a count, or serial (linearizable with conditional writes)' })),
    ifMatch: Type.Optional(
      Type.String({
        description:
          'put and delete: apply only if the key\'s current version is exactly this one, given as the `version` of an answer ("17320-n1") ' +
          'or as its ETag with the quotes (a weak W/"..." never matches: 412)',
      }),
    ),
    ifNoneMatch: Type.Optional(Type.Literal('*', { description: 'put only: create only if the key is absent or deleted' })),
    ttl: Type.Optional(
      Type.Number({ description: 'put only: seconds until the key expires, a whole number from 1 to 630720000, as ?ttl= on PUT /store/{key}' }),
    ),
  },
  { additionalProperties: false },
);

/** The body of POST /batch, with the server's bound on ops. */
export function batchBodySchema(limits: BatchLimits) {
  return Type.Object(
    {
      ops: Type.Array(BatchOpSchema, {
        maxItems: limits.batchOpsMax,
        description: `At most ${limits.batchOpsMax} ops (more is refused whole with 413). Ops on one key take effect in the order given; ops on different keys run concurrently`,
      }),
    },
    { additionalProperties: false },
  );
}

export const BatchResultSchema = Type.Object({
  status: Type.Integer({ description: 'The HTTP status the single request would have answered (200, 404, 412, 503, 504, ...)' }),
  body: Type.Union([StoredValueSchema, DeleteResultSchema, ProblemSchema], {
    description: 'The body the single request would have answered: the stored value, the delete result, or problem details',
  }),
});

export const BatchAnswerSchema = Type.Object({
  results: Type.Array(BatchResultSchema, { description: 'One result per op, in the order of the ops' }),
});

export type BatchOpKind = Static<typeof BatchOpKindSchema>;
export type BatchOp = Static<typeof BatchOpSchema>;
export type BatchResult = Static<typeof BatchResultSchema>;
export type BatchAnswer = Static<typeof BatchAnswerSchema>;
