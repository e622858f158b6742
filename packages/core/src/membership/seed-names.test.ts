// Checks that a seed given by a name no member advertises (a host name that resolves to a
// member, or another form of the name it advertises) still counts as known once the node
// that answered there is a member, over the in-memory network with the name as an alias:
// otherwise the node would never be ready.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../clock/virtual-clock.js';
import { MemoryNetwork } from '../protocol/memory-network.js';
import type { MemberAddress } from '../protocol/messages.js';
import { SeededRng } from '../rng.js';
import { Membership } from './membership.js';

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('seeds given by name', () => {
  it('counts a seed as known once the member that answered a ping there is known', async () => {
    const clock = new VirtualClock(0);
    const network = new MemoryNetwork(clock, new SeededRng(1), { delayMinMs: 1, delayMaxMs: 1 });
    network.alias('ringkv-0.peers:8000', 'a:1');
    const members = new Map<string, Membership>();
    const start = (self: MemberAddress, seeds: string[]) => {
      const transport = network.attach(self, async (body, from) => {
        const membership = members.get(self.nodeId) as Membership;
        if (body.type === 'ping') return membership.handlePing(body, from);
        return { type: 'failure', code: 'refused', message: `${body.type} is not served here` };
      });
      members.set(self.nodeId, new Membership({ self, seeds, transport, rng: new SeededRng(2), nowMs: () => clock.nowMs(), selfRing: 'normal' }));
      return members.get(self.nodeId) as Membership;
    };
    const a = start({ nodeId: 'a', address: 'a:1' }, []);
    const b = start({ nodeId: 'b', address: 'b:1' }, ['ringkv-0.peers:8000']);
    assert.equal(b.isReady(), false);
    for (let period = 0; period < 5 && !b.isReady(); period++) {
      const rounds = Promise.all([a.protocolPeriod(), b.protocolPeriod()]);
      for (let ms = 0; ms < 10; ms++) {
        clock.advance(1);
        await yieldToEventLoop();
      }
      await rounds;
    }
    assert.equal(b.isReady(), true, 'the seed named by an alias of a:1 is known');
    assert.deepEqual(
      b.list().map((member) => member.nodeId),
      ['a', 'b'],
    );
  });
});
