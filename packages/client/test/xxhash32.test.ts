// The client's own XXH32 against the core's (xxhash-wasm) on published vectors and on
// thousands of generated strings (ASCII, any code point, lone surrogates, every length
// around the 4- and 16-byte block edges): the client must place keys exactly as nodes do.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadKeyHasher } from '@ringkv/core';
import { xxhash32 } from '../src/xxhash32.js';

describe('xxhash32', () => {
  it('gives the reference values of XXH32 with seed 0', () => {
    assert.equal(xxhash32(''), 0x02cc5d05);
    assert.equal(xxhash32('a'), 0x550d7456);
    assert.equal(xxhash32('abc'), 0x32d153ff);
    assert.equal(xxhash32('Nobody inspects the spammish repetition'), 0xe2293b2f);
  });

  it('equals the core hasher on every length from 0 to 200 and on ring tokens', async () => {
    const core = await loadKeyHasher();
    for (let length = 0; length <= 200; length++) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7 + length) % 90))).join('');
      assert.equal(xxhash32(text), core(text), `length ${length}`);
    }
    for (let i = 0; i < 512; i++) assert.equal(xxhash32(`n1#${i}`), core(`n1#${i}`));
  });

  it('equals the core hasher on 10,000 generated strings of any code points', async () => {
    const core = await loadKeyHasher();
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 300 }),
      // Lone surrogates: both encoders write U+FFFD for them.
      fc.array(fc.integer({ min: 0xd800, max: 0xdfff }), { maxLength: 9 }).map((units) => String.fromCharCode(...units)),
    );
    fc.assert(
      fc.property(anyText, (text) => xxhash32(text) === core(text)),
      { numRuns: 10_000, seed: 15 },
    );
  });

  it('stays right when a long key follows short ones (its scratch buffer grows)', async () => {
    const core = await loadKeyHasher();
    const long = 'k'.repeat(1024) + '€'.repeat(300);
    assert.equal(xxhash32('x'), core('x'));
    assert.equal(xxhash32(long), core(long));
    assert.equal(xxhash32('y'), core('y'));
  });
});
