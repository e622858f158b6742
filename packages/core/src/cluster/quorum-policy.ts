// What a write's quorum is (docs/design.md, "The request path"): which rings a write must
// reach, and when the acks that arrived make it written. The coordinator takes the policy
// as a dependency, so the simulator can hand it a wrong one (testing/planted-bugs.ts) and
// prove that its checkers notice, without a test-only branch in the coordinator.
import type { Placement } from '../ring/placement.js';
import type { Ring } from '../ring/ring.js';

export interface QuorumPolicy {
  /** The rings in whose replica set of the key a write needs W acks. */
  writeRings(placement: Placement): readonly Ring[];
  /** Whether the acks so far, counted per replica group (one group per ring), make the write written; `required` is per group, in the same order. */
  isWritten(acksPerGroup: readonly number[], required: readonly number[]): boolean;
  /**
   * Whether the hint left for a replica that failed stands in for its ack (a sloppy quorum
   * counted as a strict one). A hint is not a replica: only a wrong policy says yes.
   */
  readonly hintStandsInForAck: boolean;
}

/**
 * W acks among the key's replicas in every ring a reader may be using (ring/placement.ts):
 * while the ring changes, a reader on the old ring and one on the new both meet the write.
 */
export const strictQuorum: QuorumPolicy = Object.freeze({
  writeRings: (placement: Placement) => placement.writes,
  isWritten: (acksPerGroup: readonly number[], required: readonly number[]) => acksPerGroup.every((acks, i) => acks >= (required[i] ?? Infinity)),
  hintStandsInForAck: false,
});
