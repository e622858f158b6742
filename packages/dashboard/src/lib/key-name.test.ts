// Checks the key length rule, counted in UTF-8 bytes rather than characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyBytesMax, keyProblem } from './key-name.js';

test('keys of 1..1024 bytes are accepted', () => {
  assert.equal(keyProblem('a'), null);
  assert.equal(keyProblem('x'.repeat(keyBytesMax)), null);
});

test('an empty key and an over-long key are refused with a reason', () => {
  assert.equal(keyProblem(''), 'Enter a key.');
  assert.match(keyProblem('x'.repeat(keyBytesMax + 1)) ?? '', /1025 bytes/);
});

test('length is measured in UTF-8 bytes', () => {
  // 'é' is two bytes in UTF-8, so 513 of them exceed the limit.
  assert.match(keyProblem('é'.repeat(513)) ?? '', /1026 bytes/);
});
