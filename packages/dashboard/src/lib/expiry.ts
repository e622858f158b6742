// Expiring keys in the key explorer: reading the optional TTL field (whole seconds; empty
// for a key that never expires) and saying when an `expiresAt` falls relative to now.
// The upper bound of a ttl is the node's to check: its 400 says what it is.
import { formatDurationSeconds } from './format.js';

export type TtlInput = { ok: true; ttl: number | undefined } | { ok: false; message: string };

/** The TTL field's seconds: undefined when empty, else a whole number of at least 1. */
export function parseTtl(text: string): TtlInput {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, ttl: undefined };
  if (!/^[0-9]+$/.test(trimmed) || Number(trimmed) < 1) {
    return { ok: false, message: `TTL must be a whole number of seconds, at least 1 (e.g. 60), or empty for a key that never expires; not “${trimmed.slice(0, 20)}”.` };
  }
  return { ok: true, ttl: Number(trimmed) };
}

/** `expires in 59 s`, `expires in 1 h 0 min`, or `expired 3 s ago`, by the viewer's clock. */
export function expiryPhrase(expiresAt: string, nowMs: number): string {
  const expiresAtMs = Date.parse(expiresAt);
  if (Number.isNaN(expiresAtMs)) return `expires at ${expiresAt}`;
  const seconds = Math.round((expiresAtMs - nowMs) / 1000);
  return seconds > 0 ? `expires in ${formatDurationSeconds(seconds)}` : `expired ${formatDurationSeconds(-seconds)} ago`;
}
