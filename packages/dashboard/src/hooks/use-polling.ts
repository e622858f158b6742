// Repeats a load at a fixed pause after each answer (never two at once, so a slow
// node cannot pile requests up), keeping the last good answer when a later one fails.
import { useEffect, useState } from 'react';
import { describeError } from '../lib/error-text';

export interface Polled<T> {
  data: T | null;
  /** Why the latest attempt failed; null after a success. */
  error: string | null;
  /** Browser time of the last success. */
  updatedAtMs: number | null;
}

/** `load` must keep its identity across renders (define it at module level). */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number): Polled<T> {
  const [polled, setPolled] = useState<Polled<T>>({ data: null, error: null, updatedAtMs: null });
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = async () => {
      try {
        const data = await load();
        if (!stopped) setPolled({ data, error: null, updatedAtMs: Date.now() });
      } catch (error) {
        if (!stopped) setPolled((previous) => ({ ...previous, error: describeError(error) }));
      }
      if (!stopped) timer = setTimeout(() => void attempt(), intervalMs);
    };
    void attempt();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [load, intervalMs]);
  return polled;
}
