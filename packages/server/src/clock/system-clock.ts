// The real Clock: wall time from Date.now, timers from setTimeout. Timers are unref'd so
// a node's background work never keeps a stopping process alive.
import type { Clock, TimerHandle } from '@ringkv/core';

interface NodeTimerHandle extends TimerHandle {
  timeout: NodeJS.Timeout;
}

let nextId = 1;

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer(delayMs, callback) {
    const timeout = setTimeout(callback, delayMs);
    timeout.unref();
    return { id: nextId++, timeout } as NodeTimerHandle;
  },
  clearTimer(handle) {
    clearTimeout((handle as NodeTimerHandle).timeout);
  },
};
