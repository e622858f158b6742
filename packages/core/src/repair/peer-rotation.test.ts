// Checks which peer each anti-entropy round compares with, by running real rounds against a
// transport that records the address asked for digests, while the set of available peers
// changes between rounds as it did after a partition healed in simulator seed 4304778.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { VirtualClock } from '../clock/virtual-clock.js';
import type { Transport } from '../protocol/transport.js';
import { loadKeyHasher, type KeyHasher } from '../ring/hash.js';
import { buildRing } from '../ring/placement.js';
import { MemoryEngine } from '../storage/memory-engine.js';
import { AntiEntropy } from './anti-entropy.js';

let hash: KeyHasher;
before(async () => {
  hash = await loadKeyHasher();
});

/** The peers that n1's rounds pick, one round per entry of `availableByRound`. */
async function peersPicked(availableByRound: ReadonlyArray<readonly string[]>): Promise<string[]> {
  const ring = buildRing(['n1', 'n2', 'n3', 'n4', 'n5'], { vnodes: 8, replicas: 3, hash });
  const asked: string[] = [];
  // Answers as a peer on another ring would: the round ends after its first message.
  const transport: Transport = {
    request: (address, body) => {
      if (body.type === 'digests') asked.push(address.replace(':1', ''));
      return Promise.resolve({ type: 'digestsReply', ring: -1, summaries: [], watermark: 0 } as never);
    },
  };
  let available: readonly string[] = [];
  const antiEntropy = new AntiEntropy({
    selfId: 'n1',
    ring: () => ring,
    engine: new MemoryEngine(hash),
    transport,
    addressOf: (nodeId) => `${nodeId}:1`,
    isAvailable: (nodeId) => available.includes(nodeId),
    clock: new VirtualClock(),
  });
  for (const peers of availableByRound) {
    available = peers;
    await antiEntropy.round();
  }
  return asked;
}

describe('anti-entropy peer rotation', () => {
  it('takes every peer in turn while all stay available', async () => {
    const all = ['n2', 'n3', 'n4', 'n5'];
    const picked = await peersPicked(Array.from({ length: 8 }, () => all));
    assert.deepEqual(picked.slice(0, 4).sort(), all);
    assert.deepEqual(picked.slice(4), picked.slice(0, 4), 'the same order each time round');
  });

  it('does not take the same peer twice running while another is available, as the available set changes', async () => {
    // n1's view in seed 4304778's repair window, round by round: suspicions of n2, n3 and n4
    // came and went; a turn counter into this list took one peer all four times (n5 there).
    const picked = await peersPicked([['n2', 'n4', 'n5'], ['n4', 'n5'], ['n3', 'n4', 'n5'], ['n2', 'n3', 'n4', 'n5']]);
    assert.equal(picked.length, 4);
    for (let i = 1; i < picked.length; i++) assert.notEqual(picked[i], picked[i - 1], `rounds ${i} and ${i + 1} both took ${picked[i]}: ${picked.join(', ')}`);
    assert.ok(picked.includes('n4'), `n4, available in three of the rounds, was never taken: ${picked.join(', ')}`);
  });
});
