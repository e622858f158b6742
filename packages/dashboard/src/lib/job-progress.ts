// How far a data-movement job has got, and how long it still needs, as the Data
// movement table shows them. A job learns its key total only once its sources have
// answered, so a total of 0 means "not known yet", never "0% done".
import type { Job } from '@ringkv/client';

/** Shown where a figure is not known yet. */
export const unknownFigure = '—';

/** keysDone / keysTotal in 0..1, or null while the total is unknown (0). */
export function jobProgress(job: Pick<Job, 'keysDone' | 'keysTotal'>): number | null {
  if (!(job.keysTotal > 0) || !Number.isFinite(job.keysDone)) return null;
  return Math.min(1, Math.max(0, job.keysDone / job.keysTotal));
}

/**
 * Whole percent, rounded down so that a job shows 100% only once every key is done
 * (99.7% of a large transfer can still take a while).
 */
export function formatJobProgress(job: Pick<Job, 'keysDone' | 'keysTotal'>): string {
  const progress = jobProgress(job);
  return progress === null ? unknownFigure : `${Math.floor(progress * 100)}%`;
}

/** Time left, compact and fixed-width within a unit: `45s`, `1m 05s`, `2h 03m`. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return unknownFigure;
  const whole = Math.ceil(seconds);
  const pad = (value: number) => String(value).padStart(2, '0');
  if (whole < 60) return `${whole}s`;
  if (whole < 3_600) return `${Math.floor(whole / 60)}m ${pad(whole % 60)}s`;
  return `${Math.floor(whole / 3_600)}h ${pad(Math.floor((whole % 3_600) / 60))}m`;
}

/**
 * The ETA column of a job: only a job that can progress and knows its total has one (a
 * paused job's ETA would grow for as long as it stays paused, a finished job's is 0, and
 * the node reports 0 too while the total is still 0).
 */
export function formatJobEta(job: Pick<Job, 'state' | 'etaSeconds' | 'keysTotal'>): string {
  const progressing = job.state === 'running' || job.state === 'waiting';
  return progressing && job.keysTotal > 0 ? formatEta(job.etaSeconds) : unknownFigure;
}
