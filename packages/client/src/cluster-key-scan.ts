// Listing the whole cluster's keys (GET /cluster/keys), shared by the one-node client and the
// cluster client: the request's path, and the iterator that follows nextCursor to the last
// page. A page may hold fewer keys than asked (even none) and still have a next one, since a
// node stops walking after a bounded number of deleted keys; only a null cursor ends a scan.
import { scanPagesMaxDefault } from './client-limits.js';
import type { ClusterKeyItem, ClusterKeysPage, ReadLevel } from './types.js';

export interface ClusterKeysOptions {
  /** Only keys starting with this (a prefix-limited token must stay inside its own). */
  prefix?: string;
  /** Keys on the page at most, 1..1000 (the node's default is 100). */
  limit?: number;
  /** nextCursor of the previous page; absent or null for the first. */
  cursor?: string | null;
  /** Add `items`: each listed key's value and version, read at `r`. */
  values?: boolean;
  /** With `values`, the read's level (default quorum), or `serial`. */
  r?: ReadLevel;
}

export interface ScanKeysOptions {
  /** Keys asked for per request, 1..1000 (the node's default when absent). */
  pageSize?: number;
  /** Yield `{key, value, version, expiresAt?}` items instead of key strings. */
  values?: boolean;
  /** With `values`, the read's level. */
  r?: ReadLevel;
  /** Pages fetched at most before the scan throws; default scanPagesMaxDefault. */
  pagesMax?: number;
}

/** GET /cluster/keys with the query members that are set. */
export function clusterKeysPath(options: ClusterKeysOptions): string {
  const query = new URLSearchParams();
  if (options.prefix !== undefined && options.prefix !== '') query.set('prefix', options.prefix);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.cursor !== undefined && options.cursor !== null) query.set('cursor', options.cursor);
  if (options.values === true) query.set('values', 'true');
  if (options.r !== undefined) query.set('r', String(options.r));
  return query.size === 0 ? '/cluster/keys' : `/cluster/keys?${query.toString()}`;
}

/**
 * Every page of a scan, first to last, each fetched by `fetchPage` once the caller asks for
 * it (a consumer that stops early stops the scan). A node that hands back the cursor it was
 * given would loop forever; that, and more than `pagesMax` pages, throws instead.
 */
export async function* clusterKeyPages(
  fetchPage: (options: ClusterKeysOptions) => Promise<ClusterKeysPage>,
  prefix: string,
  options: ScanKeysOptions,
): AsyncGenerator<ClusterKeysPage, void, undefined> {
  const pagesMax = options.pagesMax ?? scanPagesMaxDefault;
  let cursor: string | null = null;
  for (let page = 0; page < pagesMax; page++) {
    const answer: ClusterKeysPage = await fetchPage({
      prefix,
      cursor,
      ...(options.pageSize === undefined ? {} : { limit: options.pageSize }),
      ...(options.values === true ? { values: true } : {}),
      ...(options.r === undefined ? {} : { r: options.r }),
    });
    yield answer;
    if (answer.nextCursor === null) return;
    if (answer.nextCursor === cursor) throw new Error(`the node answered the cursor it was given (${cursor}) as the next one: the scan would not advance`);
    cursor = answer.nextCursor;
  }
  throw new Error(`the scan of prefix ${JSON.stringify(prefix)} did not end within ${pagesMax} pages; pass a larger pagesMax or pageSize`);
}

/** The keys, or with `values` the items, of every page in order. */
export async function* clusterKeyEntries(pages: AsyncIterable<ClusterKeysPage>, values: boolean): AsyncGenerator<string | ClusterKeyItem, void, undefined> {
  for await (const page of pages) {
    if (!values) {
      yield* page.keys;
      continue;
    }
    // A node of another release may ignore values=true; keys without items would look like an empty scan.
    if (page.items === undefined) throw new Error('the node answered /cluster/keys?values=true without items: is it an older ringkv release?');
    yield* page.items;
  }
}
