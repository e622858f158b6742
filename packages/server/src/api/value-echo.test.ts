// Checks the PUT answer built around the value's own bytes: it parses to exactly what
// serialising would give, for bodies as clients send them (non-ASCII keys and values
// included), and falls back to serialising for a body whose property name is escaped or
// that no parser recorded; and the parse-free reading of a plain string body agrees with
// JSON.parse on every text it accepts (property test) and refuses every text it must.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { noteBodyText, plainStringBody, storedValueBytes, valueTextOf } from './value-echo.js';

function parsedBody(text: string): { value: unknown } {
  const body = JSON.parse(text) as { value: unknown };
  noteBodyText(body, text, Buffer.from(text));
  return body;
}

describe('the PUT answer from the value bytes', () => {
  const bodies = ['{"value":1}', '{ "value" : {"a": [1, 2, {"b": "}"}]} }\n', '\t{"value":"x\\"}"}', '{"value": null}', '{"value":[]}', '{"value": "é \\u00e9 ☃"}'];
  for (const text of bodies) {
    it(`echoes ${JSON.stringify(text)} as serialising would`, () => {
      const body = parsedBody(text);
      assert.notEqual(valueTextOf(body), undefined);
      const answer = storedValueBytes(body, 'k/ü', '12-n1', '2026-11-29T10:00:00.000Z');
      assert.ok(answer !== undefined);
      assert.deepEqual(JSON.parse(answer.toString('utf8')), { key: 'k/ü', value: body.value, version: '12-n1', expiresAt: '2026-11-29T10:00:00.000Z' });
    });
  }

  it('falls back to serialising for an escaped property name, or a body no parser recorded', () => {
    assert.equal(valueTextOf(parsedBody('{"\\u0076alue": 1}')), undefined);
    assert.equal(storedValueBytes(parsedBody('{"\\u0076alue": 1}'), 'k', '1-n1'), undefined);
    assert.equal(valueTextOf({ value: 1 }), undefined);
  });
});

describe('a plain string body read without JSON.parse', () => {
  it('agrees with JSON.parse on every body it reads, and reads every plain one', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', '\n', '\t '), (value, space) => {
        const text = `${space}{${space}"value"${space}:${space}${JSON.stringify(value)}${space}}${space}`;
        const read = plainStringBody(text);
        const plain = [...value].every((character) => character !== '"' && character !== '\\' && character.charCodeAt(0) >= 0x20);
        if (read === undefined) assert.ok(!plain, `a plain string was not read: ${JSON.stringify(text)}`);
        else assert.equal(read.value, (JSON.parse(text) as { value: string }).value);
      }),
    );
  });

  it('refuses what is not one plain string value', () => {
    for (const text of ['{"value":"a"', '{"value":"a"}x', '{"value":"a\\"b"}', '{"value":"a","x":"b"}', '{"value":"a\u0001"}', '{"value":1}', '{"\\u0076alue":"a"}', '["value","a"]']) {
      assert.equal(plainStringBody(text), undefined, text);
    }
    assert.deepEqual(plainStringBody('{"value":""}'), { value: '' });
  });

  it('takes only JSON whitespace around the value, as JSON.parse does', () => {
    // U+00A0 and U+FEFF are whitespace to a regular expression's \s, not to JSON.
    for (const text of ['\u00a0{"value":"a"}', '{\ufeff"value":"a"}', '{"value":"a"}\u2028', '{"value"\u00a0:"a"}']) {
      assert.throws(() => JSON.parse(text), SyntaxError, text);
      assert.equal(plainStringBody(text), undefined, text);
      assert.equal(plainStringBody(text, Buffer.from(text)), undefined, text);
    }
  });

  it('searches the bytes of a large body and agrees with JSON.parse', () => {
    const filler = 'é☃x'.repeat(2000);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat({ max: filler.length }), fc.constantFrom('', ' ', '\r\n'), (inserted, at, space) => {
        const value = filler.slice(0, at) + inserted + filler.slice(at);
        const text = `${space}{"value":${space}${JSON.stringify(value)}${space}}${space}`;
        const bytes = Buffer.from(text);
        assert.ok(bytes.length >= 4096);
        const read = plainStringBody(text, bytes);
        const plain = [...value].every((character) => character !== '"' && character !== '\\' && character.charCodeAt(0) >= 0x20);
        assert.deepEqual(read, plain ? { value } : undefined, JSON.stringify(inserted));
        assert.deepEqual(plainStringBody(text), read);
      }),
    );
    // A raw control character (not escaped) at either end of a large value, or in the middle, is refused.
    for (const where of [0, 3000, filler.length]) {
      const text = `{"value":"${filler.slice(0, where)}\u0001${filler.slice(where)}"}`;
      assert.equal(plainStringBody(text, Buffer.from(text)), undefined, String(where));
    }
  });
});
