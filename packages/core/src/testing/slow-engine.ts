// A slow (or full) disk for the simulator: an Engine decorator that holds every call for a
// delay drawn from the seeded Rng and measured on the virtual clock, then passes it on, or
// refuses writes while the disk is marked full. Halting it models the process dying: calls
// in progress and later calls never complete, and a write still waiting for the disk is
// never stored.
import type { Clock } from '../clock/clock.js';
import type { Rng } from '../rng.js';
import type { ApplyOutcome, Engine, KeyVersion, PurgeableEntry, PurgeableOptions, RingKeyEntry, RingScanEntry, RingScanOptions, ScanEntry, ScanOptions } from '../storage/engine.js';
import type { RangeSummary } from '../storage/ring-order.js';
import type { StoredRecord } from '../storage/record.js';
import { StorageFullError } from '../storage/storage-errors.js';

/** Delay of one disk operation, uniform in [delayMinMs, delayMaxMs]; 0/0 is a fast disk. */
export interface DiskLatency {
  delayMinMs: number;
  delayMaxMs: number;
  /** A full disk: every `apply` is refused with StorageFullError (nothing stored) until it is cleared. */
  full?: boolean;
}

export class SlowEngine implements Engine {
  private readonly inner: Engine;
  private readonly clock: Clock;
  private readonly rng: Rng;
  /** Read at every call, so a simulator can slow the disk down and speed it up again. */
  private readonly latency: DiskLatency;
  private halted = false;

  constructor(inner: Engine, clock: Clock, rng: Rng, latency: DiskLatency) {
    this.inner = inner;
    this.clock = clock;
    this.rng = rng;
    this.latency = latency;
  }

  get kind(): Engine['kind'] {
    return this.inner.kind;
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    await this.wait();
    return this.inner.get(key);
  }

  async apply(key: string, record: StoredRecord): Promise<ApplyOutcome> {
    await this.wait();
    if (this.latency.full === true) throw new StorageFullError('the simulated disk is full; nothing was written');
    return this.inner.apply(key, record);
  }

  /** One delay for the batch, as one write of many records on a real disk. */
  async applyBatch(entries: ReadonlyArray<readonly [string, StoredRecord]>): Promise<ApplyOutcome[]> {
    await this.wait();
    if (this.latency.full === true) throw new StorageFullError('the simulated disk is full; nothing was written');
    return this.inner.applyBatch(entries);
  }

  async scan(options: ScanOptions): Promise<ScanEntry[]> {
    await this.wait();
    return this.inner.scan(options);
  }

  async discard(entries: readonly KeyVersion[]): Promise<ScanEntry[]> {
    await this.wait();
    return this.inner.discard(entries);
  }

  async ringScan(options: RingScanOptions): Promise<RingScanEntry[]> {
    await this.wait();
    return this.inner.ringScan(options);
  }

  async ringKeys(options: RingScanOptions): Promise<RingKeyEntry[]> {
    await this.wait();
    return this.inner.ringKeys(options);
  }

  async summarize(start: number, end: number): Promise<RangeSummary> {
    await this.wait();
    return this.inner.summarize(start, end);
  }

  async purgeable(options: PurgeableOptions): Promise<PurgeableEntry[]> {
    await this.wait();
    return this.inner.purgeable(options);
  }

  keyCount(): number {
    return this.inner.keyCount();
  }

  liveCount(): number {
    return this.inner.liveCount();
  }

  /** Closing a crashed node's view of the disk leaves the data (the inner engine) alone. */
  async close(): Promise<void> {
    this.halt();
  }

  /** The process died: nothing in progress completes, nothing new starts. */
  halt(): void {
    this.halted = true;
  }

  private async wait(): Promise<void> {
    const { delayMinMs, delayMaxMs } = this.latency;
    if (delayMaxMs > 0) {
      const delayMs = delayMinMs + Math.floor(this.rng.next() * (delayMaxMs - delayMinMs + 1));
      await new Promise<void>((resolve) => this.clock.setTimer(delayMs, resolve));
    }
    if (this.halted) await new Promise<never>(() => undefined);
  }
}
