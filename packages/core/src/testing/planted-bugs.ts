// Test-only switches that plant known bugs in the core, so the simulator can prove it
// finds them (a checker that cannot fail proves nothing). Production code never sets
// these; every switch defaults to off.
export interface PlantedBugs {
  /** The coordinator answers a write after the first ack, whatever W asked for. */
  acknowledgeAfterFirstAck?: boolean;
  /** The hybrid logical clock follows the wall clock blindly, so it can go backwards. */
  clockFollowsWallBlindly?: boolean;
  /** A replica stores every record it receives, even one older than its copy. */
  replicaIgnoresVersions?: boolean;
  /** The coordinator counts a hint left for a down replica as one of the W acks. */
  countHintTowardW?: boolean;
  /** Tombstones are purged on a timer alone, without waiting for every replica to verify them. */
  purgeTombstonesEarly?: boolean;
  /** While the ring changes, writes reach only the current owners, not the ones taking over. */
  writeOnlyToReadRing?: boolean;
}

export const noPlantedBugs: PlantedBugs = Object.freeze({});
