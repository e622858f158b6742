// Bounds how deeply a request body's JSON nests, decided on the raw text before it is
// parsed (docs/security.md, "Limits before authentication"). Every later step that walks a value recursively
// (the replicas' codec, serializers) would otherwise meet a depth only the stack bounds:
// a value nested 3,000 deep was accepted here and overflowed the stack on the replicas.
import type { FastifyInstance } from 'fastify';
import { ProblemError } from './problems.js';
import { noteParsedBody } from './proto-key-bodies.js';
import { noteBodyText, plainStringBody } from './value-echo.js';

const openBrace = 0x7b;
const openBracket = 0x5b;
const closeBrace = 0x7d;
const closeBracket = 0x5d;
const quote = 0x22;
const backslash = 0x5c;

/**
 * True when `text` opens more than `depthMax` arrays or objects inside each other. One
 * pass, no recursion, so it cannot overflow on any input; brackets inside strings do not
 * count. Malformed text is left to the JSON parser to refuse.
 */
export function jsonDepthExceeds(text: string, depthMax: number): boolean {
  // Depth d needs d opening brackets: text with no more than depthMax of them in all
  // cannot exceed the limit. Counting them is a native search, so a large value that is
  // mostly strings (the common case) costs almost nothing here.
  if (text.length <= depthMax || openingsAtMost(text, depthMax)) return false;
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === quote) {
      index = stringEnd(text, index);
      if (index < 0) return false; // an unterminated string: the parser refuses it
    } else if (code === openBrace || code === openBracket) {
      if (++depth > depthMax) return true;
    } else if (code === closeBrace || code === closeBracket) {
      depth--;
    }
  }
  return false;
}

/** True when `text` holds at most `limit` opening brackets, inside strings or not. */
function openingsAtMost(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      if (++count > limit) return false;
    }
  }
  return true;
}

/** The index of the quote that closes the string opened at `start`, or -1. Jumps by native search, not by character. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const closing = text.indexOf('"', from);
    if (closing < 0) return -1;
    // The quote is escaped when an odd number of backslashes stands right before it.
    let backslashes = 0;
    while (text.charCodeAt(closing - 1 - backslashes) === backslash) backslashes++;
    if (backslashes % 2 === 0) return closing;
    from = closing + 1;
  }
}

/**
 * Replaces Fastify's JSON body parser with one that checks the depth first, then parses
 * with Fastify's own parser. `__proto__` and `constructor` keys are plain data here:
 * JSON.parse makes them own properties and nothing on the request path assigns them
 * into another object, so refusing them (Fastify's default) only refused valid JSON.
 */
export function registerJsonBodyParser(app: FastifyInstance, depthMax: number): void {
  const parseJson = app.getDefaultJsonParser('ignore', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // parseAs 'buffer' hands over the body's bytes; the PUT answer reuses them (value-echo.ts).
    const bytes = body as Buffer;
    const text = bytes.toString('utf8');
    // A plain string value needs no parse at all, nor a depth check.
    const plain = plainStringBody(text, bytes);
    if (plain !== undefined) {
      noteParsedBody(plain, text);
      noteBodyText(plain, text, bytes);
      done(null, plain);
      return;
    }
    if (jsonDepthExceeds(text, depthMax)) {
      done(
        new ProblemError(
          400,
          'json-too-deep',
          'JSON nested too deeply',
          `the body nests arrays and objects more than ${depthMax} levels deep (the {"value": ...} envelope counts as one); ` +
            'store a flatter value, or start the nodes with a larger --json-depth-max (RINGKV_JSON_DEPTH_MAX)',
          { depthMax },
        ),
        undefined,
      );
      return;
    }
    parseJson(request, text, (error, parsed: unknown) => {
      // Lets the PUT route skip the walk for "__proto__" keys when the text has none (proto-key-bodies.ts).
      if (!error) {
        noteParsedBody(parsed, text);
        noteBodyText(parsed, text, bytes);
      }
      done(error, parsed);
    });
  });
}
