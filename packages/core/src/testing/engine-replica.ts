// A coordinator's local replica straight over an engine, for tests that run a Coordinator
// without a whole node (a node goes through its peer handler: cluster/cluster-node.ts).
import type { ApplyResult } from '../cluster/coordinator.js';
import type { Engine } from '../storage/engine.js';
import { compareVersions, type StoredRecord } from '../storage/record.js';

/** Applies the record as a replica does, answering as a put's ack would. */
export async function appliedOn(engine: Engine, key: string, record: StoredRecord): Promise<ApplyResult> {
  const outcome = await engine.apply(key, record);
  const newer = !outcome.applied && compareVersions(outcome.current, record) > 0;
  return { applied: outcome.applied, newerHlc: newer ? outcome.current.hlc : undefined };
}
