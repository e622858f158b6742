// Checks the explorer's TTL field and its "expires in" phrase as tables of inputs and answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expiryPhrase, parseTtl } from './expiry.js';

test('the TTL field takes whole seconds, or nothing for a permanent key', () => {
  assert.deepEqual(parseTtl(''), { ok: true, ttl: undefined });
  assert.deepEqual(parseTtl('  '), { ok: true, ttl: undefined });
  assert.deepEqual(parseTtl(' 60 '), { ok: true, ttl: 60 });
  for (const bad of ['0', '-5', '1.5', '1e3', 'soon']) {
    const parsed = parseTtl(bad);
    assert.equal(parsed.ok, false, bad);
    if (!parsed.ok) assert.match(parsed.message, /whole number of seconds, at least 1/);
  }
});

test('expiresAt reads as a time from now, or as a time since it passed', () => {
  const nowMs = Date.parse('2026-11-29T08:00:00.000Z');
  assert.equal(expiryPhrase('2026-11-29T08:00:59.000Z', nowMs), 'expires in 59 s');
  assert.equal(expiryPhrase('2026-11-29T08:00:59.400Z', nowMs), 'expires in 59 s');
  assert.equal(expiryPhrase('2026-11-29T09:00:00.000Z', nowMs), 'expires in 1 h');
  assert.equal(expiryPhrase('2026-11-30T09:05:00.000Z', nowMs), 'expires in 1 d 1 h');
  assert.equal(expiryPhrase('2026-11-29T07:59:57.000Z', nowMs), 'expired 3 s ago');
  assert.equal(expiryPhrase('2026-11-29T08:00:00.000Z', nowMs), 'expired 0 s ago');
  assert.equal(expiryPhrase('not a date', nowMs), 'expires at not a date');
});
