// The conditional-write headers of PUT and DELETE /store/{key}: `If-Match: "<version>"`
// (apply only if the key's current version is exactly that one) and `If-None-Match: *`
// (create only if the key is absent or deleted), RFC 9110 section 13.1. Checked here,
// before anything is sent to a replica, so bad input is a 400 and nothing is stored; the
// condition itself is judged by the key's replicas (packages/core/src/cluster/paxos-proposer.ts).
// A refused condition becomes the 412 problem built here, with the key's current version.
import { formatVersion, isExpiredView, nodeIdPattern, type PreconditionFailedError, type StoredRecord, type WriteCondition } from '@ringkv/core';
import { ProblemError } from './problems.js';

/** What the headers ask for: a plain write, a condition for the replicas, or a weak tag that can never match. */
export type RequestedCondition =
  | { kind: 'none' }
  | { kind: 'condition'; condition: WriteCondition }
  /** RFC 9110 section 13.1.1: If-Match compares strongly, so a weak entity tag never matches (412). */
  | { kind: 'never-matches'; tag: string };

export interface ConditionHeaders {
  'if-match'?: string | string[] | undefined;
  'if-none-match'?: string | string[] | undefined;
}

const versionExample = '"1718000000000-n1"';
/** A strong entity tag holding one ringkv version: `"<hlc digits>-<node id>"`. */
const strongVersionTag = /^"([0-9]{1,16})-([^"]*)"$/;
/** A weak entity tag (RFC 9110 section 8.8.3): W/ and a quoted run of etagc characters. */
const weakTag = /^W\/"[\x21\x23-\x7e\x80-\xff]*"$/;

function invalidCondition(detail: string): ProblemError {
  return new ProblemError(400, 'invalid-condition', 'Invalid condition', `${detail}; nothing was written`);
}

/** One header's text: Node joins a repeated If-Match into one comma-separated line, which parseIfMatch refuses. */
export function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The condition the headers of a write ask for; throws a 400 ProblemError for anything
 * else. `method` is PUT or DELETE; `wGiven` is whether the request set `?w=`, which a
 * condition does not take (its outcome is decided by a majority of the key's replicas).
 */
export function requestedCondition(headers: ConditionHeaders, method: 'PUT' | 'DELETE', wGiven: boolean): RequestedCondition {
  const ifMatch = headerText(headers['if-match']);
  const ifNoneMatch = headerText(headers['if-none-match']);
  if (ifMatch === undefined && ifNoneMatch === undefined) return { kind: 'none' };
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw invalidCondition('send either If-Match (update only this version) or If-None-Match: * (create only if absent), not both');
  }
  if (wGiven) {
    throw new ProblemError(
      400,
      'condition-with-w',
      'w does not apply to conditional writes',
      'a conditional write is decided by a majority of the key\'s replicas (a per-key Paxos round), not by a count of acknowledgements: drop ?w= from the URL; nothing was written',
    );
  }
  if (ifNoneMatch !== undefined) return { kind: 'condition', condition: { ifNoneMatch: parseIfNoneMatch(ifNoneMatch, method) } };
  return parseIfMatch(ifMatch as string);
}

function parseIfNoneMatch(text: string, method: 'PUT' | 'DELETE'): true {
  if (method === 'DELETE') {
    throw invalidCondition('DELETE takes If-Match only (delete only if the key is still at the version you read); If-None-Match: * would delete a key only when it does not exist');
  }
  if (text.trim() === '*') return true;
  throw invalidCondition(
    `If-None-Match on a write takes only * (create only if the key is absent or deleted), not ${JSON.stringify(text.slice(0, 80))}; to update only a version you read, send If-Match: "<version>"`,
  );
}

function parseIfMatch(raw: string): RequestedCondition {
  const text = raw.trim();
  if (text === '') throw invalidCondition(`If-Match is empty; send the version you read, quoted as in its ETag: If-Match: ${versionExample}`);
  if (text === '*') {
    throw invalidCondition('If-Match: * (any current version) is not supported; send the one version you read, quoted as in its ETag, or If-None-Match: * to create a key only if it is absent');
  }
  if (text.includes(',')) throw invalidCondition(`If-Match holds several entity tags (${JSON.stringify(text.slice(0, 120))}); send exactly one version, the one you read`);
  if (weakTag.test(text)) return { kind: 'never-matches', tag: text };
  const strong = strongVersionTag.exec(text);
  if (strong !== null && Number.isSafeInteger(Number(strong[1])) && nodeIdPattern.test(strong[2] as string)) {
    return { kind: 'condition', condition: { ifMatch: `${strong[1]}-${strong[2]}` } };
  }
  const unquoted = /^[0-9]+-[^"\s]+$/.test(text) ? `; quote it as the ETag header does: If-Match: "${text}"` : '';
  throw invalidCondition(
    `If-Match ${JSON.stringify(text.slice(0, 120))} is not a ringkv version${unquoted}; send the version the key's ETag (or the "version" field) gave, in double quotes, e.g. If-Match: ${versionExample}`,
  );
}

/** The 412 answer for a condition the key's replicas refused: what the key holds now, and how to go on. */
export function preconditionProblem(error: PreconditionFailedError): ProblemError {
  return conditionFailed(error.message, error.current);
}

/** The 412 answer for a weak If-Match tag, with the version the key holds now (read linearizably). */
export function weakTagProblem(tag: string, current: StoredRecord | undefined): ProblemError {
  return conditionFailed(
    `If-Match ${tag.slice(0, 120)} is a weak entity tag, and If-Match compares strongly (RFC 9110, section 13.1.1), so it never matches; send the version as a strong tag, without W/`,
    current,
  );
}

function conditionFailed(why: string, current: { hlc: number; nodeId: string; tombstone: boolean; expiresAt?: number | undefined } | undefined): ProblemError {
  const currentVersion = current === undefined ? null : formatVersion(current);
  return new ProblemError(
    412,
    'precondition-failed',
    'Precondition failed',
    `${why}; nothing was written. Read the key (GET, with ?r=serial to be sure of the latest) and retry with If-Match: "<its version>", or If-None-Match: * to create it`,
    { currentVersion, ...(current?.tombstone === true ? { deleted: true } : {}), ...(isExpiredView(current as StoredRecord | undefined) ? { expired: true } : {}) },
  );
}
