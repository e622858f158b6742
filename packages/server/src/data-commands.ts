// The CLI's data commands: `ringkv get`, `put`, `delete` (`del`) of one key, `ls` (`keys`:
// one node's own keys, or with --cluster the whole cluster's, page by page) and `status`, each through the REST API of any of the nodes given with `--node` (any
// node serves any key): the next node is asked when one cannot be reached or answers 503,
// both of which mean nothing was done (a conditional write, --if-match or --if-none-match,
// goes on only when it never reached the node). A write with --idempotency-key goes on like a
// read (no answer in time, 504), since nodes answer its retry with the first outcome and write
// nothing new, and asks again after a 409 saying the first is still in flight. `put --ttl S`
// stores a key that expires; `get` and `put` print when. Values are JSON: `put` takes its value as JSON
// text, and text that is not JSON is stored as a string, as a shell user means it.
// `--json` prints one JSON document for scripts; without it the output is for people.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  idempotencyKeyProblem,
  inFlightRetriesMax,
  RingkvError,
  RingkvIdempotencyKeyInFlightError,
  scanPagesMaxDefault,
  type ClusterInfo,
  type ClusterKeysPage,
  type ConsistencyLevel,
  type ReadLevel,
  type RingkvClient,
  type StoredValue,
} from '@ringkv/client';
import { cliValueInputBytesMax } from '@ringkv/core';
import { CommandFailure, exitCodeOf, exitCodes, neverSent, timedOut, type ExitCode } from './exit-codes.js';
import { clientFor, failureMessage, nodeUrl, type ApiTarget } from './ring-commands.js';

export interface DataOutput {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
  /** One JSON document on stdout instead of text for people. */
  json?: boolean;
}

/** The nodes a data command may ask, in order, and how it proves itself. */
export interface DataTarget extends Omit<ApiTarget, 'node'> {
  nodes: readonly string[];
}

/** The largest value read from a file or stdin; the node refuses far less (--max-value-bytes). */
export const valueInputBytesMax = cliValueInputBytesMax;

/** A consistency level as typed (`one`, `quorum`, `all` or a count; `serial` for reads); the node checks it. */
export function levelOf(text: string | undefined): ConsistencyLevel | undefined {
  if (text === undefined) return undefined;
  return /^[0-9]+$/.test(text) ? Number(text) : (text as ConsistencyLevel);
}

function readLevelOf(text: string | undefined): ReadLevel | undefined {
  return text !== undefined && text.trim().toLowerCase() === 'serial' ? 'serial' : levelOf(text);
}

/** The condition of a `put` or `del` (`--if-match VERSION`, `--if-none-match` for put only), and its Idempotency-Key. */
export interface WriteConditionFlags {
  ifMatch?: string;
  ifNoneMatch?: boolean;
  /** `--idempotency-key K`: a retry with the same K answers the first outcome and writes nothing new. */
  idempotencyKey?: string;
}

/** `put --ttl S`: seconds until the key expires (the node checks the range). */
export interface PutFlags extends WriteConditionFlags {
  ttl?: number;
}

/** Refuses flags that cannot go together, before anything is sent; the failover kind the write gets. */
export function checkCondition(condition: WriteConditionFlags, w: string | undefined): FailoverKind {
  const conditional = condition.ifMatch !== undefined || condition.ifNoneMatch === true;
  if (condition.ifMatch !== undefined && condition.ifNoneMatch === true) {
    throw new CommandFailure(exitCodes.usage, 'give --if-match VERSION (update only that version) or --if-none-match (create only if absent), not both');
  }
  if (conditional && w !== undefined) {
    throw new CommandFailure(exitCodes.usage, "--w does not apply to a conditional write: it is decided by a majority of the key's replicas; drop --w");
  }
  if (condition.idempotencyKey !== undefined && w !== undefined) {
    throw new CommandFailure(exitCodes.usage, "--w does not apply with --idempotency-key: such a write is decided by a majority of the key's replicas; drop --w");
  }
  if (condition.idempotencyKey !== undefined) {
    const problem = idempotencyKeyProblem(condition.idempotencyKey);
    if (problem !== null) throw new CommandFailure(exitCodes.usage, `--idempotency-key: ${problem}`);
    return 'idempotent-write';
  }
  return conditional ? 'conditional-write' : 'write';
}

/** The value a shell argument stands for: JSON when it parses, else the text itself. */
export function valueOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface ValueSource {
  /** The VALUE argument: text, or `-` for stdin. */
  argument: string | undefined;
  file: string | undefined;
  /** Store the text as a string even when it parses as JSON. */
  forceString: boolean;
  readStdin: () => string;
}

/** The value to store, from the argument, a file or stdin. Text from a file or stdin is taken exactly, newline included. */
export function valueFrom(source: ValueSource): unknown {
  if (source.argument !== undefined && source.file !== undefined) {
    throw new CommandFailure(exitCodes.usage, 'give the value either as an argument or with --file, not both');
  }
  let text: string;
  if (source.file !== undefined) text = readValueFile(source.file);
  else if (source.argument === '-') text = source.readStdin();
  else if (source.argument !== undefined) text = source.argument;
  else throw new CommandFailure(exitCodes.usage, 'put needs a value: an argument, `-` to read stdin, or --file FILE');
  if (Buffer.byteLength(text) > valueInputBytesMax) throw new CommandFailure(exitCodes.usage, `the value is larger than ${valueInputBytesMax} bytes`);
  return source.forceString ? text : valueOf(text);
}

function readValueFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CommandFailure(exitCodes.usage, `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path given to --file`);
  }
}

/** Reads all of stdin (a pipe or a file), refusing more than `valueInputBytesMax`. */
export function readStdinText(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (error) {
    throw new CommandFailure(exitCodes.usage, `cannot read the value from stdin (${(error as Error).message}); pipe it in or use --file`);
  }
}

/** How a command may fail over: a write with an Idempotency-Key may, like a read, go on after any failure that may have written. */
export type FailoverKind = 'read' | 'write' | 'conditional-write' | 'idempotent-write';

/**
 * Runs `work` against each node in turn until one answers. A node is skipped when the
 * request never reached it or it answered 503 (nothing was done in both cases); reads and
 * writes with an Idempotency-Key, which a retry cannot apply twice, also move on after no
 * answer in time or a 504. A 409 saying the keyed write is still in flight is asked again
 * of the same node after its Retry-After, at most inFlightRetriesMax times.
 */
export async function withFailover<T>(target: DataTarget, kind: FailoverKind, work: (client: RingkvClient, node: string) => Promise<T>): Promise<{ result: T; node: string }> {
  if (target.nodes.length === 0) throw new CommandFailure(exitCodes.usage, 'no node to ask: pass --node host:port');
  const failures: string[] = [];
  let lastError: unknown;
  let inFlightWaits = 0;
  for (const node of target.nodes) {
    for (;;) {
      try {
        return { result: await work(clientFor({ ...target, node }), node), node };
      } catch (error) {
        lastError = error;
        if (kind === 'idempotent-write' && error instanceof RingkvIdempotencyKeyInFlightError && inFlightWaits < inFlightRetriesMax) {
          inFlightWaits++;
          await sleep(error.retryAfterMs);
          continue;
        }
        if (!mayFailOver(kind, error)) throw error instanceof RingkvError || error instanceof CommandFailure ? error : new CommandFailure(exitCodeOf(error), failureMessage(error, node));
        failures.push(`${node}: ${error instanceof RingkvError ? `${error.status} ${error.problem.detail}` : (error as Error).message}`);
        break;
      }
    }
  }
  if (target.nodes.length === 1) throw lastError;
  const code: ExitCode = lastError instanceof RingkvError || neverSent(lastError) ? exitCodes.unavailable : exitCodes.outcomeUnknown;
  throw new CommandFailure(code, `no node could serve the request: ${failures.join('; ')}`, lastError instanceof RingkvError ? lastError.status : undefined);
}

/** Whether a request that failed this way may go to the next node. */
function mayFailOver(kind: FailoverKind, error: unknown): boolean {
  if (neverSent(error)) return true;
  // A conditional write's answer goes back to the user, who re-reads and decides (client retry-policy.ts, mayRetryConditional).
  if (kind !== 'conditional-write' && error instanceof RingkvError && error.status === 503) return true;
  const mayRepeat = kind === 'read' || kind === 'idempotent-write';
  return mayRepeat && (timedOut(error) || (error instanceof RingkvError && error.status === 504));
}

function printJson(io: DataOutput, document: unknown): void {
  io.out.write(`${JSON.stringify(document)}\n`);
}

/** Prints the value as JSON and its version; exit 1 (and says so) when the key is absent or deleted. */
export async function getCommand(target: DataTarget, key: string, r: string | undefined, io: DataOutput): Promise<number> {
  const { result: found } = await withFailover(target, 'read', (client) => client.get(key, readLevelOf(r)));
  if (found === null) throw new CommandFailure(exitCodes.notFound, `key ${JSON.stringify(key)} does not exist (or was deleted)`, 404);
  if (io.json) printJson(io, { key, value: found.value, version: found.version, ...expiresAtOf(found) });
  else {
    io.out.write(`${JSON.stringify(found.value)}\n`);
    io.err.write(`version ${found.version}\n`);
    if (found.expiresAt !== undefined) io.err.write(`expires at ${expiryText(found.expiresAt)}\n`);
  }
  return exitCodes.ok;
}

/** Stores the value (only if `condition` holds, when one is given) and prints its version; a refused condition exits 3. */
export async function putCommand(target: DataTarget, key: string, value: unknown, w: string | undefined, io: DataOutput, flags: PutFlags = {}): Promise<number> {
  const kind = checkCondition(flags, w);
  const conditional = flags.ifMatch !== undefined || flags.ifNoneMatch === true;
  const options = { ...(flags.ttl !== undefined ? { ttl: flags.ttl } : {}), ...(flags.idempotencyKey !== undefined ? { idempotencyKey: flags.idempotencyKey } : {}) };
  const { result: receipt } = await withFailover(target, kind, (client) => {
    if (flags.ifMatch !== undefined) return client.putIfMatch(key, value, flags.ifMatch, options);
    return flags.ifNoneMatch === true ? client.createIfAbsent(key, value, options) : client.put(key, value, { ...options, w: levelOf(w) });
  });
  if (io.json) printJson(io, { key, version: receipt.body.version, acks: receipt.acks, ...expiresAtOf(receipt.body), ...replayedOf(receipt) });
  else {
    io.out.write(`${receipt.body.version}\n`);
    if (receipt.replayed) io.err.write(`${replayedText(key, 'stored')}\n`);
    else io.err.write(`stored ${JSON.stringify(key)} on ${replicasText(receipt.acks, conditional || kind === 'idempotent-write', conditional)}\n`);
    if (receipt.body.expiresAt !== undefined) io.err.write(`expires at ${expiryText(receipt.body.expiresAt)}\n`);
  }
  return exitCodes.ok;
}

/** Deletes the key (only if it is still at `condition.ifMatch`, when given) and prints the tombstone's version. */
export async function deleteCommand(target: DataTarget, key: string, w: string | undefined, io: DataOutput, condition: Pick<WriteConditionFlags, 'ifMatch' | 'idempotencyKey'> = {}): Promise<number> {
  const kind = checkCondition(condition, w);
  const conditional = condition.ifMatch !== undefined;
  const options = condition.idempotencyKey !== undefined ? { idempotencyKey: condition.idempotencyKey } : {};
  const { result: receipt } = await withFailover(target, kind, (client) =>
    condition.ifMatch !== undefined ? client.deleteIfMatch(key, condition.ifMatch, options) : client.delete(key, { ...options, w: levelOf(w) }),
  );
  if (io.json) printJson(io, { key, deleted: true, version: receipt.body.version, acks: receipt.acks, ...replayedOf(receipt) });
  else {
    io.out.write(`${receipt.body.version}\n`);
    if (receipt.replayed) io.err.write(`${replayedText(key, 'deleted')}\n`);
    else io.err.write(`deleted ${JSON.stringify(key)} on ${replicasText(receipt.acks, conditional || kind === 'idempotent-write', conditional)}\n`);
  }
  return exitCodes.ok;
}

/** `majority`: a majority of the key's replicas decided it (a condition or an Idempotency-Key). */
function replicasText(acks: number, majority: boolean, conditional: boolean): string {
  const replicas = `${acks} replica${acks === 1 ? '' : 's'}`;
  if (!majority) return replicas;
  return `at least ${replicas} (a majority${conditional ? '; the condition held' : ''})`;
}

function replayedText(key: string, done: 'stored' | 'deleted'): string {
  return `already ${done} ${JSON.stringify(key)} by an earlier request with this --idempotency-key: its outcome is shown, nothing new was written`;
}

function expiresAtOf(stored: Pick<StoredValue, 'expiresAt'>): { expiresAt?: string } {
  return stored.expiresAt === undefined ? {} : { expiresAt: stored.expiresAt };
}

function replayedOf(receipt: { replayed: boolean }): { replayed?: true } {
  return receipt.replayed ? { replayed: true } : {};
}

/** `2026-11-29T08:00:00.000Z (in 1 h 0 min)`: the node's time, and how far it is by this machine's clock. */
export function expiryText(expiresAt: string, nowMs = Date.now()): string {
  const expiresAtMs = Date.parse(expiresAt);
  if (Number.isNaN(expiresAtMs)) return expiresAt;
  const seconds = Math.round((expiresAtMs - nowMs) / 1000);
  return seconds >= 0 ? `${expiresAt} (in ${durationText(seconds)})` : `${expiresAt} (${durationText(-seconds)} ago)`;
}

/** The two largest units of a duration: `59 s`, `1 h 0 min`, `2 d 3 h`. */
function durationText(totalSeconds: number): string {
  const units: Array<[number, string]> = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const first = units.findIndex(([size]) => totalSeconds >= size);
  if (first === -1) return '0 s';
  const [size, unit] = units[first]!;
  const next = units[first + 1];
  const head = `${Math.floor(totalSeconds / size)} ${unit}`;
  return next === undefined ? head : `${head} ${Math.floor((totalSeconds % size) / next[0])} ${next[1]}`;
}

/** Whose keys `ls` lists: the asked node's own replicas (the default), or the whole cluster's (GET /cluster/keys). */
export type ListScope = 'node' | 'cluster';

/** Keys asked for per page of `ls --cluster`: the most a node gives in one page. */
const clusterListPageKeys = 1000;

/** The live keys one node stores (its own replicas), or with scope `cluster` every live key of the cluster, one per line. */
export async function listCommand(target: DataTarget, prefix: string, io: DataOutput, scope: ListScope = 'node'): Promise<number> {
  if (scope === 'cluster') return listClusterCommand(target, prefix, io);
  const { result: keys, node } = await withFailover(target, 'read', (client) => client.allKeys(prefix));
  if (io.json) printJson(io, { node: nodeUrl(node, target.caPem !== undefined), scope: 'node', prefix, keys });
  else for (const key of keys) io.out.write(`${key}\n`);
  return exitCodes.ok;
}

/**
 * Every live key of the cluster, page after page until the cursor is null. Each page may come
 * from another --node (the cursor goes on through any), and text is printed as each page
 * arrives, so a long listing shows at once and a failure midway leaves the keys before it.
 */
async function listClusterCommand(target: DataTarget, prefix: string, io: DataOutput): Promise<number> {
  const keys: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < scanPagesMaxDefault; page++) {
    const asked: string | null = cursor;
    const { result } = await withFailover(target, 'read', (client): Promise<ClusterKeysPage> => client.clusterKeys({ prefix, limit: clusterListPageKeys, cursor: asked }));
    if (io.json) keys.push(...result.keys);
    else if (result.keys.length > 0) io.out.write(`${result.keys.join('\n')}\n`);
    if (result.nextCursor === null) {
      if (io.json) printJson(io, { scope: 'cluster', prefix, keys });
      return exitCodes.ok;
    }
    if (result.nextCursor === asked) throw new CommandFailure(exitCodes.unavailable, 'a node answered the cursor it was given as the next one: the listing would not advance; is it another ringkv release?');
    cursor = result.nextCursor;
  }
  throw new CommandFailure(exitCodes.unavailable, `the listing did not end within ${scanPagesMaxDefault} pages of ${clusterListPageKeys} keys; narrow it with --prefix`);
}

/** The members, their state and ring status, and the ring's: a table, or /cluster as JSON. */
export async function statusCommand(target: DataTarget, io: DataOutput): Promise<number> {
  const { result: cluster, node } = await withFailover(target, 'read', (client) => client.cluster());
  if (io.json) printJson(io, cluster);
  else io.out.write(statusTable(cluster, node));
  return exitCodes.ok;
}

/** `ringkv status` for people: one line on the cluster, then a row per member. */
export function statusTable(cluster: ClusterInfo, askedNode: string): string {
  const up = cluster.members.filter((member) => member.state === 'up').length;
  const header = `cluster ${cluster.clusterName} (asked ${askedNode}): ${cluster.members.length} member${cluster.members.length === 1 ? '' : 's'}, ${up} up, N=${cluster.replicas}, ${cluster.rebalancing ? 'data moving (ringkv jobs --watch)' : 'ring stable'}\n`;
  const rows = [['NODE', 'ADDRESS', 'STATE', 'RING', 'SHARE'], ...cluster.members.map((member) => [member.nodeId, member.address, member.state, member.ringStatus, `${(member.ringShare * 100).toFixed(1)}%`])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return header + rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n';
}
