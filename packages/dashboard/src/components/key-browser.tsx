// Pages through the live keys of the whole cluster by prefix (GET /cluster/keys), or with the
// switch those stored on the serving node only (GET /keys: its own replicas). A cluster page
// may hold fewer keys than asked, even none, and still have a next one (the node stops after
// walking many deleted keys), so only the cursor decides whether Next is offered. With a
// prefix-limited token the node itself leaves out every key outside the token's prefix,
// so the list is what the node answers; the page only says why it may look short.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { KeysPage } from '@ringkv/client';
import { describePrefix, describeRefusal } from '../lib/access';
import { describeError } from '../lib/error-text';
import { currentCursor, firstPageTrail, nextPage, pageNumber, previousPage, type PageTrail } from '../lib/page-trail';
import { useDashboardSession } from '../session-context';
import { EmptyMessage, ErrorMessage, LoadingMessage } from './state-message';

const pageSizes = [10, 25, 50, 100] as const;

type Listing = { kind: 'loading' } | { kind: 'done'; page: KeysPage } | { kind: 'error'; message: string };

/** Whose keys are listed: every node's (the default) or the serving node's own. */
type Scope = 'cluster' | 'node';

interface KeyBrowserProps {
  servingNode: string | null;
  onOpenKey: (key: string) => void;
}

export function KeyBrowser({ servingNode, onOpenKey }: KeyBrowserProps) {
  const { api, identity } = useDashboardSession();
  const client = api.client;
  const tokenReach = describePrefix(identity.prefix);
  const [prefixText, setPrefixText] = useState('');
  const [query, setQuery] = useState({ prefix: '', limit: 25 as number, scope: 'cluster' as Scope, trail: firstPageTrail });
  const [listing, setListing] = useState<Listing>({ kind: 'loading' });

  useEffect(() => {
    let current = true;
    setListing({ kind: 'loading' });
    const page = { limit: query.limit, prefix: query.prefix, cursor: currentCursor(query.trail) };
    (query.scope === 'cluster' ? client.clusterKeys(page) : client.keys(page))
      .then((page) => current && setListing({ kind: 'done', page }))
      .catch((error: unknown) => current && setListing({ kind: 'error', message: describeRefusal(error) ?? describeError(error) }));
    return () => {
      current = false;
    };
  }, [client, query]);

  const goTo = useCallback((trail: PageTrail) => setQuery((previous) => ({ ...previous, trail })), []);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setQuery((previous) => ({ ...previous, prefix: prefixText, trail: firstPageTrail }));
  };
  const nextCursor = listing.kind === 'done' ? listing.page.nextCursor : null;

  return (
    <div className="key-browser" data-testid="key-browser">
      <h3 data-testid="browse-heading">
        {query.scope === 'cluster' ? (
          'Keys in the cluster'
        ) : (
          <>
            Stored keys{servingNode !== null && <span className="muted"> on {servingNode}</span>}
          </>
        )}
      </h3>
      {tokenReach !== null && (
        <p className="hint" data-testid="browse-token-prefix">
          Your token reaches only {tokenReach}; the node lists no others.
        </p>
      )}
      <form className="field-row" onSubmit={submit} aria-label="Browse keys by prefix">
        <div className="field field-grow">
          <label htmlFor="browse-prefix">Prefix</label>
          <input id="browse-prefix" data-testid="browse-prefix" value={prefixText} onChange={(event) => setPrefixText(event.target.value)} autoComplete="off" spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="browse-limit">Per page</label>
          <select
            id="browse-limit"
            value={query.limit}
            onChange={(event) => setQuery((previous) => ({ ...previous, limit: Number(event.target.value), trail: firstPageTrail }))}
          >
            {pageSizes.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" data-testid="browse-list">
          List
        </button>
      </form>
      <label className="check-field" title="Lists GET /keys of the node serving this page: the keys it holds as a replica, not the whole cluster">
        <input
          type="checkbox"
          data-testid="browse-node-only"
          checked={query.scope === 'node'}
          onChange={(event) => setQuery((previous) => ({ ...previous, scope: event.target.checked ? 'node' : 'cluster', trail: firstPageTrail }))}
        />{' '}
        This node only{servingNode !== null && <span className="muted"> ({servingNode})</span>}
      </label>
      <KeyList listing={listing} prefix={query.prefix === '' ? (identity.prefix ?? '') : query.prefix} onOpenKey={onOpenKey} />
      <nav className="button-row pager" aria-label="Key pages">
        <button type="button" data-testid="browse-first" onClick={() => goTo(firstPageTrail)} disabled={pageNumber(query.trail) === 1}>
          First
        </button>
        <button type="button" data-testid="browse-previous" onClick={() => goTo(previousPage(query.trail))} disabled={pageNumber(query.trail) === 1}>
          Previous
        </button>
        <span className="pager-position" data-testid="browse-page">
          Page {pageNumber(query.trail)}
        </span>
        <button type="button" data-testid="browse-next" onClick={() => nextCursor !== null && goTo(nextPage(query.trail, nextCursor))} disabled={nextCursor === null}>
          Next
        </button>
      </nav>
    </div>
  );
}

function KeyList({ listing, prefix, onOpenKey }: { listing: Listing; prefix: string; onOpenKey: (key: string) => void }) {
  if (listing.kind === 'loading') return <LoadingMessage>Listing keys…</LoadingMessage>;
  if (listing.kind === 'error') return <ErrorMessage>Could not list keys: {listing.message}</ErrorMessage>;
  if (listing.page.keys.length === 0 && listing.page.nextCursor !== null) {
    return <EmptyMessage testId="browse-page-empty">No live keys on this page (the node passed over deleted ones); more may follow: Next.</EmptyMessage>;
  }
  if (listing.page.keys.length === 0) {
    return <EmptyMessage>{prefix === '' ? 'No keys stored yet.' : `No keys start with “${prefix}”.`}</EmptyMessage>;
  }
  return (
    <ul className="key-list" data-testid="browse-keys">
      {listing.page.keys.map((key) => (
        <li key={key}>
          <button type="button" className="link-button" data-testid={`browse-key-${key}`} onClick={() => onOpenKey(key)} title="Look up this key">
            {key}
          </button>
        </li>
      ))}
    </ul>
  );
}
