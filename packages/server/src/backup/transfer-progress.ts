// The progress line of `ringkv backup`, `restore`, `export` and `import`: keys and bytes
// so far, the rate, and the time left when the total is known (restore and import know it
// from the file; a backup or export learns it only at the end, so it shows no ETA). Drawn
// with the client's ProgressBar on stderr, so stdout stays free for a pipe.
import { ProgressBar, type ProgressWriter } from '@ringkv/client';

export class TransferProgress {
  private readonly bar: ProgressBar;
  private readonly startedAtMs: number;
  private lastDrawnAtMs = 0;

  /** `total` keys, when known; `nowMs` is injected for tests. */
  constructor(
    private readonly out: ProgressWriter,
    private readonly total: number | undefined,
    private readonly nowMs: () => number = () => Date.now(),
  ) {
    this.bar = new ProgressBar(total ?? 1, out);
    this.startedAtMs = nowMs();
  }

  /** Redraws at most every 200 ms (and always when `final`). */
  update(keys: number, bytes: number, note = '', final = false): void {
    const nowMs = this.nowMs();
    if (!final && nowMs - this.lastDrawnAtMs < 200) return;
    this.lastDrawnAtMs = nowMs;
    const line = describeTransfer(keys, bytes, Math.max(1, nowMs - this.startedAtMs), this.total) + (note === '' ? '' : `, ${note}`);
    // Without a total the bar would only ever be full or empty: the counts alone say more.
    if (this.total === undefined) {
      if (this.out.isTTY) this.out.write(`\r${line}\u001b[K`);
      else if (final) this.out.write(`${line}\n`);
      return;
    }
    this.bar.update(Math.min(keys, this.total), line);
  }

  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

/** "1200 keys, 3.1 MB, 2400 keys/s, 6.2 MB/s, ETA 4s" (pure, for tests). */
export function describeTransfer(keys: number, bytes: number, elapsedMs: number, total: number | undefined): string {
  const seconds = elapsedMs / 1000;
  const keysPerSecond = keys / seconds;
  const parts = [`${keys} keys`, formatBytes(bytes), `${Math.round(keysPerSecond)} keys/s`, `${formatBytes(bytes / seconds)}/s`];
  if (total !== undefined) parts.push(`ETA ${keysPerSecond > 0 && keys < total ? `${Math.ceil((total - keys) / keysPerSecond)}s` : keys >= total ? '0s' : '—'}`);
  return parts.join(', ');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(2)} GB`;
}
