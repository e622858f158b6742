// Whether this node's storage takes writes (docs/architecture.md, "Disk full"): `ok`;
// `full` (no room: writes are refused, reads go on, and the node checks on its own
// whether space has returned); `failed` (an I/O error or a corrupt page: writes stop until
// an operator restarts the node, as Cassandra's `disk_failure_policy: stop`). Each change
// is reported once, not once per refused write.
import { StorageFailedError, StorageFullError } from '@ringkv/core';

export type StorageState = 'ok' | 'full' | 'failed';

export interface StorageStatus {
  state: StorageState;
  /** Why writes are refused; null while `ok`. */
  reason: string | null;
  /** When the state last changed (Unix ms). */
  sinceMs: number;
}

export interface DiskStateEvents {
  /** Called once per change of state (log it, count it). */
  changed?(status: StorageStatus, previous: StorageState): void;
}

export class DiskState {
  private status: StorageStatus;
  private lastAttemptMs = 0;
  private readonly nowMs: () => number;
  private readonly probeIntervalMs: number;
  private readonly events: DiskStateEvents;

  constructor(nowMs: () => number, probeIntervalMs: number, events: DiskStateEvents = {}) {
    this.nowMs = nowMs;
    this.probeIntervalMs = probeIntervalMs;
    this.events = events;
    this.status = { state: 'ok', reason: null, sinceMs: nowMs() };
  }

  get state(): StorageState {
    return this.status.state;
  }

  snapshot(): StorageStatus {
    return { ...this.status };
  }

  /** No room for a write: refuse writes until space returns. A failed store stays failed. */
  markFull(reason: string): void {
    this.lastAttemptMs = this.nowMs();
    if (this.status.state === 'ok') this.change('full', reason);
  }

  /** The disk failed: writes stop for good (until a restart). */
  markFailed(reason: string): void {
    if (this.status.state !== 'failed') this.change('failed', reason);
  }

  /** Space has returned. */
  markOk(): void {
    if (this.status.state === 'full') this.change('ok', null);
  }

  /**
   * What to answer a client write right now without trying it: undefined to go ahead. A
   * full store lets one attempt through per probe interval, so space that returns is seen
   * under load as well as by the idle probe.
   */
  refusal(): StorageFullError | StorageFailedError | undefined {
    const { state, reason } = this.status;
    if (state === 'failed') return new StorageFailedError(`this node's storage failed and it takes no writes until it is restarted: ${reason}`);
    if (state === 'full' && this.nowMs() - this.lastAttemptMs < this.probeIntervalMs) return this.fullError();
    return undefined;
  }

  fullError(): StorageFullError {
    return new StorageFullError(
      `the disk of this node's data directory is full (${this.status.reason ?? 'no room'}); nothing was written here. ` +
        'Free space there or grow the volume: the node takes writes again by itself',
    );
  }

  private change(state: StorageState, reason: string | null): void {
    const previous = this.status.state;
    this.status = { state, reason, sinceMs: this.nowMs() };
    this.events.changed?.(this.snapshot(), previous);
  }
}
