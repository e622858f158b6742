// Backup and restore (issue 12, part 3), the node's side. `GET /admin/backup-cut` gives the
// cut a backup is taken at: the node's HLC now. The backup's listing reads the replicas after
// it, so every write acknowledged before the cut is in the backup (at that version or a newer
// one); the HLC dates the cut, and under clock skew another node's acknowledged version may
// lie a little above it.
// `POST /admin/restore` writes a batch of backed-up records to each key's replicas, keeping
// their versions: the larger version wins on every replica, so restoring twice changes
// nothing and newer data is never overwritten (core cluster/restore-writes.ts). Records
// below the tombstone purge cutoff are taken too, on this admin path only. A key needs a
// quorum of its replicas to confirm; a batch with keys that did not get one answers 503
// naming them, and sending them again is safe.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { keyBytesMax, restoreRecordsPerBatchMax, type RestoredKey, type StoredRecord } from '@ringkv/core';
import { hlcToIso } from './write-options.js';
import type { ApiDeps } from './api-deps.js';
import { ProblemError, problemOf, sendProblem } from './problems.js';
import { carriedBodyValue } from './proto-key-bodies.js';
import { problemResponse, problemResponses } from './schemas.js';
import { requireReady } from './store-routes.js';
import { backupRecordProblem, storedRecordOf, type BackupRecord } from '../backup/backup-record.js';

/** What the restore routes need from the node (docs/style.md, "No god objects"). */
export type RestoreDeps = Pick<ApiDeps, 'nodeId' | 'admitClients' | 'hlcNow' | 'clusterInfo' | 'restore'>;

const RestoreRecordSchema = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: keyBytesMax }),
    hlc: Type.Integer({ minimum: 1, description: 'The version\'s hybrid logical clock timestamp (the number before the dash of "version")' }),
    nodeId: Type.String({ description: 'The node that wrote the version (after the dash)' }),
    tombstone: Type.Boolean(),
    value: Type.Optional(Type.Unknown({ description: 'Absent for a tombstone' })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'When a value written with a ttl expires (it may have passed)' })),
  },
  { additionalProperties: false },
);

const RestoreBodySchema = Type.Object({ records: Type.Array(RestoreRecordSchema) }, { additionalProperties: false });

const RestoredKeySchema = Type.Object({
  key: Type.String(),
  outcome: Type.Union([Type.Literal('applied'), Type.Literal('kept-newer'), Type.Literal('failed')], {
    description: 'applied: a quorum of replicas holds this version; kept-newer: a replica holds a newer version, which stays; failed: too few replicas confirmed',
  }),
  confirmed: Type.Integer({ description: 'Replicas holding this version or a newer one' }),
  required: Type.Integer({ description: 'Confirmations needed: a majority of the key\'s replicas in every ring a write must reach' }),
});

const RestoreAnswerSchema = Type.Object({
  results: Type.Array(RestoredKeySchema, { description: 'One per record, in order' }),
  applied: Type.Integer(),
  keptNewer: Type.Integer(),
  stored: Type.Integer({ description: 'Copies the replicas stored anew; 0 when the batch was restored before' }),
});

const BackupCutSchema = Type.Object({
  cutHlc: Type.Integer({ description: "The node's hybrid logical clock now: when the backup began, as versions count time" }),
  cutAt: Type.String({ format: 'date-time' }),
  clusterName: Type.String(),
  nodeId: Type.String(),
});

export const restoreRoutes: FastifyPluginAsync<{ deps: RestoreDeps }> = async (app, { deps }) => {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/admin/backup-cut',
    {
      schema: {
        tags: ['cluster'],
        operationId: 'getBackupCut',
        summary: 'The cut a backup is taken at',
        description:
          "The node's hybrid logical clock now. `ringkv backup` asks it first, then lists every key's newest record from the replicas: " +
          'a write acknowledged before this call is on a majority of its replicas by then, so the backup holds it or a newer version. ' +
          "Versions come from each coordinator's clock, so under clock skew one may lie a little above cutHlc.",
        response: { 200: BackupCutSchema, ...problemResponses(401, 403) },
      },
    },
    async () => {
      const cutHlc = deps.hlcNow();
      return { cutHlc, cutAt: hlcToIso(cutHlc), clusterName: deps.clusterInfo().clusterName, nodeId: deps.nodeId };
    },
  );

  api.post(
    '/admin/restore',
    {
      schema: {
        tags: ['cluster'],
        operationId: 'restoreRecords',
        summary: 'Write backed-up records to their replicas, keeping their versions',
        description:
          `Up to ${restoreRecordsPerBatchMax} records (as a backup file holds them), each written to its key's replicas as replica writes are kept: ` +
          'the larger version wins, so sending a record twice changes nothing and a newer version already stored stays. Records below the ' +
          'tombstone purge cutoff are taken too (only here). Restoring into a live cluster merges by version: a key deleted after the backup ' +
          'whose tombstone has since been purged comes back. Each key needs a majority of its replicas to confirm; otherwise the answer is 503 ' +
          'with every result, and the failed keys may be sent again.',
        body: RestoreBodySchema,
        response: {
          200: RestoreAnswerSchema,
          400: problemResponse('A record is malformed (recordIndex names it) or a key appears twice; nothing was written'),
          413: problemResponse(`More than ${restoreRecordsPerBatchMax} records, or a body larger than --max-value-bytes; nothing was written`),
          503: problemResponse('Some keys were not confirmed by a majority of their replicas (results, failedKeys), or the node is starting; resend those keys'),
          ...problemResponses(401, 403, 415),
        },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError !== undefined) return sendProblem(reply, invalidRestoreProblem(request.validationError, request.body));
      const records = request.body.records as BackupRecord[];
      const entries = plannedEntries(records, request.caller.prefix, (value) => carriedBodyValue(request.body, value));
      requireReady(deps);
      if (deps.restore === undefined) throw new ProblemError(503, 'restore-unavailable', 'Restore unavailable', `node ${deps.nodeId} cannot restore records; send the batch to another member`);
      const answer = await deps.restore(entries);
      const results = answer.keys.map(({ key, outcome, confirmed, required }) => ({ key, outcome, confirmed, required }));
      const failed = answer.keys.filter((key) => key.outcome === 'failed');
      if (failed.length > 0) return sendProblem(reply, incompleteProblem(failed, records.length, results, answer.stored));
      const applied = answer.keys.filter((key) => key.outcome === 'applied').length;
      return { results, applied, keptNewer: answer.keys.length - applied, stored: answer.stored };
    },
  );
};

/** The batch as [key, record] entries, after the checks the schema cannot make; throws a 400 or 403 with nothing written. */
function plannedEntries(records: readonly BackupRecord[], prefix: string | null, carry: (value: unknown) => unknown): Array<[string, StoredRecord]> {
  if (records.length > restoreRecordsPerBatchMax) {
    throw new ProblemError(413, 'too-many-records', 'Too many records', `${records.length} records in one batch; send at most ${restoreRecordsPerBatchMax}. Nothing was written`, {
      applied: false,
    });
  }
  const seen = new Set<string>();
  return records.map((record, recordIndex) => {
    const problem = backupRecordProblem(record);
    if (problem !== null) {
      throw new ProblemError(400, 'invalid-restore-record', 'Invalid record', `record ${recordIndex}: ${problem}. Nothing in the batch was written`, { recordIndex, applied: false });
    }
    if (seen.has(record.key)) {
      throw new ProblemError(400, 'duplicate-restore-key', 'Key given twice', `record ${recordIndex}: key ${JSON.stringify(record.key)} appears twice in the batch; send each key once. Nothing was written`, {
        recordIndex,
        applied: false,
      });
    }
    seen.add(record.key);
    if (prefix !== null && !record.key.startsWith(prefix)) {
      throw new ProblemError(403, 'forbidden-prefix', 'Key outside the token prefix', `record ${recordIndex}: the token may reach only keys starting with "${prefix}". Nothing was written`, {
        prefix,
        recordIndex,
        applied: false,
      });
    }
    return [record.key, storedRecordOf(record, carry)];
  });
}

function invalidRestoreProblem(error: Error & { validation?: Array<{ instancePath: string; message?: string }> }, body: unknown) {
  const records = (body as { records?: unknown } | null)?.records;
  if (Array.isArray(records) && records.length > restoreRecordsPerBatchMax) {
    return problemOf(413, 'too-many-records', 'Too many records', `${records.length} records in one batch; send at most ${restoreRecordsPerBatchMax}. Nothing was written`, { applied: false });
  }
  const first = error.validation?.[0];
  const path = first?.instancePath ?? '';
  const index = /^\/records\/([0-9]+)/.exec(path)?.[1];
  const shape = '{"records": [{"key", "hlc", "nodeId", "tombstone", "value"?, "expiresAt"?}, ...]}';
  return problemOf(400, 'invalid-restore-record', 'Invalid restore batch', `the body ${path === '' ? '' : `at ${path} `}${first?.message ?? 'is malformed'}; send ${shape}. Nothing was written`, {
    ...(index === undefined ? {} : { recordIndex: Number(index) }),
    applied: false,
  });
}

function incompleteProblem(failed: readonly RestoredKey[], total: number, results: unknown[], stored: number) {
  const first = failed[0] as RestoredKey;
  const why = first.failures.map((failure) => `${failure.nodeId}: ${failure.reason}`).join('; ');
  return problemOf(
    503,
    'restore-incomplete',
    'Some keys were not restored',
    `${failed.length} of ${total} keys were not confirmed by a majority of their replicas (the first, ${JSON.stringify(first.key)}, got ` +
      `${first.confirmed} of ${first.required}: ${why})${failed.length < total ? '; the others were restored' : ''}. ` +
      'Send the failed keys again once their replicas are up: restoring is idempotent',
    { failedKeys: failed.map((key) => key.key), results, stored, retryAfterSeconds: 1 },
  );
}
