// Property tests for values carried as JSON text: on JSON built as text (so "__proto__" keys,
// literal or spelled with \u escapes, are own properties), the raw-text scan never misses a
// key the walk finds, the walk agrees with a naive recursive reference, and the carried form
// gives back exactly the value and its JSON.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { carriedValue, holdsProtoKey, JsonText, mayHoldProtoKey, plainValue } from './json-text.js';

/** "__proto__" with each letter written literally or as a \u escape in either hex case. */
const spelledProtoKey = fc
  .array(fc.constantFrom('literal', 'lower', 'upper'), { minLength: 9, maxLength: 9 })
  .map((ways) =>
    [...'__proto__']
      .map((letter, index) => {
        const hex = letter.charCodeAt(0).toString(16).padStart(4, '0');
        if (ways[index] === 'lower') return `\\u${hex}`;
        if (ways[index] === 'upper') return `\\u${hex.toUpperCase()}`;
        return letter;
      })
      .join(''),
  );

const objectKey = fc.oneof(spelledProtoKey, fc.constantFrom('__proto_', 'constructor', 'prototype', 'a', '\\u0061'));

/** JSON text whose objects often hold "__proto__" keys, to be parsed by JSON.parse. */
const jsonText = fc.letrec<{ value: string; leaf: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.jsonValue({ maxDepth: 0 }).map((leaf) => JSON.stringify(leaf)),
  array: fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
  object: fc
    .array(fc.tuple(objectKey, tie('value')), { maxLength: 3 })
    .map((entries) => `{${entries.map(([key, value]) => `"${key}":${value}`).join(',')}}`),
})).value;

function holdsProtoKeyReference(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(holdsProtoKeyReference);
  return Object.keys(value).some((key) => key === '__proto__' || holdsProtoKeyReference((value as Record<string, unknown>)[key]));
}

describe('values carried as JSON text', () => {
  it('never lets the raw-text scan miss a key the walk finds, and walks like the reference', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const value = JSON.parse(text) as unknown;
        const holds = holdsProtoKey(value);
        assert.equal(holds, holdsProtoKeyReference(value));
        if (holds) assert.ok(mayHoldProtoKey(text), `scan missed a key in ${text}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives back exactly the value and its JSON from the carried form', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const value = JSON.parse(text) as unknown;
        const carried = carriedValue(value);
        assert.equal(carried instanceof JsonText, holdsProtoKey(value));
        assert.deepStrictEqual(plainValue(carried), value);
        assert.equal(JSON.stringify(carried), JSON.stringify(value));
      }),
      { numRuns: 500 },
    );
  });

  it('carries a nested "__proto__" key as text and leaves Object.prototype alone', () => {
    const value = JSON.parse('{"list":[{"\\u005f_proto__":{"polluted":true}}],"a":2}') as unknown;
    const carried = carriedValue(value);
    assert.ok(carried instanceof JsonText);
    assert.equal(carried.text, '{"list":[{"__proto__":{"polluted":true}}],"a":2}');
    assert.deepStrictEqual(plainValue(carried), value);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(carriedValue({ plain: [1, 'x', null] }) instanceof JsonText, false);
    assert.equal(mayHoldProtoKey('{"value":{"name":"caf\\u00e9"}}'), false, 'an escape of another letter needs no walk');
  });
});
