// The PUT answer echoes the value written (`{key, value, version}`, the original README's
// contract). Serialising a large value back to JSON costs about what parsing it did (a
// flood of 1 MiB PUTs spent more CPU there than anywhere else), and the body parser has
// already seen the value's own JSON text: the answer reuses it.
/** Bodies the JSON parser read, with their text. Weak: a body leaves with its request. */
const bodyTexts = new WeakMap<object, string>();

/** Called by the JSON body parser with each body it parsed and the text it came from. */
export function noteBodyText(body: unknown, text: string): void {
  if (body !== null && typeof body === 'object') bodyTexts.set(body, text);
}

/**
 * The JSON text of the body's `value`, when the text is plainly `{"value": X}` (the PUT
 * body allows no other property); undefined when the answer must be serialised instead
 * (an escaped property name, a body another parser read).
 */
export function valueTextOf(body: object): string | undefined {
  const text = bodyTexts.get(body);
  if (text === undefined) return undefined;
  const head = /^\s*\{\s*"value"\s*:/.exec(text);
  const end = text.lastIndexOf('}');
  if (head === null || end <= head[0].length) return undefined;
  const value = text.slice(head[0].length, end).trim();
  return value.length > 0 ? value : undefined;
}

/** `{key, value, version}` as JSON text around the value's own text. */
export function storedValueText(key: string, valueText: string, version: string, expiresAt?: string): string {
  const expiry = expiresAt === undefined ? '' : `,"expiresAt":${JSON.stringify(expiresAt)}`;
  return `{"key":${JSON.stringify(key)},"value":${valueText},"version":${JSON.stringify(version)}${expiry}}`;
}
