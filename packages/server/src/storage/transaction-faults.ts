// Faults the storage tests inject through the LMDB engine's transaction seam
// (LmdbEngineOptions.wrapTransaction), kept in one place so each test names the fault it
// means rather than spelling out how it is made.
import type { TransactionRunner } from './lmdb-engine.js';

/**
 * Runs `work` in a transaction that is then aborted, as a commit that fails after its puts
 * leaves it: nothing `work` put may stay, and nothing counted for it may either.
 */
export function abortAfterWork(run: TransactionRunner, work: () => void, onLoop: boolean, why: string): Promise<void> {
  return run(() => {
    work();
    throw new Error(`injected: ${why}`);
  }, onLoop);
}
