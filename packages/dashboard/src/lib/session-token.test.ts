// Checks where the token is kept (one sessionStorage key, cleared on sign-out, a refusing
// store tolerated) and which pasted text is accepted, against an in-memory Web Storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forgetToken, parseTokenInput, readStoredToken, storeToken, tokenStorageKey, type TokenStore } from './session-token.js';

/** The Web Storage behaviour the module relies on, as node has no sessionStorage. */
function memoryStore(): TokenStore & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    getItem: (key) => entries.get(key) ?? null,
    setItem: (key, value) => void entries.set(key, value),
    removeItem: (key) => void entries.delete(key),
  };
}

/** A browser that forbids storage (e.g. blocked site data) throws on every call. */
const refusingStore: TokenStore = {
  getItem: () => {
    throw new Error('SecurityError');
  },
  setItem: () => {
    throw new Error('QuotaExceededError');
  },
  removeItem: () => {
    throw new Error('SecurityError');
  },
};

test('a stored token is read back under one key and forgotten on sign-out', () => {
  const store = memoryStore();
  assert.equal(readStoredToken(store), null);
  assert.equal(storeToken(store, 'rkv_abc'), true);
  assert.deepEqual([...store.entries], [[tokenStorageKey, 'rkv_abc']]);
  assert.equal(readStoredToken(store), 'rkv_abc');
  forgetToken(store);
  assert.equal(readStoredToken(store), null);
  assert.equal(store.entries.size, 0);
});

test('an empty stored value counts as no token', () => {
  const store = memoryStore();
  store.setItem(tokenStorageKey, '');
  assert.equal(readStoredToken(store), null);
});

test('a store the browser refuses holds nothing and throws nothing', () => {
  assert.equal(readStoredToken(refusingStore), null);
  assert.equal(storeToken(refusingStore, 'rkv_abc'), false);
  assert.doesNotThrow(() => forgetToken(refusingStore));
});

test('pasted tokens lose surrounding whitespace and a copied Bearer', () => {
  assert.deepEqual(parseTokenInput('  rkv_read.AbC-123_x  \n'), { ok: true, token: 'rkv_read.AbC-123_x' });
  assert.deepEqual(parseTokenInput('Bearer rkv_abc'), { ok: true, token: 'rkv_abc' });
  assert.deepEqual(parseTokenInput('bearer   rkv_abc'), { ok: true, token: 'rkv_abc' });
});

test('text that cannot travel in a header is refused with a reason', () => {
  for (const text of ['', '   ', 'two words', 'line\nbreak', 'tökén', 'tab\there']) {
    const parsed = parseTokenInput(text);
    assert.equal(parsed.ok, false, JSON.stringify(text));
    if (!parsed.ok) assert.match(parsed.message, /ringkv token create/);
  }
});
