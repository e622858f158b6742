// Checks the background budget's share and pause against tables of client loads and page
// times, and its turns on a virtual clock with a client load that rises and falls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundBudget, backgroundPauseMs, backgroundShare, backgroundShareMinLowest, backgroundSlice, contendedShare, idleShare, isBackgroundShareMin } from './background-budget.js';
import { VirtualClock } from './virtual-clock.js';

describe('backgroundShare', () => {
  const table: Array<[inflight: number, shareMin: number, share: number]> = [
    [0, 0.1, 1],
    [-1, 0.1, 1],
    [Number.NaN, 0.1, 1],
    [1, 0.1, 0.5],
    [3, 0.1, 0.25],
    [4, 0.1, 0.2],
    [9, 0.1, 0.1],
    [500, 0.1, 0.1],
    [500, 0.3, 0.3],
    [1, 0.75, 0.75],
  ];
  for (const [inflight, shareMin, share] of table) {
    it(`is ${share} with ${inflight} client requests in flight and a floor of ${shareMin}`, () => {
      assert.equal(backgroundShare(inflight, shareMin), share);
    });
  }
});

describe('contendedShare', () => {
  const table: Array<[pressure: number | undefined, shareMin: number, share: number]> = [
    [undefined, 0.1, 1],
    [0, 0.1, 1],
    [Number.NaN, 0.1, 1],
    [0.05, 0.1, 0.95],
    [0.6, 0.1, 0.4],
    [0.95, 0.1, 0.1],
    [1.5, 0.1, 0.1],
    [0.95, 0.3, 0.3],
  ];
  for (const [pressure, shareMin, share] of table) {
    it(`is ${share} without clients when threads waited ${pressure} of the time, with a floor of ${shareMin}`, () => {
      assert.ok(Math.abs(contendedShare(pressure, shareMin) - share) < 1e-9);
    });
  }
});

describe('backgroundPauseMs', () => {
  const table: Array<[workMs: number, share: number, pauseMsMax: number, pauseMs: number]> = [
    [10, 1, 250, 0], // idle: full speed
    [0, 0.5, 250, 0], // no work, no pause
    [-5, 0.5, 250, 0], // a wall clock that stepped back is no work
    [10, 0.5, 250, 10], // half the time
    [10, 0.25, 250, 30],
    [10, 0.1, 250, 90],
    [40, 0.1, 250, 250], // capped
    [1, 0.3, 250, 3], // rounded up, never 0 for real work under load
  ];
  for (const [workMs, share, pauseMsMax, pauseMs] of table) {
    it(`pauses ${pauseMs} ms after ${workMs} ms of work at share ${share}`, () => {
      assert.equal(backgroundPauseMs(workMs, share, pauseMsMax), pauseMs);
    });
  }

  it('leaves background work its share of the time, whatever the page time', () => {
    for (const share of [0.1, 0.2, 0.5]) {
      for (const workMs of [1, 3, 7, 20]) {
        const pauseMs = backgroundPauseMs(workMs, share, 10_000);
        const taken = workMs / (workMs + pauseMs);
        assert.ok(taken <= share + 1e-9 && taken > share * 0.7, `share ${share}, work ${workMs} ms: took ${taken}`);
      }
    }
  });
});

describe('idleShare', () => {
  const table: Array<[busy: number, own: number, headroom: number, byCount: number, share: number, why: string]> = [
    [0.4, 0, 0.3, 0.1, 0.3, 'clients busy 40%: the idle 60% less the headroom'],
    [0.4, 0.3, 0.3, 0.1, 0.6, 'of 40% busy, 30% was background work itself: clients 10%'],
    [0.9, 0, 0.3, 0.1, 0.1, 'clients busier than the headroom allows: the count decides'],
    [0.9, 0, 0.3, 0.25, 0.25, 'never below what the count in flight gives'],
    [0.2, 0.5, 0.3, 0.1, 0.7, 'own work above the busy share (overlapping jobs) counts as all of it'],
    [0, 0, 0, 0.1, 1, 'an idle loop and no headroom: all of it'],
  ];
  for (const [busy, own, headroom, byCount, share, why] of table) {
    it(`is ${share}: ${why}`, () => {
      assert.ok(Math.abs(idleShare(busy, own, headroom, byCount) - share) < 1e-9);
    });
  }

  const contended: Array<[busy: number, pressure: number, share: number, why: string]> = [
    [0.3, 0, 0.4, 'no thread waited for a CPU: the idle share as before'],
    [0.3, 0.2, 0.2, 'threads waited a fifth of the time: that much less'],
    [0.3, 0.6, 0.1, 'cores wanted elsewhere more than the loop was idle: the count decides'],
    [0.3, 1.7, 0.1, 'a pressure above 1 (a clock step) counts as 1'],
    [0.3, -0.5, 0.4, 'a negative pressure (a counter reset) counts as none'],
  ];
  for (const [busy, pressure, share, why] of contended) {
    it(`is ${share} under CPU pressure ${pressure}: ${why}`, () => {
      assert.ok(Math.abs(idleShare(busy, 0, 0.3, 0.1, pressure) - share) < 1e-9);
    });
  }
});

describe('BackgroundBudget', () => {
  it('takes the time a half-idle event loop leaves, less its own work and the headroom', () => {
    const clock = new VirtualClock(0);
    let busy: number | undefined;
    const budget = new BackgroundBudget(clock, { inflight: () => 20, busyShare: () => busy }, { shareMin: 0.1, pauseMsMax: 10_000, headroom: 0.3, busyWindowMs: 250 });
    assert.equal(budget.share(), 0.1, 'not measured yet: the count in flight');
    busy = 0.5;
    assert.ok(Math.abs(budget.share() - 0.2) < 1e-9, 'clients took half, background nothing yet');
    // 100 ms of background work in a 250 ms window: 40% of the loop was its own.
    const startedAtMs = clock.nowMs();
    clock.advance(100);
    budget.pauseMsAfter(startedAtMs);
    clock.advance(150);
    busy = 0.7;
    assert.ok(Math.abs(budget.share() - 0.4) < 1e-9, 'busy 70%, of which 40% its own: clients 30%, share 1 - 0.3 - 0.3');
    {
      const idle = new BackgroundBudget(clock, { inflight: () => 0, busyShare: () => 0.9 });
      assert.equal(idle.share(), 1, 'no client in flight: full speed whatever the loop did');
    }
  });

  it('gives way to other processes when threads wait for a CPU, with clients or without', () => {
    const clock = new VirtualClock(0);
    let inflight = 20;
    let pressure: number | undefined;
    const budget = new BackgroundBudget(clock, { inflight: () => inflight, busyShare: () => 0.3, cpuPressure: () => pressure }, { shareMin: 0.1, pauseMsMax: 10_000, headroom: 0.3, busyWindowMs: 250 });
    assert.ok(Math.abs(budget.share() - 0.4) < 1e-9, 'pressure not measured: the idle share');
    pressure = 0.25;
    assert.ok(Math.abs(budget.share() - 0.15) < 1e-9, 'a quarter of the time threads waited: 0.4 less 0.25');
    pressure = 0.9;
    assert.equal(budget.share(), 0.1, 'a machine whose cores are taken: the floor');
    assert.equal(budget.underLoad(), true, 'clients here: smaller slices');
    inflight = 0;
    // A node no client uses (one joining, say) on cores other nodes' clients wait for: its
    // work takes from them what it takes from the cores, so it leaves what they wait for.
    pressure = 0.25;
    assert.equal(budget.share(), 0.75, 'no client here: all but the time threads waited, with no headroom kept');
    assert.equal(budget.underLoad(), false, 'no client waits on this event loop: whole slices');
    pressure = 0.95;
    assert.equal(budget.share(), 0.1, 'a machine whose cores are taken: the floor, as with clients');
    pressure = 0;
    assert.equal(budget.share(), 1, 'nobody waited for a CPU: full speed');
    pressure = undefined;
    assert.equal(budget.share(), 1, 'pressure not measured: full speed');
  });

  it('paces a node without clients by the machine pressure, in whole slices', () => {
    const clock = new VirtualClock(0);
    const budget = new BackgroundBudget(clock, { inflight: () => 0, busyShare: () => 0.2, cpuPressure: () => 0.5 }, { shareMin: 0.1, pauseMsMax: 10_000, headroom: 0.3, busyWindowMs: 250 });
    clock.advance(20);
    assert.equal(budget.pauseMsAfter(0), 20, '20 ms of work at half the time: a 20 ms pause');
    assert.equal(backgroundSlice(budget, 1000), 1000);
  });

  it('follows a floor set at run time at the next pause, and refuses one out of range', () => {
    const clock = new VirtualClock(0);
    const budget = new BackgroundBudget(clock, { inflight: () => 20, busyShare: () => 0.9, cpuPressure: () => 0.8 }, { shareMin: 0.1, pauseMsMax: 10_000, headroom: 0.3, busyWindowMs: 250 });
    const pauseAfterPage = () => {
      const startedAtMs = clock.nowMs();
      clock.advance(10);
      return budget.pauseMsAfter(startedAtMs);
    };
    assert.equal(budget.shareMin(), 0.1);
    assert.equal(pauseAfterPage(), 90, 'at the floor of a tenth: nine times the work');
    budget.setShareMin(0.5);
    assert.equal(budget.shareMin(), 0.5);
    assert.equal(budget.share(), 0.5);
    assert.equal(pauseAfterPage(), 10, 'a floor of a half: as long as the work');
    budget.setShareMin(1);
    assert.equal(pauseAfterPage(), 0, 'a floor of 1: never gives way');
    for (const bad of [0, 0.005, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => budget.setShareMin(bad), RangeError, String(bad));
    }
    assert.equal(budget.shareMin(), 1, 'a refused floor leaves the last one');
    assert.ok(isBackgroundShareMin(backgroundShareMinLowest) && !isBackgroundShareMin(backgroundShareMinLowest / 2));
  });

  it('pauses by the client load read at each turn, and runs at full speed without one', async () => {
    const clock = new VirtualClock(1000);
    let inflight = 0;
    const budget = new BackgroundBudget(clock, { inflight: () => inflight }, { shareMin: 0.1, pauseMsMax: 250 });
    const unloaded = new BackgroundBudget(clock);
    const loads = [0, 1, 4, 100, 0];
    const pauses: number[] = [];
    for (const load of loads) {
      inflight = load;
      const startedAtMs = clock.nowMs();
      clock.advance(20); // a page of work
      assert.equal(unloaded.pauseMsAfter(startedAtMs), 0);
      const before = clock.nowMs();
      let done = false;
      const turn = budget.turn(startedAtMs).then(() => (done = true));
      // Step the clock a millisecond at a time until the turn resolves (bounded).
      for (let stepped = 0; !done && stepped <= 1000; stepped++) {
        clock.advance(stepped === 0 ? 0 : 1);
        await Promise.resolve();
        await Promise.resolve();
      }
      await turn;
      pauses.push(clock.nowMs() - before);
    }
    // Full speed, half, a fifth, the floor (90% pause, capped at 250 ms: 180), full speed.
    assert.deepEqual(pauses, [0, 20, 80, 180, 0]);
  });

  it('resolves a turn once its pause has passed on the clock, not before', async () => {
    const clock = new VirtualClock(0);
    const budget = new BackgroundBudget(clock, { inflight: () => 1 });
    clock.advance(30);
    let done = false;
    const turn = budget.turn(0).then(() => (done = true));
    clock.advance(29);
    await Promise.resolve();
    assert.equal(done, false);
    clock.advance(1);
    await turn;
    assert.equal(done, true);
  });
});
