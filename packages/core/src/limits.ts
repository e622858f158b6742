// Every bound in ringkv's core, in one place (STYLE.md principle 5: limit everything).
// Names carry their unit or qualifier last.

/** Keys are UTF-8 strings of 1..keyBytesMax bytes (DESIGN.md, "The request path"). */
export const keyBytesMax = 1024;

/** Default limit on a value's JSON size; `--max-value-bytes` changes it per node. */
export const valueBytesMaxDefault = 1024 * 1024;

/** Largest peer frame accepted; a bigger length prefix closes the connection. */
export const frameBytesMax = 16 * 1024 * 1024;

/** Replicas per key (N) and virtual nodes per member accepted on the command line. */
export const replicasMax = 7;
export const vnodesMax = 4096;
export const vnodesDefault = 256;

/** Page sizes of GET /keys. */
export const keysPageLimitDefault = 100;
export const keysPageLimitMax = 1000;
/** Entries (live or tombstones) one /keys page may walk before it returns early. */
export const keysPageScanMax = 10_000;

/** Requests waiting for a reply on one peer connection. */
export const peerInflightMax = 10_000;

/** Members a cluster may hold. */
export const membersMax = 256;

/** How far ahead of the local wall clock a remote timestamp may be before it is refused. */
export const clockSkewMaxMs = 60_000;

/** Node ids are short printable names: they appear in versions, URLs and metrics. */
export const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Records one pushRecords or pullRecords message may carry. */
export const recordsPerMessageMax = 5000;

/** Hints a node holds for one target replica, and in total, unless configured otherwise. */
export const hintsPerTargetMaxDefault = 100_000;
export const hintsTotalMaxDefault = 1_000_000;

/** Attempts of one write whose version replicas refused as older (re-stamped each time). */
export const writeAttemptsMax = 3;
