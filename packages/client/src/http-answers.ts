// Reading a node's answers, shared by the one-node client and the cluster client: the
// store paths with their query (consistency level, ttl), the acks and Idempotent-Replayed
// headers, the wait a 409 asks for, and the problem+json body of an error answer (or a
// description of an answer that is not one).
import type { ConsistencyLevel, Problem, ReadLevel } from './types.js';

export function storePath(key: string, name: 'r' | 'w', level: ConsistencyLevel | ReadLevel | undefined): string {
  return storePathWithQuery(key, { [name]: level });
}

/**
 * /store/{key} with the query members that are set, in the order given (`{ w, ttl }` for a
 * put). A ttl is sent as given: the node checks its range and says what to change.
 */
export function storePathWithQuery(key: string, query: Readonly<Record<string, ConsistencyLevel | ReadLevel | undefined>>): string {
  const path = `/store/${encodeURIComponent(key)}`;
  const parts = Object.entries(query).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${encodeURIComponent(String(value))}`]));
  return parts.length === 0 ? path : `${path}?${parts.join('&')}`;
}

export function acksOf(response: Pick<Response, 'headers'>): number {
  return Number(response.headers.get('x-ringkv-acks') ?? '0');
}

/** True when the node answered a retry with the outcome remembered for its Idempotency-Key. */
export function replayedOf(headers: Pick<Headers, 'get'>): boolean {
  return headers.get('idempotent-replayed')?.trim().toLowerCase() === 'true';
}

/**
 * The wait a Retry-After header asks for, in ms (delay-seconds form; an HTTP date is read
 * against `nowMs`), or `fallbackMs` when it is absent or unreadable.
 */
export function retryAfterMsOf(headers: Pick<Headers, 'get'>, fallbackMs: number, nowMs = Date.now()): number {
  const text = headers.get('retry-after')?.trim();
  if (text === undefined || text === '') return fallbackMs;
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  return Number.isNaN(dateMs) ? fallbackMs : Math.max(0, dateMs - nowMs);
}

export async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (typeof parsed.title === 'string') {
      return { type: 'about:blank', detail: '', ...parsed, status: response.status } as Problem;
    }
  } catch {
    // Not JSON: fall through and describe the raw answer.
  }
  return {
    type: 'about:blank',
    title: response.statusText || 'Request failed',
    status: response.status,
    detail: text.slice(0, 500),
  };
}
