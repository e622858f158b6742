// Checks the hybrid logical clock against an injected wall clock that stalls, jumps
// backwards and runs ahead on other nodes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClockSkewError, HybridLogicalClock, hlcWallMs } from './hlc.js';

describe('HybridLogicalClock', () => {
  it('follows the wall clock when it moves forward', () => {
    let wall = 1_000_000;
    const clock = new HybridLogicalClock(() => wall);
    const first = clock.now();
    wall += 50;
    const second = clock.now();
    assert.equal(hlcWallMs(first), 1_000_000);
    assert.equal(hlcWallMs(second), 1_000_050);
  });

  it('never goes backwards when the wall clock does, nor stalls when it stands still', () => {
    let wall = 5_000_000;
    const clock = new HybridLogicalClock(() => wall);
    let previous = clock.now();
    const steps = [0, 0, -1000, -5, 0, 3, -100000, 200000];
    for (const step of steps) {
      wall += step;
      for (let i = 0; i < 50; i++) {
        const next = clock.now();
        assert.ok(next > previous, `timestamp went from ${previous} to ${next}`);
        previous = next;
      }
    }
  });

  it('moves past timestamps observed from other nodes', () => {
    const slow = new HybridLogicalClock(() => 1_000_000);
    const fast = new HybridLogicalClock(() => 1_000_900);
    const remote = fast.now();
    slow.observe(remote);
    assert.ok(slow.now() > remote);
  });

  it('refuses a remote timestamp too far in the future', () => {
    const clock = new HybridLogicalClock(() => 1_000_000);
    const farAhead = new HybridLogicalClock(() => 1_000_000 + 3_600_000).now();
    assert.throws(() => clock.observe(farAhead), ClockSkewError);
    assert.ok(clock.now() < farAhead, 'a refused timestamp must not move the clock');
  });

  it('continues above a start point after a restart with an earlier wall clock', () => {
    const before = new HybridLogicalClock(() => 2_000_000);
    const last = before.now();
    const after = new HybridLogicalClock(() => 1_000_000, last);
    assert.ok(after.now() > last);
  });
});
