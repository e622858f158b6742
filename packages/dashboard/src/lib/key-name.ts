// Client-side check of a key against the store's rule (docs/design.md, "The request path"):
// a UTF-8 string of 1 to 1024 bytes.

export const keyBytesMax = 1024;

/** null when the key is acceptable, else a sentence saying what to change. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return 'Enter a key.';
  const bytes = new TextEncoder().encode(key).length;
  if (bytes > keyBytesMax) return `The key is ${bytes} bytes long; the limit is ${keyBytesMax} bytes.`;
  return null;
}
