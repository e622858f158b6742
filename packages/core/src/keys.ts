// Key rules (docs/design.md, "The request path": a key is a UTF-8 string of 1..1024
// bytes), shared by the API and the replica handler so both refuse the same keys.
import { keyBytesMax } from './limits.js';

/** The UTF-8 length of a string, counted without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > keyBytesMax) return false;
  return key.length * 3 <= keyBytesMax || utf8Length(key) <= keyBytesMax;
}

/**
 * Order strings by their UTF-8 bytes, as LMDB does. JavaScript's `<` compares UTF-16 code
 * units, which differs only for characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    // A surrogate half encodes a code point above U+FFFF, whose UTF-8 form sorts after
    // every code point of the basic plane.
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
