// What the signed-in token may do, mirroring the node's roles (docs/security.md, "Roles"),
// and how the node's refusals read. The page hides the controls a role cannot use: the
// node refuses them anyway (403), so offering the button would only invite an error.
import type { AuthIdentity } from '@ringkv/client';
import { formatDurationSeconds } from './format.js';

export type Role = AuthIdentity['role'];

export interface Permissions {
  /** Put and delete keys: the write and admin roles. */
  write: boolean;
  /** Ring changes, repair, pausing or resuming transfers and setting their pace: the admin role only. */
  admin: boolean;
}

/** Each role holds every right of the roles ranked below it. */
const roleRanks: Readonly<Record<Role, number>> = { read: 0, write: 1, admin: 2 };

/** A role this page does not know (a newer node's) gets no rights beyond reading. */
export function permissionsOf(role: Role): Permissions {
  const rank = Object.hasOwn(roleRanks, role) ? roleRanks[role] : roleRanks.read;
  return { write: rank >= roleRanks.write, admin: rank >= roleRanks.admin };
}

/** `keys under “user:”` for a prefix-limited token, null for one that reaches every key. */
export function describePrefix(prefix: string | null): string | null {
  return prefix === null || prefix === '' ? null : `keys under “${prefix}”`;
}

/** `expires in 3 h 5 min`, `expired`, or null for a token without an expiry (or an unreadable one). */
export function describeExpiry(expiresAt: string | null, nowMs: number): string | null {
  if (expiresAt === null) return null;
  const expiresAtMs = Date.parse(expiresAt);
  if (!Number.isFinite(expiresAtMs)) return null;
  const leftMs = expiresAtMs - nowMs;
  return leftMs <= 0 ? 'expired' : `expires in ${formatDurationSeconds(leftMs / 1000)}`;
}

interface ProblemCarrier {
  status: number;
  problem: { title?: unknown; detail?: unknown };
}

function carriesProblem(error: unknown): error is ProblemCarrier {
  return typeof error === 'object' && error !== null && 'problem' in error && 'status' in error;
}

/** The HTTP status an API error answered, or null for a network failure or a bug. */
export function statusOf(error: unknown): number | null {
  return carriesProblem(error) && typeof error.status === 'number' ? error.status : null;
}

/** The problem's detail (or title) without its closing full stop, for quoting in a sentence. */
export function problemText(error: unknown): string {
  if (!carriesProblem(error)) return error instanceof Error ? error.message : String(error);
  const { title, detail } = error.problem;
  const text = typeof detail === 'string' && detail !== '' ? detail : typeof title === 'string' ? title : '';
  return (text === '' ? `HTTP ${error.status}` : text).replace(/\.\s*$/, '');
}

/**
 * What to show for a request the token may not make (403: wrong role, or a key outside
 * its prefix), quoting the node's reason; null for every other outcome.
 */
export function describeRefusal(error: unknown): string | null {
  if (statusOf(error) !== 403) return null;
  return `Your token may not do this: ${problemText(error)}.`;
}

/** Why the sign-in form is shown again: a sentence for the operator, and the node's own words. */
export interface SignInReason {
  summary: string;
  /** The 401's problem detail, null when it had none. */
  detail: string | null;
}

/**
 * After a request was answered 401 while signed in. The node says only that no valid
 * token was sent, never whether it was unknown, revoked or expired, so the summary names
 * the likely causes rather than guess one.
 */
export function sessionEndedReason(detail: string): SignInReason {
  return {
    summary: 'The node no longer accepts your token: it may have been revoked or have expired. Sign in with a current one.',
    detail: detail.trim() === '' ? null : detail.trim(),
  };
}

/** After the sign-in form's token was answered 401. */
export const tokenRefusedText = 'The node refused this token: it is unknown, revoked or expired. Paste the whole last line that `ringkv token create` printed.';
