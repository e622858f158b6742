// The PUT answer echoes the value written (`{key, value, version}`, the original README's
// contract). Serialising a large value back to JSON costs about what parsing it did (a
// flood of 1 MiB PUTs spent more CPU there than anywhere else), and the body parser has
// already seen the value's own JSON text and bytes: the answer reuses them. The answer is
// sent as bytes copied from the body, so a large value is neither encoded nor measured
// again on the way out.
/** Bodies the JSON parser read, with their text and bytes. Weak: a body leaves with its request. */
const bodyTexts = new WeakMap<object, { text: string; bytes: Buffer }>();

/** Called by the JSON body parser with each body it parsed and the text and bytes it came from. */
export function noteBodyText(body: unknown, text: string, bytes: Buffer): void {
  if (body !== null && typeof body === 'object') bodyTexts.set(body, { text, bytes });
}

/** Where the value's JSON text lies in the body text: after `{"value":` and before the last `}`. */
function valueSpan(text: string): { start: number; end: number } | undefined {
  const head = /^\s*\{\s*"value"\s*:\s*/.exec(text);
  if (head === null) return undefined;
  let end = text.lastIndexOf('}');
  if (end <= head[0].length) return undefined;
  while (end > head[0].length && /\s/.test(text.charAt(end - 1))) end--;
  return end > head[0].length ? { start: head[0].length, end } : undefined;
}

/**
 * The JSON text of the body's `value`, when the text is plainly `{"value": X}` (the PUT
 * body allows no other property); undefined when the answer must be serialised instead
 * (an escaped property name, a body another parser read).
 */
export function valueTextOf(body: object): string | undefined {
  const noted = bodyTexts.get(body);
  const span = noted === undefined ? undefined : valueSpan(noted.text);
  return noted === undefined || span === undefined ? undefined : noted.text.slice(span.start, span.end);
}

/**
 * `{key, value, version}` as JSON bytes around the value's own bytes in the body, or
 * undefined when the body's text was not recorded or is not plainly `{"value": X}`.
 */
export function storedValueBytes(body: object, key: string, version: string, expiresAt?: string): Buffer | undefined {
  const noted = bodyTexts.get(body);
  const span = noted === undefined ? undefined : valueSpan(noted.text);
  if (noted === undefined || span === undefined) return undefined;
  // What lies around the value is short: its UTF-8 length locates the value's bytes.
  const startByte = Buffer.byteLength(noted.text.slice(0, span.start));
  const endByte = noted.bytes.length - Buffer.byteLength(noted.text.slice(span.end));
  const expiry = expiresAt === undefined ? '' : `,"expiresAt":${JSON.stringify(expiresAt)}`;
  return Buffer.concat([Buffer.from(`{"key":${JSON.stringify(key)},"value":`), noted.bytes.subarray(startByte, endByte), Buffer.from(`,"version":${JSON.stringify(version)}${expiry}}`)]);
}

/**
 * The body `{"value": "<text>"}` whose string holds no escape, quote or control character,
 * parsed without JSON.parse: its value is exactly the characters between the quotes (a
 * native search proves there is nothing to unescape). Undefined for any other body. A large
 * string value (a blob, base64) then costs a few scans instead of a parse.
 */
export function plainStringBody(text: string): { value: string } | undefined {
  const head = /^\s*\{\s*"value"\s*:\s*"/.exec(text);
  if (head === null) return undefined;
  const tail = /"\s*\}\s*$/.exec(text.slice(-64));
  if (tail === null) return undefined;
  const start = head[0].length;
  const end = text.length - tail[0].length;
  if (end < start) return undefined;
  const closing = text.indexOf('"', start);
  if (closing !== end || text.indexOf('\\', start) !== -1 || holdsControlCharacter(text, start, end)) return undefined;
  return { value: text.slice(start, end) };
}

/** Whether `text` between `start` and `end` holds a character JSON allows in a string only escaped (below U+0020). */
function holdsControlCharacter(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (text.charCodeAt(index) < 0x20) return true;
  return false;
}
