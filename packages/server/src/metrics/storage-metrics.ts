// The disk's metrics (docs/architecture.md, "Disk full"), registered beside the node's
// others: disk use and free space, the storage state, its changes and refused writes.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NodeStorage } from '../storage/node-storage.js';

const states = ['ok', 'full', 'failed'] as const;

export function registerStorageMetrics(registry: Registry, storage: Pick<NodeStorage, 'report' | 'counts'>): void {
  new Gauge({
    name: 'ringkv_disk_bytes',
    help: "The data directory's filesystem: size (kind=size), free (kind=free); LMDB's data (kind=data) and the space reserved ahead of it (kind=reserved).",
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const report = storage.report();
      for (const [kind, value] of [['size', report.filesystemBytes], ['free', report.freeBytes], ['data', report.dataBytes], ['reserved', report.reservedBytes]] as const) {
        if (value !== null) this.set({ kind }, value);
      }
    },
  });
  new Gauge({
    name: 'ringkv_storage_state',
    help: 'Whether this node takes writes: 1 for its current state (ok, full: refusing writes until space returns, failed: writes stopped until a restart).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const current = storage.report().state;
      for (const state of states) this.set({ state }, state === current ? 1 : 0);
    },
  });
  new Counter({
    name: 'ringkv_storage_state_changes_total',
    help: 'Changes of storage state, by the state entered.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const state of states) this.inc({ state }, storage.counts.changes[state]);
    },
  });
  new Counter({
    name: 'ringkv_storage_writes_refused_total',
    help: "Writes this node's storage refused because its disk is full or failed (each a storage-full or storage-error answer).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(storage.counts.refusedWrites);
    },
  });
}
