// What a forced anti-entropy round (POST /repair, admin only) answered, in one sentence.
// The node's figures are totals since it started, not this round's, and are named so.
import type { RepairStatus } from '@ringkv/client';
import { formatCount } from './format.js';

export function describeRepairStatus(status: RepairStatus): string {
  const ranges = `${formatCount(status.rangesVerified)} of ${formatCount(status.rangesOwned)} owned ranges verified`;
  const keys = `${formatCount(status.keysRepaired)} ${status.keysRepaired === 1 ? 'key' : 'keys'} repaired`;
  return `${status.nodeId} ran a repair round: ${ranges}; ${keys} in ${formatCount(status.rounds)} ${status.rounds === 1 ? 'round' : 'rounds'} since it started.`;
}
