// The Idempotency-Key header of PUT and DELETE /store/{key} (the IETF httpapi draft, as
// Stripe made it common): the client names a write so that a retry of it, through any
// node, answers the first outcome instead of writing again. Checked here, before anything
// is sent to a replica; the write itself is a Paxos round among the key's replicas, which
// remember the key with its version (packages/core/src/cluster/paxos.ts, "Idempotent writes").
import { createHash } from 'node:crypto';
import { idempotencyKeyLengthMax, type IdempotencyTag } from '@ringkv/core';
import { ProblemError } from './problems.js';

/** Visible ASCII, as the draft's examples and Stripe's keys are: no spaces, no control characters. */
const idempotencyKeyPattern = new RegExp(`^[\\x21-\\x7e]{1,${idempotencyKeyLengthMax}}$`);

function invalidKey(detail: string): ProblemError {
  return new ProblemError(400, 'invalid-idempotency-key', 'Invalid Idempotency-Key', `${detail}; nothing was written`);
}

/** What makes two requests "the same request" for one Idempotency-Key: everything that decides what is written. */
export interface WriteRequestShape {
  method: 'PUT' | 'DELETE';
  /** The value as JSON text (PUT), or undefined (DELETE). */
  valueText: string | undefined;
  ttlSeconds: number | undefined;
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
}

/**
 * The idempotency tag of a write, or undefined when it carries no Idempotency-Key; throws a
 * 400 ProblemError for a malformed key, or for `?w=` (the write is decided by a majority).
 */
export function idempotencyOf(header: string | string[] | undefined, shape: WriteRequestShape, wGiven: boolean): IdempotencyTag | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw invalidKey('send one Idempotency-Key header, not several');
  if (!idempotencyKeyPattern.test(header)) {
    const why = header.length > idempotencyKeyLengthMax ? `is ${header.length} characters long` : 'holds characters other than visible ASCII (0x21..0x7e)';
    throw invalidKey(`the Idempotency-Key ${why}; send 1..${idempotencyKeyLengthMax} visible ASCII characters, such as a UUID`);
  }
  if (wGiven) {
    throw new ProblemError(
      400,
      'idempotency-with-w',
      'w does not apply to idempotent writes',
      "a write with an Idempotency-Key is decided by a majority of the key's replicas (a per-key Paxos round), which remember it for its retries: drop ?w= from the URL; nothing was written",
    );
  }
  return { key: header, fingerprint: fingerprintOf(shape) };
}

/** A digest of what the request writes: a retry must send the same. */
function fingerprintOf(shape: WriteRequestShape): string {
  const canonical = JSON.stringify([shape.method, shape.valueText ?? null, shape.ttlSeconds ?? null, shape.ifMatch ?? null, shape.ifNoneMatch ?? null]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}
