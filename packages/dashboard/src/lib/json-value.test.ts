// Checks the explorer's JSON validation messages and pretty printing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJsonValue, parseJsonValue } from './json-value.js';

test('any JSON value parses, including scalars and null', () => {
  assert.deepEqual(parseJsonValue('{"a": [1, 2]}'), { ok: true, value: { a: [1, 2] } });
  assert.deepEqual(parseJsonValue(' 42 '), { ok: true, value: 42 });
  assert.deepEqual(parseJsonValue('"hi"'), { ok: true, value: 'hi' });
  assert.deepEqual(parseJsonValue('null'), { ok: true, value: null });
});

test('an empty field asks for a value', () => {
  const result = parseJsonValue('   ');
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.message, /^Enter a JSON value/);
});

test('bare text is rejected with a hint to quote it', () => {
  const result = parseJsonValue('hello');
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.message, /^Not valid JSON: .*double quotes/);
});

test('broken objects are rejected without the quoting hint', () => {
  const result = parseJsonValue('{"a": }');
  assert.equal(result.ok, false);
  assert.doesNotMatch(result.ok ? '' : result.message, /double quotes/);
});

test('formatJsonValue indents objects', () => {
  assert.equal(formatJsonValue({ a: 1 }), '{\n  "a": 1\n}');
  assert.equal(formatJsonValue('x'), '"x"');
});
