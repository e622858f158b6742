// Runs the Clock compliance suite against the system clock (real time) and the
// simulator's clocks (VirtualClock, and a SkewedClock over one, as each simulated node has).
import { setTimeout as sleep } from 'node:timers/promises';
import { VirtualClock } from '@ringkv/core';
import { SkewedClock } from '@ringkv/core/testing';
import { clockComplianceSuite, type ClockHarness } from './clock-compliance.js';
import { systemClock } from './system-clock.js';

/** Moves a virtual clock on 1 ms at a time, letting promise callbacks run between steps as a simulation does. */
async function advance(clock: VirtualClock, ms: number): Promise<void> {
  for (let elapsedMs = 0; elapsedMs < ms; elapsedMs++) {
    clock.advance(1);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

// The real clock's timers are unref'd: the test's own sleep keeps the process alive meanwhile.
clockComplianceSuite('system clock', (): ClockHarness => ({ clock: systemClock, pass: (ms) => sleep(ms) }));

clockComplianceSuite('VirtualClock', (): ClockHarness => {
  const clock = new VirtualClock();
  return { clock, pass: (ms) => advance(clock, ms) };
});

clockComplianceSuite('SkewedClock over a VirtualClock', (): ClockHarness => {
  const shared = new VirtualClock();
  return { clock: new SkewedClock(shared), pass: (ms) => advance(shared, ms) };
});
