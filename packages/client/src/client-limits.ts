// The cluster client's bounds and defaults. They live in the client, not in the core's
// limits.ts, because @ringkv/client is published alone and imports nothing from the core.

/** A whole request, every attempt included (`timeoutMs`). */
export const requestTimeoutMsDefault = 10_000;
/**
 * One attempt on one node (`attemptTimeoutMs`): twice a node's default --read-timeout-ms and
 * --write-timeout-ms (2 s), so a node's own 504 arrives before the client gives up on it.
 */
export const attemptTimeoutMsDefault = 4000;
/** Nodes tried for one request (`attemptsMax`), the first one included. */
export const attemptsMaxDefault = 3;
export const attemptsMaxMax = 16;
/** The ring is fetched again when a request finds it older than this (`ringRefreshMs`). */
export const ringRefreshMsDefault = 30_000;
/** Refreshes that a failure asks for come at most this often. */
export const ringRefreshGapMsMin = 1000;
/** A node that failed is tried last for this long, doubling with each further failure… */
export const nodeAvoidMsMin = 500;
/** …up to this. */
export const nodeAvoidMsMax = 30_000;

/** Characters of an Idempotency-Key (each visible ASCII, 0x21..0x7E), as nodes accept them. */
export const idempotencyKeyCharsMax = 255;
/** The wait before asking again about a write still in flight (409) when the node sent no Retry-After. */
export const inFlightRetryAfterMsDefault = 1000;
/** Times one request asks again about its own write still in flight (409), within its time budget. */
export const inFlightRetriesMax = 8;

/** Pages one scanKeys iteration fetches at most (`pagesMax`): with 1000 keys a page, ten million keys. */
export const scanPagesMaxDefault = 10_000;

/** A watch's wait before reconnecting grows from this after each failure in a row (`retryDelayMsMin`)… */
export const watchRetryDelayMsMin = 250;
/** …up to this (`retryDelayMsMax`); a 503's Retry-After is honoured up to watchRetryAfterMsMax. */
export const watchRetryDelayMsMax = 5000;
/** The longest Retry-After a watch waits for before it tries again. */
export const watchRetryAfterMsMax = 30_000;
/** Reconnections in a row without a stream that opened, after which a watch gives up and throws (`reconnectsMax`). */
export const watchReconnectsMaxDefault = 30;
/**
 * A watch stream silent this long is taken for dead and reopened elsewhere (`idleTimeoutMs`):
 * three heartbeats (nodes send one at least every 5 s), so a node lost without a reset is noticed.
 */
export const watchIdleTimeoutMsDefault = 15_000;
/** Characters of one event-stream line or event a watch accepts: far above a node's largest value (1 MiB by default). */
export const watchEventCharsMax = 64 * 1024 * 1024;
