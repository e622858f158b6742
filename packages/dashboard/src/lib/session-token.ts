// Where the dashboard keeps the API token between page loads: sessionStorage, which
// lives as long as the tab and is never sent anywhere by the browser. Not localStorage
// (it outlives the session and every tab of the origin reads it) and never the URL (it
// ends up in history, logs and Referer headers).
export const tokenStorageKey = 'ringkv.token';

/** The part of the Web Storage API used here; sessionStorage satisfies it. */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The stored token, or null; a store the browser refuses (privacy settings) holds nothing. */
export function readStoredToken(store: TokenStore): string | null {
  try {
    const token = store.getItem(tokenStorageKey);
    return token === null || token === '' ? null : token;
  } catch {
    return null;
  }
}

/** Keeps the token for this tab; false when the browser refuses, and the token then lasts until reload. */
export function storeToken(store: TokenStore, token: string): boolean {
  try {
    store.setItem(tokenStorageKey, token);
    return true;
  } catch {
    return false;
  }
}

export function forgetToken(store: TokenStore): void {
  try {
    store.removeItem(tokenStorageKey);
  } catch {
    // Nothing was stored if the store cannot be used.
  }
}

export type TokenInput = { ok: true; token: string } | { ok: false; message: string };

/** Printable ASCII without spaces: what an HTTP header value can carry unchanged. */
const tokenPattern = /^[\x21-\x7e]+$/;

/**
 * Checks a pasted token before it is sent. Surrounding whitespace and a copied `Bearer `
 * are dropped; anything else that could not travel in an Authorization header (a line
 * break, a space, a non-ASCII character) is refused here, where the reason can be named,
 * instead of failing inside fetch.
 */
export function parseTokenInput(text: string): TokenInput {
  const token = text.trim().replace(/^bearer\s+/i, '');
  if (token === '') return { ok: false, message: 'Paste the token that `ringkv token create` printed.' };
  if (!tokenPattern.test(token)) {
    return { ok: false, message: 'A token is one word of letters, digits and punctuation, as `ringkv token create` printed it; this text has spaces, line breaks or other characters.' };
  }
  return { ok: true, token };
}
