// The one compliance suite every Clock passes (docs/style.md, "One contract, one compliance suite"): the system
// clock and the simulator's virtual clocks keep the same promises about time and timers,
// so code that runs on a virtual clock behaves the same on the real one. Each clock's test
// file calls `clockComplianceSuite` with a factory of harnesses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock, TimerHandle } from '@ringkv/core';

export interface ClockHarness {
  readonly clock: Clock;
  /** Lets `ms` of the clock's time pass (real time, or a virtual clock's), so that timers due by then fire. */
  pass(ms: number): Promise<void>;
}

/**
 * A real timer may fire up to a millisecond before the wall clock shows its full delay
 * (timers run on a monotonic clock, `nowMs` on the wall clock, each rounded to 1 ms).
 */
const granularityMs = 1;

export function clockComplianceSuite(name: string, create: () => ClockHarness): void {
  describe(`Clock compliance: ${name}`, () => {
    it('never fires a timer synchronously, and fires it once its delay has passed', async () => {
      const { clock, pass } = create();
      const fired: number[] = [];
      const setAtMs = clock.nowMs();
      clock.setTimer(20, () => fired.push(clock.nowMs()));
      clock.setTimer(0, () => fired.push(-1));
      assert.deepEqual(fired, [], 'a timer fired inside setTimer');
      await pass(60);
      assert.equal(fired.length, 2);
      assert.equal(fired[0], -1, 'the 0 ms timer fires first');
      const waitedMs = (fired.at(1) ?? Number.NaN) - setAtMs;
      assert.ok(waitedMs >= 20 - granularityMs, `the 20 ms timer fired after ${waitedMs} ms`);
      await pass(30);
      assert.equal(fired.length, 2, 'a timer fired twice');
    });

    it('fires timers in order of due time, and timers due together in the order they were set', async () => {
      const { clock, pass } = create();
      const fired: string[] = [];
      clock.setTimer(45, () => fired.push('45'));
      clock.setTimer(15, () => fired.push('15a'));
      clock.setTimer(30, () => fired.push('30'));
      clock.setTimer(15, () => fired.push('15b'));
      clock.setTimer(15, () => fired.push('15c'));
      await pass(100);
      assert.deepEqual(fired, ['15a', '15b', '15c', '30', '45']);
    });

    it('never fires a cleared timer; clearing a fired or already cleared timer does nothing', async () => {
      const { clock, pass } = create();
      const fired: string[] = [];
      const cleared = clock.setTimer(10, () => fired.push('cleared'));
      const kept = clock.setTimer(10, () => fired.push('kept'));
      clock.clearTimer(cleared);
      clock.clearTimer(cleared);
      await pass(40);
      clock.clearTimer(kept);
      await pass(20);
      assert.deepEqual(fired, ['kept']);
    });

    it('runs a timer set from a timer callback later, not within the same callback', async () => {
      const { clock, pass } = create();
      const fired: string[] = [];
      clock.setTimer(5, () => {
        fired.push('outer');
        clock.setTimer(0, () => fired.push('inner'));
        fired.push('outer done');
      });
      await pass(40);
      assert.deepEqual(fired, ['outer', 'outer done', 'inner']);
    });

    it('treats a negative delay as zero: fires once time passes, never synchronously', async () => {
      const { clock, pass } = create();
      let fired = 0;
      clock.setTimer(-50, () => fired++);
      assert.equal(fired, 0);
      await pass(20);
      assert.equal(fired, 1);
    });

    it('fires each of many timers exactly once, and a cleared half never', async () => {
      const { clock, pass } = create();
      const count = 500;
      const fired = new Array<number>(count).fill(0);
      const handles: TimerHandle[] = [];
      for (let i = 0; i < count; i++) handles.push(clock.setTimer(i % 20, () => (fired[i] = (fired[i] as number) + 1)));
      for (let i = 0; i < count; i += 2) clock.clearTimer(handles[i] as TimerHandle);
      await pass(60);
      fired.forEach((times, i) => assert.equal(times, i % 2 === 0 ? 0 : 1, `timer ${i} fired ${times} times`));
    });

    it('keeps nowMs from going backwards while time passes, and moves it by the time passed', async () => {
      const { clock, pass } = create();
      const startMs = clock.nowMs();
      assert.ok(Number.isFinite(startMs) && startMs > 1_500_000_000_000, 'nowMs is wall-clock ms since the Unix epoch');
      let previousMs = startMs;
      for (let step = 0; step < 10; step++) {
        await pass(5);
        const nowMs = clock.nowMs();
        assert.ok(nowMs >= previousMs, `nowMs went back from ${previousMs} to ${nowMs}`);
        previousMs = nowMs;
      }
      assert.ok(previousMs - startMs >= 50 - granularityMs, `50 ms passed but the clock moved ${previousMs - startMs} ms`);
    });
  });
}
