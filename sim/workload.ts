// What the simulated clients ask for, drawn from the workload stream. Each client is
// sequential (one request in flight), so several clients make several requests in flight
// at once. Keys come in three kinds:
// - own keys (`c2-k0`): written only by their client, one write at a time; the history
//   checks are sharpest here because the writes form one chain in real time;
// - hot keys (`hot-0`): every client writes them, concurrently;
// - fresh keys (`c2-m5`): written once, then sometimes read or deleted (many keys).
// Every put writes a value unique in the run (`c2:7`), so a read names the write it saw.
// In the cas profile every client works on a few shared keys (`cas-1`): a serial read,
// then a conditional put on the version it read (If-None-Match while the key is absent),
// as read-modify-write code does, and now and then a plain quorum read.
import type { SeededRng } from '@ringkv/core';
import type { Operation, OperationKind, Version } from './history.js';
import { quorumOf, type Scenario } from './scenario.js';

export const workloadShape = {
  ownKeysPerClient: 3,
  hotKeys: 2,
  /** Keys every client reads and writes conditionally in the cas profile. */
  casKeys: 3,
  /** In the cas profile: chances of a serial read and of a plain quorum read (the rest are conditional puts). */
  serialReadShare: 0.25,
  plainReadShare: 0.1,
  /** Chances of the key kinds: own, hot, fresh (the rest). */
  ownShare: 0.55,
  hotShare: 0.25,
  /** Chances of a read and of a delete on an existing key (the rest are puts). */
  readShare: 0.4,
  deleteShare: 0.15,
  /**
   * One put in this many (outside the cas profile) carries a ttl, of ttlMsMin..ttlMsMax:
   * short against the workload, so values expire while clients still read and write them.
   */
  ttlEvery: 5,
  ttlMsMin: 30,
  ttlMsMax: 400,
  /** Pause of a client between its requests, in a workload of the default length (600 ms); longer workloads pause longer. */
  thinkMsMax: 20,
  workloadMsBase: 600,
} as const;

export interface ClientState {
  name: string;
  busy: boolean;
  nextAtMs: number;
  puts: number;
  freshKeys: string[];
  /** The cas profile: the version the client last learned of each key (null: absent), as read-modify-write code keeps it. */
  known: Map<string, Version | null>;
}

export interface PlannedOperation {
  kind: OperationKind;
  key: string;
  value?: string;
  /** R or W as a replica count. */
  level: number;
  condition?: Operation['condition'];
  serial?: true;
  ttlSeconds?: number;
}

export class Workload {
  readonly clients: ClientState[];
  private readonly rng: SeededRng;
  private readonly scenario: Scenario;

  constructor(scenario: Scenario, rng: SeededRng) {
    this.scenario = scenario;
    this.rng = rng;
    this.clients = Array.from({ length: scenario.clients }, (_, i) => ({
      name: `c${i + 1}`,
      busy: false,
      nextAtMs: rng.nextInt(workloadShape.thinkMsMax),
      puts: 0,
      freshKeys: [],
      known: new Map(),
    }));
  }

  next(client: ClientState): PlannedOperation {
    if (this.scenario.profile === 'cas') return this.casStep(client);
    const draw = this.rng.next();
    if (draw < workloadShape.ownShare) return this.onKey(client, `${client.name}-k${this.rng.nextInt(workloadShape.ownKeysPerClient)}`);
    if (draw < workloadShape.ownShare + workloadShape.hotShare) return this.onKey(client, `hot-${this.rng.nextInt(workloadShape.hotKeys)}`);
    return this.onFreshKey(client);
  }

  thinkMs(): number {
    const stretch = Math.max(1, Math.round(this.scenario.limits.workloadMs / workloadShape.workloadMsBase));
    return this.rng.nextInt(workloadShape.thinkMsMax * stretch + 1);
  }

  /**
   * Where the client sends the request, or undefined when it should wait: with key-home
   * routing a write goes only to the key's home node.
   */
  coordinatorFor(operation: PlannedOperation, running: readonly string[], homeOf: (key: string) => string): string | undefined {
    if (operation.kind !== 'read' && this.scenario.routing === 'key-home') {
      const home = homeOf(operation.key);
      return running.includes(home) ? home : undefined;
    }
    return running.length === 0 ? undefined : running[this.rng.nextInt(running.length)];
  }

  /** What a client learns from an answer in the cas profile: the version it read, won, or was refused on; nothing from an unknown outcome. */
  learn(client: ClientState, operation: Operation): void {
    if (this.scenario.profile !== 'cas' || (operation.serial !== true && operation.condition === undefined)) return;
    if (operation.outcome === 'ok' && operation.version !== undefined) client.known.set(operation.key, operation.version);
    else if (operation.read !== undefined) client.known.set(operation.key, operation.read.found && !operation.read.tombstone ? operation.read.version : null);
    else client.known.delete(operation.key);
  }

  private casStep(client: ClientState): PlannedOperation {
    const key = `cas-${this.rng.nextInt(workloadShape.casKeys)}`;
    const majority = quorumOf(this.scenario.replicas);
    const draw = this.rng.next();
    const known = client.known.get(key);
    if (known === undefined || draw < workloadShape.serialReadShare) return { kind: 'read', key, level: majority, serial: true };
    if (draw < workloadShape.serialReadShare + workloadShape.plainReadShare) return { kind: 'read', key, level: majority };
    client.puts += 1;
    const condition = known === null ? { ifNoneMatch: true as const } : { ifMatch: known };
    return { kind: 'put', key, value: `${client.name}:${client.puts}`, level: majority, condition };
  }

  private onKey(client: ClientState, key: string): PlannedOperation {
    const draw = this.rng.next();
    if (draw < workloadShape.readShare) return { kind: 'read', key, level: this.level() };
    if (draw < workloadShape.readShare + workloadShape.deleteShare) return { kind: 'delete', key, level: this.level(true) };
    return this.put(client, key);
  }

  private onFreshKey(client: ClientState): PlannedOperation {
    const known = client.freshKeys;
    if (known.length === 0 || this.rng.next() < 0.6) {
      const key = `${client.name}-m${known.length}`;
      known.push(key);
      return this.put(client, key);
    }
    const key = known[this.rng.nextInt(known.length)] as string;
    return this.rng.next() < 0.7 ? { kind: 'read', key, level: this.level() } : { kind: 'delete', key, level: this.level(true) };
  }

  private put(client: ClientState, key: string): PlannedOperation {
    client.puts += 1;
    const value = `${client.name}:${client.puts}`;
    const ttlSeconds = ttlOf(value);
    return { kind: 'put', key, value, level: this.level(true), ...(ttlSeconds === undefined ? {} : { ttlSeconds }) };
  }

  /**
   * one, quorum or all, as counts, in proportions 1:2:1. In the skewed-clocks profile
   * writes use quorum instead of one: ordering successive writes through coordinators whose
   * clocks disagree needs write quorums that overlap (a replica reports the newer version
   * and the coordinator re-stamps above it); at w=one last-writer-wins can order them wrong.
   */
  private level(write = false): number {
    const draw = this.rng.nextInt(4);
    if (draw === 0) return write && this.scenario.profile === 'skewed-clocks' ? quorumOf(this.scenario.replicas) : 1;
    if (draw === 3) return this.scenario.replicas;
    return quorumOf(this.scenario.replicas);
  }
}

/**
 * The ttl of a put, drawn from a hash of its (unique) value rather than from the workload's
 * stream, so that adding ttls left every seed's sequence of operations as it was.
 */
function ttlOf(value: string): number | undefined {
  let hash = 2166136261;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 16777619) >>> 0;
  if (hash % workloadShape.ttlEvery !== 0) return undefined;
  const spanMs = workloadShape.ttlMsMax - workloadShape.ttlMsMin + 1;
  return (workloadShape.ttlMsMin + (Math.floor(hash / workloadShape.ttlEvery) % spanMs)) / 1000;
}
