// Number formatting for the dashboard: sizes, durations, ages, latencies, rates and shares.
// Kept free of React and the DOM so the unit tests run under plain node:test.

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `1536` → `1.5 KiB`; binary units because that is how RSS is usually reasoned about. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  let value = bytes;
  let unitIndex = 0;
  while (value >= 1024 && unitIndex < byteUnits.length - 1) {
    value /= 1024;
    unitIndex++;
  }
  if (unitIndex === 0) return `${Math.round(value)} B`;
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ${byteUnits[unitIndex]}`;
}

/** An uptime: the two largest non-zero units, e.g. `3 h 4 min` or `45 s`. */
export function formatDurationSeconds(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return '–';
  const seconds = Math.floor(totalSeconds);
  const parts: Array<[number, string]> = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3_600), 'h'],
    [Math.floor((seconds % 3_600) / 60), 'min'],
    [seconds % 60, 's'],
  ];
  const first = parts.findIndex(([amount]) => amount > 0);
  if (first === -1) return '0 s';
  return parts
    .slice(first, first + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(' ');
}

/** A latency: `0.42 ms`, `12.3 ms`, `1.24 s`. */
export function formatLatencyMs(milliseconds: number): string {
  if (!Number.isFinite(milliseconds) || milliseconds < 0) return '–';
  if (milliseconds >= 1000) return `${(milliseconds / 1000).toFixed(2)} s`;
  if (milliseconds >= 100) return `${milliseconds.toFixed(0)} ms`;
  if (milliseconds >= 10) return `${milliseconds.toFixed(1)} ms`;
  return `${milliseconds.toFixed(2)} ms`;
}

/** A share 0..1 as a percentage with one decimal: `0.3333` → `33.3%`. */
export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Requests per second: one decimal below 100, whole numbers with separators above. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return '–';
  if (perSecond < 100) return perSecond.toFixed(1);
  return formatCount(Math.round(perSecond));
}

/** Bytes in a megabyte as transfers are capped and reported (PUT /jobs/pace): decimal, like MB/s of a disk or a link. */
const bytesPerMegabyte = 1_000_000;

/** Megabytes with about three significant digits; a trickle reads `< 0.01`, not `0.00`. */
function formatMegabyteAmount(megabytes: number): string {
  if (megabytes === 0) return '0';
  if (megabytes < 0.01) return '< 0.01';
  if (megabytes < 10) return megabytes.toFixed(2);
  if (megabytes < 100) return megabytes.toFixed(1);
  return formatCount(megabytes);
}

/** `2_345_000` → `2.35 MB`: decimal megabytes, the unit of the transfer cap. */
export function formatMegabytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  return `${formatMegabyteAmount(bytes / bytesPerMegabyte)} MB`;
}

/** A byte rate in MB/s without its unit, for a column headed MB/s: `1_250_000` → `1.25`. */
export function formatMegabytesPerSecond(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) return '–';
  return formatMegabyteAmount(bytesPerSecond / bytesPerMegabyte);
}

/** A whole count with thousands separators: `12345` → `12,345`. */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return '–';
  return Math.round(count).toLocaleString('en-US');
}

/**
 * How long ago `timeMs` was, both times from the same clock (a node's): `12 s ago`. A
 * time slightly ahead of `nowMs` (another member's clock) reads as `0 s ago`.
 */
export function formatAge(timeMs: number, nowMs: number): string {
  if (!Number.isFinite(timeMs) || !Number.isFinite(nowMs)) return '–';
  return `${formatDurationSeconds(Math.max(0, nowMs - timeMs) / 1000)} ago`;
}

/** Wall-clock time of day in the viewer's time zone, `14:03:05`, for chart axes. */
export function formatClockTime(timeMs: number): string {
  const date = new Date(timeMs);
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}
