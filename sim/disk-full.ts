// Full disks (docs/architecture.md, "Disk full"): for a while a node's disk refuses every
// write with StorageFullError (nothing stored), as a real node's does when its data
// directory fills up; reads, hints it holds for others and everything else go on. Its
// replica answers `storage-full`, so coordinators meet W on the other replicas and leave
// it a hint, or answer 507 when no replica applied the write. The state survives a crash
// and restart of the node (a full disk stays full), and phase two (healAll) frees it.
import type { SeededRng } from '@ringkv/core';
import type { InProcessCluster } from '@ringkv/core/testing';

export interface DiskFullFault {
  kind: 'disk-full';
  nodeId: string;
  /** True strikes the fault; false frees the disk again. */
  full: boolean;
}

export const diskFullLimits = {
  /** Chance that a run has full disks at all. */
  chance: 0.35,
  /** Nodes whose disks fill up in one run, at most, one after another. */
  nodesMax: 2,
  /** Chance that instead every disk of the cluster is full at once for a while (writes answer 507). */
  clusterChance: 0.25,
  durationMsMin: 30,
  durationMsMax: 400,
} as const;

export function planDiskFull(rng: SeededRng, windowMs: number, nodeIds: readonly string[]): Array<{ atMs: number; fault: DiskFullFault }> {
  if (rng.next() >= diskFullLimits.chance) return [];
  const planned: Array<{ atMs: number; fault: DiskFullFault }> = [];
  if (rng.next() < diskFullLimits.clusterChance) {
    // Data spread evenly fills every node at about the same time: no replica takes a write.
    const atMs = rng.nextInt(windowMs);
    const durationMs = diskFullLimits.durationMsMin + rng.nextInt(diskFullLimits.durationMsMax - diskFullLimits.durationMsMin + 1);
    for (const nodeId of nodeIds) planned.push({ atMs, fault: { kind: 'disk-full', nodeId, full: true } }, { atMs: atMs + durationMs, fault: { kind: 'disk-full', nodeId, full: false } });
    return planned;
  }
  for (let i = 1 + rng.nextInt(diskFullLimits.nodesMax); i > 0; i--) {
    const nodeId = nodeIds[rng.nextInt(nodeIds.length)] as string;
    const atMs = rng.nextInt(windowMs);
    const durationMs = diskFullLimits.durationMsMin + rng.nextInt(diskFullLimits.durationMsMax - diskFullLimits.durationMsMin + 1);
    planned.push({ atMs, fault: { kind: 'disk-full', nodeId, full: true } }, { atMs: atMs + durationMs, fault: { kind: 'disk-full', nodeId, full: false } });
  }
  return planned;
}

export function strikeDiskFull(cluster: InProcessCluster, fault: DiskFullFault): void {
  cluster.member(fault.nodeId).disk.full = fault.full;
}

/** Phase two: every disk has room again. */
export function endDiskFull(cluster: InProcessCluster): void {
  for (const member of cluster.members) member.disk.full = false;
}

export function describeDiskFull(fault: DiskFullFault): string {
  return fault.full ? `disk ${fault.nodeId} full (writes refused)` : `disk ${fault.nodeId} has room again`;
}
