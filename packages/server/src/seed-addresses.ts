// Seeds as host names (`--seeds ringkv-0.ringkv-peers:8000,...`). The core matches seeds
// with members by comparing address strings (a seed is known once some member advertises
// exactly that address, and a node skips a seed equal to its own address), so the shell
// resolves names first and hands the core seeds in the form members advertise:
//
// - a node that advertises an IP address gets every address a seed name resolves to (a
//   headless Service name resolves to every pod), of the same IP family as its own;
// - a node that advertises a host name keeps seeds as given: its peers advertise names too.
//
// Either way a seed that resolves only to this node's own advertised address is dropped:
// a StatefulSet gives every pod the same seed list, its own name included. In Kubernetes
// the DNS records of pods appear as the pods start, so names that do not resolve yet are
// retried for a bounded time, then kept as given (the transport resolves again on connect).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** Splits `host:port` or `[v6]:port`. Throws when there is no port. */
export function splitHostPort(address: string): HostPort {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) throw new Error(`"${address}" is not host:port`);
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

/** `host:port`, with an IPv6 address in brackets. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A seed as given, and the addresses its host resolved to (undefined: it did not resolve). */
export interface ResolvedSeed {
  given: string;
  port: number;
  addresses: readonly string[] | undefined;
}

/** This node as peers reach it: the advertised host, its port, and the addresses the host resolves to. */
export interface SelfAddress {
  advertise: string;
  port: number;
  addresses: readonly string[];
}

/**
 * The seeds to hand the core (pure): in the form members advertise, without this node's
 * own address, each once, in the order given. `dropped` lists the seeds that named this node.
 */
export function seedsForCore(seeds: readonly ResolvedSeed[], self: SelfAddress): { seeds: string[]; dropped: string[] } {
  const selfFamily = isIP(self.advertise);
  const selfEndpoints = new Set([self.advertise, ...self.addresses].map((host) => joinHostPort(host, self.port)));
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const seed of seeds) {
    const endpoints = (seed.addresses ?? []).map((address) => joinHostPort(address, seed.port));
    const namesSelf = selfEndpoints.has(seed.given) || (endpoints.length > 0 && endpoints.every((endpoint) => selfEndpoints.has(endpoint)));
    if (namesSelf) {
      dropped.push(seed.given);
      continue;
    }
    if (selfFamily === 0 || seed.addresses === undefined) {
      kept.push(seed.given);
      continue;
    }
    // An IPv4 node's peers advertise IPv4: `localhost` also resolving to ::1 must not add a
    // seed no member will ever advertise (the core waits for every seed to become a member).
    const sameFamily = seed.addresses.filter((address) => isIP(address) === selfFamily);
    for (const address of sameFamily.length > 0 ? sameFamily : seed.addresses) {
      const endpoint = joinHostPort(address, seed.port);
      if (!selfEndpoints.has(endpoint)) kept.push(endpoint);
    }
  }
  return { seeds: [...new Set(kept)], dropped };
}

/** Every address `host` resolves to; an IP address is its own. */
export type HostLookup = (host: string) => Promise<string[]>;

export const systemLookup: HostLookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

export interface SeedResolutionOptions {
  /** How long to keep retrying names that do not resolve yet; then they are kept as given. */
  waitMsMax: number;
  /** Pause between rounds of lookups. */
  retryMs: number;
  /** One lookup may take at most this long (a resolver that does not answer counts as not resolved). */
  lookupTimeoutMs: number;
  lookup: HostLookup;
  log: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

/** Resolves the seeds' host names and this node's advertised host, then picks the seeds for the core. */
export async function resolveSeeds(seeds: readonly string[], self: HostPort, options: SeedResolutionOptions): Promise<string[]> {
  if (seeds.length === 0) return [];
  const parsed = seeds.map((given) => ({ given, ...splitHostPort(given) }));
  const names = [...new Set([self.host, ...parsed.map((seed) => seed.host)])];
  const resolved = await resolveNames(names, options);
  const chosen = seedsForCore(
    parsed.map((seed) => ({ given: seed.given, port: seed.port, addresses: resolved.get(seed.host) })),
    { advertise: self.host, port: self.port, addresses: resolved.get(self.host) ?? [] },
  );
  if (chosen.dropped.length > 0) options.log.info({ seeds: chosen.dropped }, 'seeds naming this node itself are skipped');
  if (chosen.seeds.join(',') !== seeds.join(',')) options.log.info({ given: seeds, seeds: chosen.seeds }, 'seeds resolved');
  return chosen.seeds;
}

/** Looks every name up, retrying those that fail until `waitMsMax` has passed. */
async function resolveNames(names: readonly string[], options: SeedResolutionOptions): Promise<Map<string, string[]>> {
  const resolved = new Map<string, string[]>();
  for (const name of names) if (isIP(name) !== 0) resolved.set(name, [name]);
  const deadlineMs = performance.now() + options.waitMsMax;
  const roundsMax = Math.ceil(options.waitMsMax / Math.max(1, options.retryMs)) + 1;
  for (let round = 0; round < roundsMax; round++) {
    const pending = names.filter((name) => !resolved.has(name));
    if (pending.length === 0) break;
    await Promise.all(
      pending.map(async (name) => {
        const addresses = await lookupWithin(name, options).catch(() => []);
        if (addresses.length > 0) resolved.set(name, addresses);
      }),
    );
    const unresolved = names.filter((name) => !resolved.has(name));
    if (unresolved.length === 0) break;
    if (performance.now() + options.retryMs > deadlineMs) {
      options.log.warn({ names: unresolved, waitedMs: options.waitMsMax }, 'host names still do not resolve; using them as given (the transport resolves again on connect)');
      break;
    }
    if (round === 0) options.log.info({ names: unresolved, retryMs: options.retryMs, waitMsMax: options.waitMsMax }, 'waiting for host names to resolve (their DNS records may appear as their nodes start)');
    await new Promise((resolve) => setTimeout(resolve, options.retryMs));
  }
  return resolved;
}

function lookupWithin(name: string, options: SeedResolutionOptions): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer for ${name} within ${options.lookupTimeoutMs} ms`)), options.lookupTimeoutMs);
  });
  return Promise.race([options.lookup(name), timeout]).finally(() => clearTimeout(timer));
}
