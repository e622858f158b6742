// What one simulated run does, drawn from its seed: cluster size, how clients route
// requests, how replicas are brought back in step after healing, and the bounds on every
// part of the run (docs/style.md, "Limit everything"). Each part of a run draws from
// its own random stream, so adding a fault kind does not reshuffle the workload.
import { paxosBackoffMsMax, paxosRoundsMax, SeededRng } from '@ringkv/core';
import { inProcessNodeDefaults, type PlantedBugs } from '@ringkv/core/testing';

/**
 * `standard`: every fault the current design claims to survive. Clock faults (backward
 * jumps, slow drift) come only with key-home routing, where successive writes of a key
 * share one coordinator and so one hybrid logical clock.
 * `skewed-clocks`: node clocks disagree by tens of ms and clients send any request to any
 * node; writes are at quorum or all (see Workload.level). It failed 156 of 1000 seeds until
 * coordinators re-stamped writes that replicas refused as older (sim/README.md).
 * `ring-changes`: the standard faults while operators change the ring under client load:
 * a new node joins, a node leaves, a node dies for good and is removed (sim/faults.ts).
 * Clients use any node, and the workload runs long enough for the data to move under it.
 * `slow-gossip`: the ring changes of `ring-changes` (the same seed plans the same ones),
 * plus gossip to and from one or two nodes starved around them for far longer than the
 * settle period while data messages pass (sim/slow-gossip.ts).
 * `cas`: clients read a few shared keys serially and write them with If-Match (or
 * If-None-Match) on the version they read, plus plain quorum reads, under the faults and
 * ring changes of `ring-changes`; each write carries an Idempotency-Key and is retried
 * through another node when its outcome is unknown (sim/clients.ts). The linearizability
 * checker judges it (checkers.ts). Other profiles' puts carry ttls (sim/workload.ts).
 */
export type Profile = 'standard' | 'skewed-clocks' | 'ring-changes' | 'slow-gossip' | 'cas';
export const profiles: readonly Profile[] = ['standard', 'skewed-clocks', 'ring-changes', 'slow-gossip', 'cas'];

/** Profiles whose operators join, leave and remove nodes during the run. */
export function hasRingChanges(profile: Profile): boolean {
  return profile === 'ring-changes' || profile === 'slow-gossip' || profile === 'cas';
}

/** `any-node`: a client sends each request to a random running node (a load balancer). `key-home`: writes of a key always go to the key's home node. */
export type Routing = 'any-node' | 'key-home';

/** `read-repair`: phase two reads every written key at R=all before checking. `anti-entropy`: it only lets anti-entropy rounds run. */
export type Convergence = 'read-repair' | 'anti-entropy';

export interface SimulationLimits {
  /** Client operations issued in phase one, at most. */
  opsMax: number;
  /** Virtual time during which clients issue operations and faults strike. */
  workloadMs: number;
  /** Virtual time allowed after the workload for operations in flight to finish. */
  drainMsMax: number;
  /** Virtual time allowed in phase two for membership to see every node up again. */
  recoveryMsMax: number;
  /** Anti-entropy interval inside the simulation (the production default is 1000 ms). */
  antiEntropyIntervalMs: number;
  /** Anti-entropy rounds each node gets in phase two when convergence relies on it. */
  antiEntropyRounds: number;
}

export const simulationLimitsDefault: SimulationLimits = {
  opsMax: 300,
  workloadMs: 600,
  drainMsMax: 1000,
  recoveryMsMax: 2000,
  antiEntropyIntervalMs: 250,
  antiEntropyRounds: 6,
};

/**
 * A ring change takes a settle period (2 s) before and after its transfer, so the workload
 * runs for longer, with its operations spread over it, for the data to move under load.
 */
const ringChangeLimits: Partial<SimulationLimits> = { opsMax: 500, workloadMs: 3000, recoveryMsMax: 6000 };

/**
 * A conditional write is at most paxosRoundsMax rounds, each phase bounded by the write
 * timeout and each retry by the backoff: with messages lost, a replay that must hear a
 * majority of two overlapping groups during a ring change can take many of them (cas seed
 * 2600817: five commit rounds of 200 ms). Its answer is waited for that long, no longer.
 */
const casDrainMsMax = paxosRoundsMax * ((inProcessNodeDefaults.coordinator.writeTimeoutMs ?? 200) + paxosBackoffMsMax);

export interface Scenario {
  seed: number;
  profile: Profile;
  nodes: number;
  replicas: number;
  clients: number;
  routing: Routing;
  convergence: Convergence;
  limits: SimulationLimits;
  plantedBugs: PlantedBugs;
  /** Set when the run replays a scripted scenario (script.ts) instead of its seed's plan. */
  script?: string;
}

export interface ScenarioChoices {
  profile?: Profile;
  plantedBugs?: PlantedBugs;
  limits?: Partial<SimulationLimits>;
  /** Fix the cluster size instead of drawing 3..5. */
  nodes?: number;
}

/** The independent random streams of a run. */
export type Stream = 'scenario' | 'cluster' | 'faults' | 'workload' | 'phase-two' | 'watch';
const streamSalts: Record<Stream, number> = { scenario: 1, cluster: 2, faults: 3, workload: 4, 'phase-two': 5, watch: 6 };

/** A seeded stream per purpose; splitmix-style mixing keeps neighbouring seeds unrelated. */
export function streamFor(seed: number, stream: Stream): SeededRng {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(streamSalts[stream], 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return new SeededRng((x ^ (x >>> 16)) >>> 0);
}

export function scenarioFor(seed: number, choices: ScenarioChoices = {}): Scenario {
  const rng = streamFor(seed, 'scenario');
  const profile = choices.profile ?? 'standard';
  const nodes = choices.nodes ?? 3 + rng.nextInt(3);
  return {
    seed,
    profile,
    nodes,
    replicas: 3,
    clients: 3 + rng.nextInt(6),
    routing: profile !== 'standard' || rng.next() < 0.5 ? 'any-node' : 'key-home',
    convergence: rng.next() < 0.5 ? 'read-repair' : 'anti-entropy',
    limits: { ...simulationLimitsDefault, ...(hasRingChanges(profile) ? ringChangeLimits : {}), ...(profile === 'cas' ? { drainMsMax: casDrainMsMax } : {}), ...choices.limits },
    plantedBugs: choices.plantedBugs ?? {},
  };
}

/** The number of replica answers a level asks for, as the core counts them. */
export function quorumOf(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}
