// The package's main entry: the client and the API's types. The schemas the types come from
// are the `@ringkv/client/schemas` entry, so that importing the client does not load typebox.
export type * from './types.js';
export type * from './batch-schemas.js';
export * from './client.js';
export * from './batch.js';
export * from './progress-bar.js';
export * from './cluster-client.js';
export { RingLayoutError, RingMap, ringHashName } from './ring-map.js';
export { xxhash32 } from './xxhash32.js';
export type { TopologyMember } from './cluster-topology.js';
export type { AttemptFailure, FailureKind } from './retry-policy.js';
export { WatchProtocolError, watchPath } from './watch.js';
export { ServerSentEventParser, ServerSentEventsTooLongError, type ServerSentEvent } from './server-sent-events.js';
export type { WatchDeleteEvent, WatchEvent, WatchOptions, WatchProgressEvent, WatchPutEvent, WatchReadyEvent, WatchStatus } from './watch.js';
