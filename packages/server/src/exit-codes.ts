// One table of exit codes for every `ringkv` command, so a script can tell "absent" from
// "try again later" from "maybe applied": the HTTP status of the node's answer, or the
// way the request failed to get one, decides the code.
import { RingkvError } from '@ringkv/client';

export const exitCodes = {
  ok: 0,
  notFound: 1,
  usage: 2,
  /** Refused or unavailable: nothing was done, and trying again later may work. */
  unavailable: 3,
  /** No answer, or 504: a write may or may not have been applied. */
  outcomeUnknown: 4,
  notAllowed: 5,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The exit code table as `--help` prints it (and README.md repeats). */
export const exitCodesHelp = `Exit codes (every command):
  0  ok
  1  not found (the key, node or job does not exist)
  2  bad input or usage (400, 413, 414, 415, 431; a bad flag, file or config)
  3  refused or unavailable: nothing was done (409, 412, 422, 429, 503, 507; no node reachable)
  4  outcome unknown: a write may have been applied (504, 5xx, no answer in time)
  5  not allowed (401, 403)`;

/** A command that ends with a given code and message (and the node's problem, if it answered one). */
export class CommandFailure extends Error {
  readonly exitCode: ExitCode;
  readonly status: number | undefined;

  constructor(exitCode: ExitCode, message: string, status?: number) {
    super(message);
    this.name = 'CommandFailure';
    this.exitCode = exitCode;
    this.status = status;
  }
}

export function exitCodeOfStatus(status: number): ExitCode {
  if (status >= 200 && status < 300) return exitCodes.ok;
  if (status === 404) return exitCodes.notFound;
  if (status === 401 || status === 403) return exitCodes.notAllowed;
  // 422: an Idempotency-Key reused for another request, refused like a failed condition (412).
  if ([409, 412, 422, 423, 429, 503, 507].includes(status)) return exitCodes.unavailable;
  if (status >= 400 && status < 500) return exitCodes.usage;
  // 504, and any other server error: the request reached a node and its fate is not known.
  return exitCodes.outcomeUnknown;
}

/** Error codes of a connection that was never made: nothing reached any node. */
const notConnectedCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** The code of a failed fetch's cause (undici wraps it in `TypeError: fetch failed`). */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = (current as Error & { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the request certainly never reached a node: another node may be asked, even for a write. */
export function neverSent(error: unknown): boolean {
  const code = causeCode(error);
  return code !== undefined && notConnectedCodes.has(code);
}

/** True when no answer came in time (the request may have been applied). */
export function timedOut(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CommandFailure) return error.exitCode;
  if (error instanceof RingkvError) return exitCodeOfStatus(error.status);
  if (neverSent(error)) return exitCodes.unavailable;
  return exitCodes.outcomeUnknown;
}
