// Values that hold an own "__proto__" key travel as their JSON text. Such a key is plain
// data: JSON.parse makes it an own property and nothing is polluted. But the MessagePack
// decoders on the way (msgpackr in the peer codec, and the copy of msgpackr inside lmdb-js)
// rename a decoded "__proto__" map key to "__proto_", with no option to turn that off, so a
// structured copy would come back altered from a replica or from disk. The HTTP edge wraps
// such a value in a JsonText once; every later step (coordinator, replicas, hints,
// anti-entropy, rebalancing, storage) carries it opaquely, and the peer codec and the LMDB
// rows store its text under a flag of their own. Every other value (nearly all of them) is
// carried as it is, with no extra work.

/** A JSON value carried as its text; JSON.stringify (and so every HTTP answer) writes the value. */
export class JsonText {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

const protoKey = '__proto__';
/** `\u` escapes that decode to a letter of "__proto__" (_ o p r t), any hex case. */
const protoLetterEscape = /\\u00(?:5f|6f|7[024])/i;

/**
 * False only when JSON text certainly parses to no "__proto__" key: the key's letters
 * must appear literally or as `\u` escapes. A cheap scan that lets the edge skip the walk
 * for almost every body; a true answer only means "walk the parsed value".
 */
export function mayHoldProtoKey(text: string): boolean {
  // The plain substring test first: running the regular expression costs more than the
  // substring scans on a short body, and most bodies hold no escape at all.
  return text.includes(protoKey) || (text.includes('\\u') && protoLetterEscape.test(text));
}

/** True when an object anywhere in the JSON value has an own "__proto__" key. Iterative, so any depth is safe. */
export function holdsProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const pending: object[] = [value];
  while (pending.length > 0) {
    const item = pending.pop() as object;
    if (Array.isArray(item)) {
      for (const element of item as unknown[]) if (element !== null && typeof element === 'object') pending.push(element);
      continue;
    }
    if (Object.hasOwn(item, protoKey)) return true;
    for (const element of Object.values(item) as unknown[]) if (element !== null && typeof element === 'object') pending.push(element);
  }
  return false;
}

/** The form a JSON value is carried in: its JSON text when it holds a "__proto__" key, else itself. */
export function carriedValue(value: unknown): unknown {
  return holdsProtoKey(value) ? new JsonText(JSON.stringify(value)) : value;
}

/** The JSON value itself, whichever form it was carried in. */
export function plainValue(value: unknown): unknown {
  return value instanceof JsonText ? value.toJSON() : value;
}
