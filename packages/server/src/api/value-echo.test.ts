// Checks the PUT answer built around the value's own JSON text: it parses to exactly what
// serialising would give, for bodies as clients send them, and falls back to serialising
// for a body whose property name is escaped or that no parser recorded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noteBodyText, storedValueText, valueTextOf } from './value-echo.js';

function parsedBody(text: string): { value: unknown } {
  const body = JSON.parse(text) as { value: unknown };
  noteBodyText(body, text);
  return body;
}

describe('the PUT answer from the value text', () => {
  const bodies = ['{"value":1}', '{ "value" : {"a": [1, 2, {"b": "}"}]} }\n', '\t{"value":"x\\"}"}', '{"value": null}', '{"value":[]}', '{"value": "é \\u00e9"}'];
  for (const text of bodies) {
    it(`echoes ${JSON.stringify(text)} as serialising would`, () => {
      const body = parsedBody(text);
      const valueText = valueTextOf(body);
      assert.notEqual(valueText, undefined);
      assert.deepEqual(JSON.parse(storedValueText('k/ü', valueText as string, '12-n1')), { key: 'k/ü', value: body.value, version: '12-n1' });
    });
  }

  it('falls back to serialising for an escaped property name, or a body no parser recorded', () => {
    assert.equal(valueTextOf(parsedBody('{"\\u0076alue": 1}')), undefined);
    assert.equal(valueTextOf({ value: 1 }), undefined);
  });
});
