// Every bound in ringkv's core, in one place (docs/style.md, "Limit everything").
// Names carry their unit or qualifier last.

/** Keys are UTF-8 strings of 1..keyBytesMax bytes (docs/design.md, "The request path"). */
export const keyBytesMax = 1024;
/** A ttl is a whole number of seconds from 1 to this (20 years), as Cassandra bounds its own. */
export const ttlSecondsMax = 630_720_000;
/** An Idempotency-Key is 1..this many visible ASCII characters (as Stripe bounds its own). */
export const idempotencyKeyLengthMax = 255;
/** How long a node remembers an idempotent write by default (--idempotency-retention-s): a day. */
export const idempotencyRetentionSecondsDefault = 86_400;
/** The idempotent writes remembered per store key (the oldest are forgotten first), so a hot key's Paxos state stays small. */
export const idempotencyEntriesPerKeyMax = 64;

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

// Cluster-wide listing (cluster/key-scan.ts, GET /cluster/keys and /admin/records).
/** Records one scanRecords reply carries at most (a member's page of a cluster-wide scan). */
export const scanRecordsLimitMax = 1000;
/** Value bytes (as JSON text) after which a scanRecords reply stops early, so a page of large values stays far below frameBytesMax. */
export const scanRecordsReplyBytesMax = 4 * 1024 * 1024;
/** How long a member has to answer one scanRecords request before the scan counts it as unanswered. */
export const scanRecordsTimeoutMsDefault = 5000;
/** Reads a `GET /cluster/keys?values=true` page runs at once. */
export const scanValueReadsInFlightMax = 16;

// The change feed (watch/change-log.ts, watch/watch-session.ts, GET /watch).
/**
 * How far behind its own clock a replica closes time (--watch-close-ms): it refuses a
 * coordinator's write stamped this much older than its HLC (the coordinator re-stamps it),
 * so a watcher knows no new change will appear at or below that point. Events are delivered
 * about this late.
 */
export const watchCloseMsDefault = 300;
/** How long a replica keeps its change log (--watch-retention-s): an hour. Older cursors get 410. */
export const watchRetentionSecondsDefault = 3600;
/** Bytes of change log a replica keeps at most (--watch-retention-mb); the oldest entries go first. */
export const watchRetentionBytesDefault = 256 * 1024 * 1024;
/** Open watches one node serves at once (--watch-max); one more is 503. */
export const watchersMaxDefault = 64;
/** Change-log entries one `changes` reply scans at most. */
export const changesScanMax = 2000;
/** Value bytes after which a `changes` reply stops early. */
export const changesReplyBytesMax = 4 * 1024 * 1024;
/** How often a watch asks each member for new changes when the last answer had none. */
export const watchPollMsDefault = 100;
/** A member that answered a watch and then has not for this long no longer holds it back (if the rest cover a majority of every key's replicas); one that is up and has not answered yet is waited for. */
export const watchMemberStaleMs = 2000;
/** Heartbeats (`event: progress`) are sent at least this often. */
export const watchHeartbeatMsDefault = 5000;
/** Changes a watch holds waiting for every member to pass them; beyond it the watch is cut off (the client resumes). */
export const watchPendingEventsMax = 100_000;
/** Megabytes a watcher's socket may have unsent before the watch is cut off as too slow (--watch-unsent-mb). */
export const watchUnsentMegabytesDefault = 16;
/** Cursor text accepted at most (a key in base64 and three numbers). */
export const watchCursorLengthMax = 1500;
/** An accepted but uncommitted Paxos proposal holds a replica's change floor back at most this long. */
export const watchOpenProposalMsMax = 5000;

/**
 * Requests waiting for a reply on one peer connection. A node has at most
 * --inflight-requests-max client requests in flight (each sends one request per replica)
 * plus a few background ones, so this is ample; 10,000 values of 1 MiB would not fit in memory.
 */
export const peerInflightMax = 2048;

/** Members a cluster may hold. */
export const membersMax = 256;

/** How far ahead of the local wall clock a remote timestamp may be before it is refused. */
export const clockSkewMaxMs = 60_000;

/** Node ids are short printable names: they appear in versions, URLs and metrics. */
export const nodeIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Records one pushRecords or pullRecords message may carry. */
export const recordsPerMessageMax = 5000;

// Transfers of a ring change (rebalance/transfer.ts, transfer-source.ts): a batch is bounded
// by its bytes, so that small records move many to a message and large ones few.
/**
 * Estimated bytes (keys and values) after which a transfer batch ends: far below
 * frameBytesMax even with one value of valueBytesMaxDefault more. 256 KiB, about 2,400
 * records of 100 bytes: with 1 MiB, each receiver of a leave asked the leaving node for a
 * batch at once, and the bursts of gathering, decoding and storing 9,500 records a time
 * made the leave's first seconds the worst for clients (p99 0.8-1.8 s in 8 of 9 runs of
 * the join benchmark at 200,000 keys on 2 cores; 0.15-0.23 s in 3 of 4 with 256 KiB, 2.4 s
 * in the fourth, whose baseline was slow too), while the transfer took about as long.
 */
export const transferBatchBytesMax = 256 * 1024;
/** Records one transfer batch carries at most, however small. */
export const transferRecordsPerBatchMax = 20_000;
/**
 * How long a source may spend gathering one batch, its paced turns included, before it
 * answers with what it has: well within the receiver's request timeout (10 s), however
 * hard its clients make it pause.
 */
export const transferBatchWallMsMax = 2000;
/** How long a transfer's source keeps its count of the keys it sends an asker (rebalance/transfer-source.ts, SendingTotals). */
export const transferTotalRefreshMs = 5000;
/** Records of a batch the receiver stores before it takes its pause (clock/background-budget.ts). */
export const transferRecordsPerApply = 1000;
/**
 * Records (or keys) a slice of background work takes in one transaction while clients
 * load the node: a transfer's slice stored, a cleanup's page dropped. A slice of 1,000
 * held a receiving node's event loop for 25-140 ms on a shared 2-core machine (its
 * transaction's puts, preempted), and every request waiting on it; a quarter of that costs
 * about a quarter more CPU per record in commits (issue 14).
 */
export const backgroundSliceUnderLoad = 250;

// Backup and restore (issue 12, cluster/restore-writes.ts, packages/server/src/backup/).
/** Records one POST /admin/restore may carry (its bytes are bounded by the node's body limit too). */
export const restoreRecordsPerBatchMax = 1000;
/** Estimated bytes of one restore push to a replica: three quarters of a frame, so that an estimate a little short still fits. */
export const restorePushBytesMax = Math.floor((frameBytesMax * 3) / 4);

/** Hints a node holds for one target replica, and in total, unless configured otherwise. */
export const hintsPerTargetMaxDefault = 100_000;
export const hintsTotalMaxDefault = 1_000_000;

/** Attempts of one write whose version replicas refused as older (re-stamped each time). */
export const writeAttemptsMax = 3;

// HTTP edge (docs/security.md, "Limits before authentication"): each has a flag, and these are its default and bounds.
/** Nesting depth of a request body's JSON (the `{"value": ...}` envelope is one level); deeper → 400 at the edge. */
export const jsonDepthMaxDefault = 100;
export const jsonDepthMaxLimit = 10_000;
/** Time to receive a whole request, body included; a slower client gets 408 and is disconnected. */
export const httpRequestTimeoutMsDefault = 30_000;
/** Time to receive a request's headers. */
export const httpHeadersTimeoutMsDefault = 10_000;
/** How long a keep-alive connection may sit idle between requests. */
export const httpKeepAliveTimeoutMsDefault = 10_000;
/** Open connections the API port accepts (clients and inbound peers); beyond it new ones are closed at once. */
export const httpConnectionsMaxDefault = 1000;
/** Bytes of a request's head (request line and headers); beyond → 431. */
export const httpHeaderBytesMaxDefault = 16 * 1024;
export const httpHeaderBytesMaxLimit = 1024 * 1024;
/** Requests per minute one token (or, without a token, one client address) may make; 0 turns the limit off. */
export const rateLimitPerMinuteDefault = 0;
/** Distinct callers whose request counts the rate limiter remembers (least recently seen forgotten first). */
export const rateLimitCallersMax = 10_000;

/**
 * Largest SWIM incarnation number a member may hold. Far above what refutations reach in
 * practice (one per accusation), and well inside the integers the codec carries exactly:
 * gossip above it is refused, and no node raises its own incarnation past it.
 */
export const incarnationMax = 2 ** 31 - 1;

/** Largest peer frame before the connection has authenticated: a hello fits many times over. */
export const peerFrameBytesMaxUnauthenticated = 64 * 1024;

/** How long an upgraded peer connection may take to authenticate before it is closed. */
export const peerHandshakeTimeoutMsDefault = 5000;

/** Upgraded peer connections not yet authenticated; an upgrade beyond it is refused. */
export const peerPendingConnectionsMax = 64;

/** Members pinged per protocol period to confirm news that only they may announce (membership.ts). */
export const relayedClaimChecksPerPeriodMax = 3;

/**
 * Members a node asks directly after a state exchange showed news only they may announce
 * (cluster-state fencing: membership/membership.ts exchangeState).
 */
export const stateVerificationsMax = 8;

/** Times a coordinator learns a newer cluster state from a refusing replica and routes a request again. */
export const reroutesMax = 3;

/** A replica learns the state of a coordinator that routes by a newer one at most this often per peer. */
export const stateExchangeIntervalMs = 200;

/** Proofs a hello or welcome may carry: one per cluster secret held while rotating (new, old). */
export const peerProofsMax = 4;

// Overload (issue 13, docs/guarantees.md "Overload"): client requests and request-body
// bytes in flight per node; beyond either, 503 with Retry-After before the body is read.
/** Client requests a node serves at once (`--inflight-requests-max`). */
export const inflightRequestsMaxDefault = 512;
/** Bytes of request bodies (by Content-Length) a node holds at once (`--inflight-body-bytes-max`). */
export const inflightBodyBytesMaxDefault = 16 * 1024 * 1024;
/**
 * A body of at least this many bytes is large: while the node's event loop is busier than
 * `--shed-busy-share` and it serves other requests, it takes one large body at a time and
 * sheds the others.
 */
export const largeBodyBytes = 64 * 1024;
/** The share of the last window (`backgroundBusyWindowMs`) the event loop was busy above which large bodies are taken one at a time (`--shed-busy-share`; 1 turns it off). */
export const shedBusyShareDefault = 0.5;
/**
 * How long a connection whose large body was shed stays open, unread, after its 503 was
 * sent, so the client reads the answer before the connection is reset.
 */
export const shedLingerMs = 500;
/** Bytes a node has sent to replicas without an answer yet beyond which it sheds writes (a slow replica's backlog). */
export const replicaBacklogBytesMax = 32 * 1024 * 1024;
/** What an overloaded node tells clients to wait (the Retry-After header), in seconds. */
export const overloadRetryAfterSecondsDefault = 1;
/** Requests from one peer connection executing at once; more wait in its queue. */
export const peerRequestsExecutingMax = 128;
/**
 * Requests from one peer connection waiting to execute, and their bytes; beyond either they
 * fail 'overloaded' (nothing applied). A peer keeps at most peerInflightMax requests open on
 * a connection, so only the bytes bound refuses a well-behaved one.
 */
export const peerRequestsQueuedMax = peerInflightMax;
export const peerQueuedBytesMax = 32 * 1024 * 1024;

// Background work's share of time (clock/background-budget.ts).
/** The smallest share of time background jobs keep however busy the clients are. */
export const backgroundShareMin = 0.1;
/** The longest pause a background job takes after one page of work. */
export const backgroundPauseMsMax = 250;
/**
 * The share of time background jobs leave idle for client bursts: they take what the
 * clients leave of the rest, where the shell measures how busy its event loop is.
 */
export const backgroundIdleHeadroom = 0.3;
/** The moment over which the event loop's busy share and background work's own share are taken. */
export const backgroundBusyWindowMs = 250;

// Rapid read protection (issue 13, cluster/read-plan.ts and cluster/latency-tracker.ts).
/** A read asks one more replica once those asked are slower than this percentile of recent answers (`--speculative-retry-percentile`; 0 turns it off). */
export const speculativeRetryPercentileDefault = 99;
/** The wait before asking one more replica never falls below this (`--speculative-retry-floor-ms`). */
export const speculativeRetryFloorMsDefault = 5;
/** Nor rises above this (`--speculative-retry-max-ms`), however slow recent answers were; kept well below the read timeout. */
export const speculativeRetryMaxMsDefault = 100;
/** Recent replica answers the percentile is taken over (a ring buffer over a fixed histogram). */
export const readLatencySamplesMax = 512;
/** Fewer recent answers than this: too few for a percentile, and the wait is the maximum. */
export const readLatencySamplesMin = 32;
/** A replica's latency estimate older than this is forgotten, so a replica once slow is tried again. */
export const replicaLatencyForgetMs = 2000;
/** Replicas whose latency one coordinator tracks; beyond it, idle entries are dropped. */
export const replicaLatencyTrackedMax = 1024;

// Disk full (issue 13, packages/server/src/storage/data-file-reserve.ts and disk-state.ts).
/** LMDB's initial map, virtual address space only (`--lmdb-map-bytes`); lmdb-js doubles it before a write would pass its end. */
export const lmdbMapBytesDefault = 1024 * 1024 * 1024;
/**
 * Bytes (by the writes' estimates) one LMDB commit takes from the engine's queue; the rest
 * waits for the next. The puts of a commit run on the main thread (about 1 ms per MiB),
 * and lmdb-js's write thread commits them: a cap keeps the main thread's stretch short
 * while the event loop has reads to serve (packages/server/src/storage/lmdb-engine.ts).
 */
export const lmdbCommitBytesMaxDefault = 8 * 1024 * 1024;
/**
 * A commit whose records and index rows come to no more than this (what it puts, not the
 * pages it may touch) runs on the main thread
 * (lmdb-js's synchronous transaction) when commits are not fsynced: the two hops to and from
 * lmdb-js's write thread cost about 0.1 ms, more than writing a few pages to the page cache,
 * and a lone PUT waits for them on every replica. Larger commits stay off the event loop.
 */
export const lmdbOnLoopCommitBytesMax = 256 * 1024;
/**
 * Records of a batch (a transfer's, Engine.applyBatch) one LMDB transaction takes: about
 * 5 ms of puts, so the event loop turns between slices while clients wait.
 */
export const lmdbBatchRecordsPerCommit = 1000;
/** Space the data file keeps allocated ahead of what LMDB uses (`--storage-reserve-bytes`), so LMDB never meets a full disk mid-commit. */
export const storageReserveBytesDefault = 16 * 1024 * 1024;
/**
 * Records per write transaction while the LMDB engine builds its ring index from its
 * records (data format 3, packages/server/src/storage/lmdb-ring-build.ts): large, since
 * each transaction may copy most of the index's pages, and bounded, since the batch's
 * versions are held in memory.
 */
export const ringIndexBuildKeysPerCommit = 100_000;
/** Free space the reserve never takes, left for members.json, logs and the rest of the machine. */
export const diskFreeMarginBytes = 1024 * 1024;
/** A node with a full disk checks this often whether space has returned. */
export const storageProbeIntervalMsDefault = 1000;
/** Disk use, in percent of the filesystem, above which /node-info warns (`--disk-warn-percent`). */
export const diskWarnPercentDefault = 90;

// Running anywhere (issue 15, packages/server/src/seed-addresses.ts and data-commands.ts).
/** A seed host name that does not resolve yet is looked up again this often while the node waits (`--seed-resolve-timeout-ms`). */
export const seedLookupRetryMs = 1000;
/** One DNS lookup of a seed may take this long before it counts as failed. */
export const seedLookupTimeoutMs = 5000;
/** The largest value the CLI reads from a file or stdin (a node's own `--max-value-bytes` bounds it again). */
export const cliValueInputBytesMax = 64 * 1024 * 1024;

// Conditional writes (issue 11, cluster/paxos-proposer.ts).
/** Paxos rounds one conditional write or serial read runs at most (preempted by others, or routed again) before it gives up. */
export const paxosRoundsMax = 20;
/** The longest random wait before a round that follows one preempted by a higher ballot. */
export const paxosBackoffMsMax = 100;

// Batches (issue 11, packages/server/src/api/batch-routes.ts). A batch's bytes are bounded
// by the node's body limit (--max-value-bytes), like any request body.
/** Ops one POST /batch may carry; more is refused whole with 413. */
export const batchOpsMax = 1000;
/** Ops of one batch in flight at once (on different keys; ops on one key run one after another). */
export const batchOpsConcurrentMax = 32;
