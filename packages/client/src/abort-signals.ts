// A signal that aborts when its parent does or when its own timer fires, and says which
// happened. Written with AbortController and a timer, which every runtime has, rather
// than AbortSignal.any (missing from browsers older than 2024); `dispose` clears the timer
// and the listener on the parent so that long-lived callers' signals do not collect them.

export interface TimedSignal {
  signal: AbortSignal;
  /** True when the timer, not the parent, aborted it. */
  timedOut(): boolean;
  dispose(): void;
}

export function timedSignal(parent: AbortSignal | undefined, timeoutMs: number): TimedSignal {
  const controller = new AbortController();
  let fired = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => fired,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/** Settles as `work` does, or rejects with the signal's reason as soon as it aborts (`work` goes on in the background). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/** Waits `ms`, or less when `signal` aborts first; true when the whole wait passed. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
