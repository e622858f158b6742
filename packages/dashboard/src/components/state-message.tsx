// Loading, empty and error placeholders, worded so an operator knows what happens next.
import type { ReactNode } from 'react';
import { formatClockTime } from '../lib/format';

export function LoadingMessage({ children }: { children: ReactNode }) {
  return (
    <p className="message message-loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

export function EmptyMessage({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <p className="message message-empty" data-testid={testId}>
      {children}
    </p>
  );
}

export function ErrorMessage({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <p className="message message-error" role="alert" data-testid={testId}>
      {children}
    </p>
  );
}

/** Shown above data that is still displayed although the latest refresh failed. */
export function StaleNotice({ error, updatedAtMs }: { error: string; updatedAtMs: number | null }) {
  const since = updatedAtMs === null ? '' : ` Showing data from ${formatClockTime(updatedAtMs)}.`;
  return (
    <p className="message message-warning" role="alert">
      Refresh failed: {error}.{since} Retrying.
    </p>
  );
}
