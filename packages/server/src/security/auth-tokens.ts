// The API token file (`--auth-file`, docs/security.md "API tokens"): who may call the
// API, with which role and key prefix, until when. The file stores only a SHA-256 of each
// token, so a copy of it (a backup, a leaked config folder) lets nobody in.
//
// Why a fast hash and not bcrypt/scrypt/argon2: those are slow on purpose because
// passwords come from a small, guessable space, and slowness makes trying them all
// expensive. A token here is 32 bytes from the operating system's CSPRNG: 2^256
// possibilities, which no amount of hashing speed brings within reach, so a slow hash
// would add nothing but latency to every request. One SHA-256 is also cheap enough to
// run on every request, and it lets us look a token up by its hash in a map.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { keyBytesMax } from '@ringkv/core';
import { roleRank, type Role } from '../api/route-access.js';
import { privateFileMode, writeFileAtomic } from './atomic-file.js';

export interface TokenEntry {
  name: string;
  role: Role;
  /** The token reaches only keys that start with this. */
  prefix?: string;
  /** ISO 8601; the token is refused from this instant on. */
  expiresAt?: string;
  /** `sha256:` and 64 lowercase hex digits. */
  hash: string;
  /** ISO 8601. */
  createdAt: string;
}

interface TokenFileContent {
  version: 1;
  tokens: TokenEntry[];
}

export interface TokenIdentity {
  name: string;
  role: Role;
  prefix: string | null;
  expiresAtMs: number | null;
}

export type TokenCheck = { ok: true; identity: TokenIdentity } | { ok: false; reason: 'missing' | 'unknown' | 'expired' };

export interface CreateTokenOptions {
  role: Role;
  /** Default: `<role>-<n>`, the first number not taken. */
  name?: string;
  prefix?: string;
  expiresInMs?: number;
}

/** Every token starts with this, so scanners and people can tell what a leaked string is. */
export const tokenPrefix = 'rkv_';
const tokenRandomBytes = 32;
/** Token names: safe to print in logs and on a command line. */
export const tokenNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const hashPattern = /^sha256:[0-9a-f]{64}$/;
/** The latest instant a JavaScript Date can hold. */
const dateMaxMs = 8.64e15;

export class AuthTokens {
  /** Keyed by the hex digest of the token. */
  private readonly byHash: Map<string, TokenEntry>;

  private constructor(entries: readonly TokenEntry[]) {
    this.byHash = new Map(entries.map((entry) => [entry.hash.slice('sha256:'.length), entry]));
  }

  /** Reads and checks a token file; throws an Error naming the file and what is wrong with it. */
  static load(path: string): AuthTokens {
    return new AuthTokens(readTokenFile(path).tokens);
  }

  static empty(): AuthTokens {
    return new AuthTokens([]);
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * Checks a bearer token: either the whole `Authorization` header value (`Bearer rkv_...`)
   * or the token alone. The reason of a refusal is for logs and metrics; answers to the
   * caller must not tell which part of a token was wrong.
   */
  verify(bearer: string | undefined, nowMs: number): TokenCheck {
    const token = bearerToken(bearer);
    if (token === undefined) return { ok: false, reason: 'missing' };
    const digest = sha256Hex(token);
    // The map lookup branches on the digest, not on the token: timing can tell an attacker
    // at most something about the hash of what they sent, which says nothing about any
    // stored token. The constant-time compare below keeps the final decision free of
    // byte-by-byte timing even so.
    const entry = this.byHash.get(digest);
    if (entry === undefined) return { ok: false, reason: 'unknown' };
    const stored = Buffer.from(entry.hash.slice('sha256:'.length), 'hex');
    if (!timingSafeEqual(stored, Buffer.from(digest, 'hex'))) return { ok: false, reason: 'unknown' };
    const expiresAtMs = entry.expiresAt === undefined ? null : Date.parse(entry.expiresAt);
    if (expiresAtMs !== null && nowMs >= expiresAtMs) return { ok: false, reason: 'expired' };
    return { ok: true, identity: { name: entry.name, role: entry.role, prefix: entry.prefix ?? null, expiresAtMs } };
  }
}

/** Adds a new random token to the file (created, mode 0600, if missing) and returns it once. */
export function createToken(path: string, options: CreateTokenOptions, nowMs: number): { token: string; entry: TokenEntry } {
  if (!Object.hasOwn(roleRank, options.role)) throw new Error(`unknown role "${String(options.role)}": use read, write or admin`);
  const content = existsSync(path) ? readTokenFile(path) : { version: 1 as const, tokens: [] };
  const name = options.name ?? defaultTokenName(options.role, content.tokens);
  if (!tokenNamePattern.test(name)) throw new Error(`token name "${name}" is not allowed: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit`);
  if (content.tokens.some((entry) => entry.name === name)) throw new Error(`${path} already has a token named "${name}": revoke it first or pick another --name`);
  if (options.prefix !== undefined) checkPrefix(options.prefix);
  const token = tokenPrefix + randomBytes(tokenRandomBytes).toString('base64url');
  const entry: TokenEntry = { name, role: options.role, hash: `sha256:${sha256Hex(token)}`, createdAt: new Date(nowMs).toISOString() };
  if (options.prefix !== undefined) entry.prefix = options.prefix;
  if (options.expiresInMs !== undefined) {
    const expiresAtMs = nowMs + options.expiresInMs;
    if (!(options.expiresInMs > 0) || expiresAtMs > dateMaxMs) throw new Error('the expiry must be a positive duration within the range of dates');
    entry.expiresAt = new Date(expiresAtMs).toISOString();
  }
  writeTokenFile(path, { version: 1, tokens: [...content.tokens, entry] });
  return { token, entry };
}

/** Removes the token with this name; false when the file has none by that name. */
export function revokeToken(path: string, name: string): boolean {
  const content = readTokenFile(path);
  const kept = content.tokens.filter((entry) => entry.name !== name);
  if (kept.length === content.tokens.length) return false;
  writeTokenFile(path, { version: 1, tokens: kept });
  return true;
}

/** The entries of a token file, for `ringkv token list`; hashes stay inside. */
export function listTokens(path: string): Array<Omit<TokenEntry, 'hash'>> {
  return readTokenFile(path).tokens.map(({ hash: _hash, ...visible }) => visible);
}

/** `30d`, `12h`, `15m`, `3600s` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d{1,12})\s*([dhms])\s*$/.exec(text);
  if (match === null) throw new Error(`"${text}" is not a duration: write a whole number and a unit, e.g. 30d, 12h, 15m or 3600s`);
  const unitMs: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  const durationMs = Number(match[1]) * unitMs[match[2]!]!;
  if (durationMs <= 0) throw new Error(`"${text}" is not a duration: it must be longer than zero`);
  if (durationMs > dateMaxMs) throw new Error(`"${text}" is longer than any date can express`);
  return durationMs;
}

function bearerToken(bearer: string | undefined): string | undefined {
  if (bearer === undefined) return undefined;
  const trimmed = bearer.trim();
  const match = /^bearer(?:\s+(.*))?$/i.exec(trimmed);
  const token = match === null ? trimmed : (match[1] ?? '').trim();
  return token.length === 0 ? undefined : token;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function defaultTokenName(role: Role, tokens: readonly TokenEntry[]): string {
  const taken = new Set(tokens.map((entry) => entry.name));
  let number = 1;
  while (taken.has(`${role}-${number}`)) number++;
  return `${role}-${number}`;
}

function checkPrefix(prefix: string): void {
  if (prefix.length === 0) throw new Error('the prefix is empty: leave out --prefix for a token that reaches every key');
  if (Buffer.byteLength(prefix, 'utf8') > keyBytesMax) throw new Error(`the prefix is longer than the longest key (${keyBytesMax} bytes)`);
}

function readTokenFile(path: string): TokenFileContent {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist (create it with `ringkv token create`)' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new Error(`cannot read the token file ${path}: ${why}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`the token file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = tokenFileProblem(parsed);
  if (problem !== null) throw new Error(`the token file ${path} is not a ringkv token file: ${problem}`);
  return parsed as TokenFileContent;
}

/** What is wrong with a parsed token file, or null when it is well formed. */
function tokenFileProblem(parsed: unknown): string | null {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'expected a JSON object';
  const file = parsed as Record<string, unknown>;
  if (file.version !== 1) return `unsupported "version" ${JSON.stringify(file.version)} (this ringkv reads version 1)`;
  if (!Array.isArray(file.tokens)) return '"tokens" must be an array';
  const names = new Set<string>();
  const hashes = new Set<string>();
  for (const [index, item] of file.tokens.entries()) {
    const problem = tokenEntryProblem(item);
    if (problem !== null) return `tokens[${index}]: ${problem}`;
    const entry = item as TokenEntry;
    if (names.has(entry.name)) return `tokens[${index}]: the name "${entry.name}" appears twice`;
    if (hashes.has(entry.hash)) return `tokens[${index}] ("${entry.name}"): the same hash appears twice`;
    names.add(entry.name);
    hashes.add(entry.hash);
  }
  return null;
}

function tokenEntryProblem(item: unknown): string | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return 'expected an object';
  const entry = item as Record<string, unknown>;
  if (typeof entry.name !== 'string' || !tokenNamePattern.test(entry.name)) return '"name" must be 1 to 64 letters, digits, "_", "." or "-"';
  if (typeof entry.role !== 'string' || !Object.hasOwn(roleRank, entry.role)) return `"role" must be "read", "write" or "admin" (token "${entry.name}")`;
  if (typeof entry.hash !== 'string' || !hashPattern.test(entry.hash)) return `"hash" must be "sha256:" and 64 lowercase hex digits (token "${entry.name}")`;
  if (typeof entry.createdAt !== 'string' || Number.isNaN(Date.parse(entry.createdAt))) return `"createdAt" must be an ISO 8601 date (token "${entry.name}")`;
  if (entry.expiresAt !== undefined && (typeof entry.expiresAt !== 'string' || Number.isNaN(Date.parse(entry.expiresAt)))) {
    return `"expiresAt" must be an ISO 8601 date (token "${entry.name}")`;
  }
  if (entry.prefix !== undefined && (typeof entry.prefix !== 'string' || entry.prefix.length === 0)) return `"prefix" must be a non-empty string (token "${entry.name}")`;
  return null;
}

/**
 * Replaces the file atomically (a temp file in the same folder, flushed, then renamed),
 * so a node re-reading it on change never sees half a file. Mode 0600: the hashes do not
 * let anyone in, but names, roles and prefixes are nobody else's business.
 */
function writeTokenFile(path: string, content: TokenFileContent): void {
  writeFileAtomic(path, `${JSON.stringify(content, null, 2)}\n`, privateFileMode);
}
