// Validation of the explorer's value field: any JSON value may be stored, and a
// mistake should say what is wrong before the request is sent.

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; message: string };

export function parseJsonValue(text: string): JsonParseResult {
  if (text.trim() === '') {
    return { ok: false, message: 'Enter a JSON value, for example "hello", 42 or {"name": "ada"}.' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = looksLikeBareText(text) ? ' Text must be in double quotes, e.g. "hello".' : '';
    return { ok: false, message: `Not valid JSON: ${reason}.${hint}` };
  }
}

/** True for input such as `hello world` that a user most likely meant as a string. */
function looksLikeBareText(text: string): boolean {
  const trimmed = text.trim();
  return !/^[[{"\d-]/.test(trimmed) && !['true', 'false', 'null'].includes(trimmed);
}

/** Pretty JSON for display; values that stringify to nothing (never stored) show as such. */
export function formatJsonValue(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? String(value);
}
