// What a write asks for besides its value and condition: a ttl (?ttl= on PUT, "ttl" in a
// batch op). Checked here, before anything is sent to a replica, so bad input is a 400
// saying what to send instead, and nothing is stored.
import { hlcWallMs, ttlSecondsMax, type StoredRecord } from '@ringkv/core';
import { ProblemError } from './problems.js';

function invalidTtl(shown: string): ProblemError {
  return new ProblemError(
    400,
    'invalid-ttl',
    'Invalid ttl',
    `ttl ${shown.slice(0, 40)} is not a whole number of seconds from 1 to ${ttlSecondsMax} (20 years); send e.g. ttl=60, or no ttl for a key that never expires; nothing was written`,
  );
}

/** `?ttl=` of a PUT: undefined when absent. */
export function ttlFromQuery(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(text)) throw invalidTtl(JSON.stringify(text));
  return checkedTtl(Number(text), text);
}

/** A batch op's "ttl": a JSON number, undefined when absent. */
export function ttlFromJson(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalidTtl(JSON.stringify(value) ?? String(value));
  return checkedTtl(value, String(value));
}

function checkedTtl(seconds: number, shown: string): number {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > ttlSecondsMax) throw invalidTtl(shown);
  return seconds;
}

/** The wall-clock time of an HLC timestamp as RFC 3339 in UTC, with milliseconds (the core keeps no Date). */
export function hlcToIso(timestamp: number): string {
  return new Date(hlcWallMs(timestamp)).toISOString();
}

/** `expiresAt` of an answer: RFC 3339 UTC for a value with a ttl, undefined for a permanent one. */
export function expiresAtOf(record: Pick<StoredRecord, 'expiresAt'>): string | undefined {
  return record.expiresAt === undefined ? undefined : hlcToIso(record.expiresAt);
}
