// Where the HTTP edge turns a value holding a "__proto__" key into the form the cluster
// carries (packages/core/src/storage/json-text.ts). Walking every parsed value would cost
// about a tenth of JSON.parse on each write; the body parser sees the raw text, where one
// substring scan proves that almost every body holds no such key. The parser records
// those bodies here, and only the others are walked. A body the parser did not record
// (another parser, or none) is walked: correct, only slower.
import { carriedValue, mayHoldProtoKey } from '@ringkv/core';

/** Parsed bodies whose raw JSON text has no "__proto__" key. Weak: a body leaves with its request. */
const bodiesWithoutProtoKey = new WeakSet<object>();

/** Called by the JSON body parser with each body it parsed and the text it came from. */
export function noteParsedBody(body: unknown, text: string): void {
  if (body !== null && typeof body === 'object' && !mayHoldProtoKey(text)) bodiesWithoutProtoKey.add(body);
}

/** A value from a parsed request body, in the form the cluster carries and stores. */
export function carriedBodyValue(body: object, value: unknown): unknown {
  return bodiesWithoutProtoKey.has(body) ? value : carriedValue(value);
}
