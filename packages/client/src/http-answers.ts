// Reading a node's answers, shared by the one-node client and the cluster client: the
// store paths with their consistency query, the acks header, and the problem+json body
// of an error answer (or a description of an answer that is not one).
import type { ConsistencyLevel, Problem, ReadLevel } from './types.js';

export function storePath(key: string, name: 'r' | 'w', level: ConsistencyLevel | ReadLevel | undefined): string {
  const path = `/store/${encodeURIComponent(key)}`;
  return level === undefined ? path : `${path}?${name}=${encodeURIComponent(String(level))}`;
}

export function acksOf(response: Pick<Response, 'headers'>): number {
  return Number(response.headers.get('x-ringkv-acks') ?? '0');
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
