// The change feed's metrics (docs/design.md, "Watch"), registered beside the node's others:
// open watches, the change log's size, how far behind the clock its floor is (about
// --watch-close-ms unless writes are held up), and writes refused for the closed time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NodeInfo } from '@ringkv/client';

export function registerWatchMetrics(registry: Registry, watch: () => NodeInfo['watch']): void {
  new Gauge({
    name: 'ringkv_watches_open',
    help: 'Watches (GET /watch) this node serves now (bounded by --watch-max).',
    registers: [registry],
    collect() {
      this.set(watch().open);
    },
  });
  new Gauge({
    name: 'ringkv_change_log_entries',
    help: "Entries in this replica's change log (kept --watch-retention-s, at most --watch-retention-mb).",
    registers: [registry],
    collect() {
      this.set(watch().logEntries);
    },
  });
  new Gauge({
    name: 'ringkv_change_log_bytes',
    help: "Approximate bytes of this replica's change log.",
    registers: [registry],
    collect() {
      this.set(watch().logBytes);
    },
  });
  new Gauge({
    name: 'ringkv_change_log_floor_lag_seconds',
    help: "How far behind this replica's clock its change-log floor is: watches deliver changes up to the floor.",
    registers: [registry],
    collect() {
      this.set(watch().floorLagMs / 1000);
    },
  });
  new Counter({
    name: 'ringkv_writes_refused_closed_total',
    help: "Coordinators' writes this replica refused as stamped at or below its closed time (the coordinator re-stamped them).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(watch().refusedWrites);
    },
  });
}
