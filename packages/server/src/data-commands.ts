// The CLI's data commands: `ringkv get`, `put` and `delete` of one key, and `ringkv keys`,
// each through one node's REST API (any node serves any key), with the same `--node`,
// `--token` and `--ca` as the ring commands. Values are JSON: `put` takes its value as
// JSON text, and text that is not JSON is stored as a string, as a shell user means it.
import type { ConsistencyLevel } from '@ringkv/client';
import { clientFor, type ApiTarget } from './ring-commands.js';

export interface DataOutput {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** A consistency level as typed (`one`, `quorum`, `all` or a count); the node checks it. */
export function levelOf(text: string | undefined): ConsistencyLevel | undefined {
  if (text === undefined) return undefined;
  return /^[0-9]+$/.test(text) ? Number(text) : (text as ConsistencyLevel);
}

/** The value a shell argument stands for: JSON when it parses, else the text itself. */
export function valueOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Prints the value as JSON and its version; exit 1 (and says so) when the key is absent or deleted. */
export async function getCommand(target: ApiTarget, key: string, r: string | undefined, io: DataOutput): Promise<number> {
  const found = await clientFor(target).get(key, levelOf(r));
  if (found === null) {
    io.err.write(`ringkv: key ${JSON.stringify(key)} does not exist (or was deleted)\n`);
    return 1;
  }
  io.out.write(`${JSON.stringify(found.value)}\n`);
  io.err.write(`version ${found.version}\n`);
  return 0;
}

export async function putCommand(target: ApiTarget, key: string, value: string, w: string | undefined, io: DataOutput): Promise<number> {
  const receipt = await clientFor(target).put(key, valueOf(value), levelOf(w));
  io.out.write(`${receipt.body.version}\n`);
  io.err.write(`stored ${JSON.stringify(key)} on ${receipt.acks} replica${receipt.acks === 1 ? '' : 's'}\n`);
  return 0;
}

export async function deleteCommand(target: ApiTarget, key: string, w: string | undefined, io: DataOutput): Promise<number> {
  const receipt = await clientFor(target).delete(key, levelOf(w));
  io.out.write(`${receipt.body.version}\n`);
  io.err.write(`deleted ${JSON.stringify(key)} on ${receipt.acks} replica${receipt.acks === 1 ? '' : 's'}\n`);
  return 0;
}

/** The live keys the asked node stores (its own replicas, not the whole cluster), one per line. */
export async function keysCommand(target: ApiTarget, prefix: string, io: DataOutput): Promise<number> {
  for (const key of await clientFor(target).allKeys(prefix)) io.out.write(`${key}\n`);
  return 0;
}
