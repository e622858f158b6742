// Whom a quorum read asks first (rapid read protection, after Cassandra's speculative
// retry; docs/guarantees.md "Slow and frozen replicas"). When it asks the next one is
// decided by decide-read.ts.

export interface ReadOrder {
  /** Every replica of the key, in the order a read asks them. */
  order: string[];
  /** The first `available` of `order` are worth asking early; the rest are believed down. */
  available: number;
}

/**
 * Itself first (no network), then the available replicas in preference order with the
 * slow ones behind the rest, then those believed down (asked only when nothing else is
 * left). Keeping preference order among the healthy spreads reads over them, rather than
 * herding every read onto the replica that was fastest a moment ago.
 */
export function readOrder(replicas: readonly string[], selfId: string, isAvailable: (nodeId: string) => boolean, isSlow: (nodeId: string) => boolean): ReadOrder {
  // The usual case, every replica up and none slow, builds one array (every read plans its order).
  const selfAt = replicas.indexOf(selfId);
  let allHealthy = true;
  for (const nodeId of replicas) {
    if (nodeId !== selfId && (!isAvailable(nodeId) || isSlow(nodeId))) {
      allHealthy = false;
      break;
    }
  }
  if (allHealthy) {
    const order = replicas.slice();
    // Itself first, the others keep their preference order.
    for (let i = selfAt; i > 0; i--) order[i] = order[i - 1] as string;
    if (selfAt > 0) order[0] = selfId;
    return { order, available: order.length };
  }
  const healthy: string[] = [];
  const slow: string[] = [];
  const down: string[] = [];
  for (const nodeId of replicas) {
    if (nodeId === selfId) healthy.unshift(nodeId);
    else if (!isAvailable(nodeId)) down.push(nodeId);
    else if (isSlow(nodeId)) slow.push(nodeId);
    else healthy.push(nodeId);
  }
  return { order: healthy.concat(slow, down), available: healthy.length + slow.length };
}
