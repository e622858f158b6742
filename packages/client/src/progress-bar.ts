// A one-line progress bar for long work (simulator runs, data movement watched from the
// CLI): redrawn in place with `\r` on a terminal, and as a plain line every tenth of the
// way otherwise (CI logs).

export interface ProgressWriter {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressBar {
  private total: number;
  private readonly out: ProgressWriter;
  private readonly widthChars: number;
  private lastTenth = -1;

  constructor(total: number, out: ProgressWriter, widthChars = 30) {
    this.total = Math.max(1, total);
    this.out = out;
    this.widthChars = widthChars;
  }

  /** Draws the bar for `done` of the total; `note` follows it (failures, rate). A `total` given replaces the old one. */
  update(done: number, note: string, total?: number): void {
    if (total !== undefined) this.total = Math.max(1, total);
    const fraction = Math.min(1, done / this.total);
    const line = `${render(fraction, this.widthChars)} ${String(Math.floor(fraction * 100)).padStart(3)}% ${done}/${this.total} ${note}`;
    if (this.out.isTTY) {
      this.out.write(`\r${line}\u001b[K`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.out.write(`${line}\n`);
  }

  /** Ends the line the bar was drawn on. */
  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

export function render(fraction: number, widthChars: number): string {
  const filled = Math.round(fraction * widthChars);
  return `[${'#'.repeat(filled)}${'-'.repeat(widthChars - filled)}]`;
}
