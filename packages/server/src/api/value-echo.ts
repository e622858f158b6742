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

/** JSON's own whitespace (RFC 8259): `\s` would also take Unicode spaces JSON.parse refuses. */
const head = /^[ \t\n\r]*\{[ \t\n\r]*"value"[ \t\n\r]*:[ \t\n\r]*"/;
const tail = /"[ \t\n\r]*\}[ \t\n\r]*$/;

/**
 * The body `{"value": "<text>"}` whose string holds no escape, quote or control character,
 * parsed without JSON.parse: its value is exactly the characters between the quotes (a
 * native search proves there is nothing to unescape). Undefined for any other body. A large
 * string value (a blob, base64) then costs a few scans instead of a parse. `bytes`, the
 * body's UTF-8 bytes when the caller has them, makes the search for control characters a
 * byte search.
 */
export function plainStringBody(text: string, bytes?: Uint8Array): { value: string } | undefined {
  const opening = head.exec(text);
  if (opening === null) return undefined;
  const closing = tail.exec(text.slice(-64));
  if (closing === null) return undefined;
  const start = opening[0].length;
  const end = text.length - closing[0].length;
  if (end < start) return undefined;
  if (text.indexOf('"', start) !== end || text.indexOf('\\', start) !== -1) return undefined;
  // What lies around the string is ASCII, so its bytes start and end as far from the body's ends as its characters do.
  const control = bytes !== undefined && bytes.length >= byteSearchBytesMin ? holdsControlByte(bytes, start, bytes.length - (text.length - end)) : holdsControlCharacter(text, start, end);
  return control ? undefined : { value: text.slice(start, end) };
}

/** A character JSON allows in a string only escaped (a code unit below U+0020). Global, so a search can start at `lastIndex`. */
const controlCharacter = /[^\u0020-\uffff]/g;

/** From this many bytes, control characters are looked for byte by byte (see holdsControlByte). */
const byteSearchBytesMin = 4096;

/** Whether `text` between `start` and `end` holds a control character. */
function holdsControlCharacter(text: string, start: number, end: number): boolean {
  controlCharacter.lastIndex = start;
  const found = controlCharacter.exec(text);
  return found !== null && found.index < end;
}

/**
 * Whether `bytes` between `start` and `end` hold a control character. In UTF-8 a byte below
 * 0x20 is always that character, never part of another, so 32 native byte searches answer.
 * On a 1 MiB value they take 0.6 ms where the regular expression took 1.5–2 ms and a loop
 * over the characters 3–5, on the event loop of the node a flood of large PUTs reached
 * (issue 13).
 */
function holdsControlByte(bytes: Uint8Array, start: number, end: number): boolean {
  for (let code = 0; code < 0x20; code++) {
    const at = bytes.indexOf(code, start);
    if (at !== -1 && at < end) return true;
  }
  return false;
}
