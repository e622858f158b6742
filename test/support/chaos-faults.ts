// The faults of a chaos run: a seeded plan (which fault, on which nodes, from when to when)
// and the injector that applies it to real processes and links while the workload runs,
// logging when each fault really began and ended. One fault at a time, so that a majority
// of nodes stays healthy and the run also exercises the ordinary path between faults.
import type { ChaosNetwork } from './chaos-network.js';
import type { ChaosNode } from './chaos-nodes.js';
import type { SeededRandom } from './chaos-random.js';
import type { RunClock } from './chaos-workload.js';

export type FaultKind = 'kill' | 'pause' | 'restart' | 'partition' | 'isolate';

/** SIGKILL then restart; SIGSTOP then SIGCONT; SIGTERM then restart; cut links then mend. */
export const processFaultKinds: readonly FaultKind[] = ['kill', 'pause', 'restart'];
export const networkFaultKinds: readonly FaultKind[] = ['partition', 'isolate'];

export interface FaultPlan {
  kind: FaultKind;
  /** The nodes hit (for a partition: one side; the other side is everyone else). */
  targets: number[];
  startMs: number;
  endMs: number;
}

export interface FaultPlanOptions {
  nodeCount: number;
  kinds: readonly FaultKind[];
  firstAtMs: number;
  /** No fault is still active after this. */
  lastEndMs: number;
  holdMsMin: number;
  holdMsMax: number;
  gapMsMin: number;
  gapMsMax: number;
  faultsMax: number;
}

export function planFaults(random: SeededRandom, options: FaultPlanOptions): FaultPlan[] {
  if (options.kinds.length === 0) throw new Error('no fault kinds to plan');
  const plans: FaultPlan[] = [];
  // A minority, so that each fault leaves most keys with a reachable quorum.
  const targetsMax = Math.max(1, Math.floor((options.nodeCount - 1) / 2));
  let atMs = options.firstAtMs;
  while (plans.length < options.faultsMax && atMs + options.holdMsMin <= options.lastEndMs) {
    const kind = random.pick(options.kinds);
    const holdMs = random.integer(options.holdMsMin, options.holdMsMax);
    const sideMax = kind === 'partition' ? Math.max(1, Math.floor(options.nodeCount / 2)) : targetsMax;
    const nodes = Array.from({ length: options.nodeCount }, (_, index) => index);
    const targets = random.sample(nodes, random.integer(1, sideMax)).sort((a, b) => a - b);
    const endMs = Math.min(atMs + holdMs, options.lastEndMs);
    plans.push({ kind, targets, startMs: atMs, endMs });
    atMs = endMs + random.integer(options.gapMsMin, options.gapMsMax);
  }
  return plans;
}

export interface FaultEvent {
  plan: FaultPlan;
  /** What was done, e.g. "SIGKILL n2, restart on the same data [pid 1234]". */
  description: string;
  injectedAtMs?: number;
  healedAtMs?: number;
  error?: string;
}

export interface FaultInjectorDeps {
  nodes: readonly ChaosNode[];
  network: ChaosNetwork;
  clock: RunClock;
  nodeReadyTimeoutMs: number;
  /** No fault starts, or lasts, beyond this (run clock). */
  lastEndMs: number;
}

export class FaultInjector {
  readonly events: FaultEvent[] = [];
  /** Planned faults that never began: slow restarts pushed them past the end of the run. */
  skippedPlans = 0;
  private readonly deps: FaultInjectorDeps;

  constructor(deps: FaultInjectorDeps) {
    this.deps = deps;
  }

  /** Applies each planned fault at its time and heals it at its end; never throws. */
  async run(plans: readonly FaultPlan[]): Promise<void> {
    for (const [index, plan] of plans.entries()) {
      await sleepUntil(this.deps.clock, plan.startMs);
      if (this.deps.clock.nowMs() >= this.deps.lastEndMs) {
        this.skippedPlans = plans.length - index;
        return;
      }
      const event: FaultEvent = { plan, description: this.describe(plan) };
      this.events.push(event);
      if (processFaultKinds.includes(plan.kind)) event.description += ` [pid ${plan.targets.map((index) => this.node(index).pid).join(',')}]`;
      try {
        await this.inject(plan);
        event.injectedAtMs = this.deps.clock.nowMs();
        // A fault that began late (the previous restart was slow) still lasts as planned.
        await sleepUntil(this.deps.clock, Math.min(event.injectedAtMs + plan.endMs - plan.startMs, this.deps.lastEndMs));
        await this.heal(plan);
        event.healedAtMs = this.deps.clock.nowMs();
      } catch (error) {
        event.error = error instanceof Error ? error.message : String(error);
        await this.healEverything().catch(() => undefined);
        event.healedAtMs ??= this.deps.clock.nowMs();
      }
    }
  }

  /** Ends every fault: mends links, thaws frozen nodes, restarts stopped ones. */
  async healEverything(): Promise<void> {
    await this.deps.network.heal();
    for (const node of this.deps.nodes) if (node.state === 'paused') node.resume();
    await Promise.all(
      this.deps.nodes.filter((node) => node.state === 'killed' || node.state === 'stopped').map((node) => node.start(this.deps.nodeReadyTimeoutMs)),
    );
  }

  private async inject(plan: FaultPlan): Promise<void> {
    const targets = plan.targets.map((index) => this.node(index));
    switch (plan.kind) {
      case 'kill':
        await Promise.all(targets.map((node) => node.kill()));
        return;
      case 'pause':
        for (const node of targets) node.pause();
        return;
      case 'restart':
        await Promise.all(targets.map((node) => node.stop()));
        return;
      case 'partition':
        await this.deps.network.partition(plan.targets, this.others(plan.targets));
        return;
      case 'isolate':
        for (const index of plan.targets) await this.deps.network.isolate(index);
        return;
    }
  }

  private async heal(plan: FaultPlan): Promise<void> {
    const targets = plan.targets.map((index) => this.node(index));
    switch (plan.kind) {
      case 'kill':
      case 'restart':
        await Promise.all(targets.map((node) => node.start(this.deps.nodeReadyTimeoutMs)));
        return;
      case 'pause':
        for (const node of targets) node.resume();
        return;
      case 'partition':
      case 'isolate':
        await this.deps.network.heal();
        return;
    }
  }

  private describe(plan: FaultPlan): string {
    const names = plan.targets.map((index) => this.node(index).id).join(',');
    switch (plan.kind) {
      case 'kill':
        return `SIGKILL ${names}, restart on the same data`;
      case 'pause':
        return `SIGSTOP ${names}, then SIGCONT`;
      case 'restart':
        return `SIGTERM ${names}, restart later`;
      case 'partition':
        return `partition {${names}} | {${this.others(plan.targets).map((index) => this.node(index).id).join(',')}}`;
      case 'isolate':
        return `isolate ${names} (link down, client cut off too)`;
    }
  }

  private others(targets: readonly number[]): number[] {
    return this.deps.nodes.map((node) => node.index).filter((index) => !targets.includes(index));
  }

  private node(index: number): ChaosNode {
    const node = this.deps.nodes[index];
    if (!node) throw new Error(`no node index ${index}`);
    return node;
  }
}

export async function sleepUntil(clock: RunClock, atMs: number): Promise<void> {
  const waitMs = atMs - clock.nowMs();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}
