// The ring's hash: 32-bit xxHash (xxhash-wasm), fast, stable across versions and machines,
// and well spread, so every node computes the same positions for keys and virtual nodes.
import loadXxhash from 'xxhash-wasm';

/** Maps a string to an unsigned 32-bit ring position. */
export type KeyHasher = (text: string) => number;

let loaded: Promise<KeyHasher> | undefined;

/** Loads the WebAssembly hasher once per process. */
export function loadKeyHasher(): Promise<KeyHasher> {
  loaded ??= loadXxhash().then((api) => (text: string) => api.h32(text, 0) >>> 0);
  return loaded;
}
