// The `@ringkv/core/testing` entry: the simulated world (an in-process cluster, skewed
// clocks, slow and full disks) and the bugs the simulator plants to prove it finds them.
// Production code never imports it.
export * from './in-process-cluster.js';
export * from './planted-bugs.js';
export * from './skewed-clock.js';
export * from './slow-engine.js';
export * from './version-blind-engine.js';
export * from './wall-following-clock.js';
