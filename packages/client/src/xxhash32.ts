// 32-bit xxHash (XXH32) of a string's UTF-8 bytes, seed 0: the hash the ring places keys
// with (the core loads it as WebAssembly from xxhash-wasm; `/cluster` names it `xxh32`).
// Written out here so the client computes the same positions in any browser or runtime
// without the core, without WebAssembly and without a dependency; a differential test
// (packages/client/test/xxhash32.test.ts) checks it against the core's hasher.

const prime1 = 0x9e3779b1;
const prime2 = 0x85ebca77;
const prime3 = 0xc2b2ae3d;
const prime4 = 0x27d4eb2f;
const prime5 = 0x165667b1;

const encoder = new TextEncoder();
/** Reused between calls: a key is encoded into it instead of into a fresh array. */
let scratch = new Uint8Array(256);

/** The unsigned 32-bit XXH32 of `text` encoded as UTF-8 (lone surrogates become U+FFFD, as TextEncoder does). */
export function xxhash32(text: string, seed = 0): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return xxhash32Bytes(scratch, written, seed);
}

/** XXH32 of the first `length` bytes of `bytes`. */
export function xxhash32Bytes(bytes: Uint8Array, length: number, seed = 0): number {
  let offset = 0;
  let hash: number;
  if (length >= 16) {
    let v1 = (seed + prime1 + prime2) | 0;
    let v2 = (seed + prime2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - prime1) | 0;
    for (const limit = length - 16; offset <= limit; offset += 16) {
      v1 = round(v1, wordAt(bytes, offset));
      v2 = round(v2, wordAt(bytes, offset + 4));
      v3 = round(v3, wordAt(bytes, offset + 8));
      v4 = round(v4, wordAt(bytes, offset + 12));
    }
    hash = (rotateLeft(v1, 1) + rotateLeft(v2, 7) + rotateLeft(v3, 12) + rotateLeft(v4, 18)) | 0;
  } else {
    hash = (seed + prime5) | 0;
  }
  hash = (hash + length) | 0;
  for (; offset + 4 <= length; offset += 4) {
    hash = (hash + Math.imul(wordAt(bytes, offset), prime3)) | 0;
    hash = Math.imul(rotateLeft(hash, 17), prime4);
  }
  for (; offset < length; offset++) {
    hash = (hash + Math.imul(bytes[offset] as number, prime5)) | 0;
    hash = Math.imul(rotateLeft(hash, 11), prime1);
  }
  hash ^= hash >>> 15;
  hash = Math.imul(hash, prime2);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, prime3);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function round(accumulator: number, word: number): number {
  return Math.imul(rotateLeft((accumulator + Math.imul(word, prime2)) | 0, 13), prime1);
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** The little-endian 32-bit word at `offset`. */
function wordAt(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) |
      ((bytes[offset + 1] as number) << 8) |
      ((bytes[offset + 2] as number) << 16) |
      ((bytes[offset + 3] as number) << 24)) | 0
  );
}
