// Section 7: the live change feed of a prefix (GET /watch). The SDK's watch reads the event
// stream with fetch, not EventSource, so the signed-in token is sent and a 401 ends the
// session like any other request; it resumes by itself after a broken stream. Pause stops
// the stream but keeps the cursor, and Resume continues after it, so nothing is missed.
import { useEffect, useReducer, useState, type FormEvent } from 'react';
import { changesShownMax, describeFeed, feedReducer, initialFeed, type ChangeKind, type ChangeRow } from '../lib/change-feed';
import { formatClockTime, formatCount } from '../lib/format';
import { useDashboardSession } from '../session-context';
import { Section } from './section';
import { EmptyMessage } from './state-message';

const kindTitles: Record<ChangeKind, string> = {
  put: 'a new value',
  delete: 'deleted',
  expired: 'its ttl ran out',
};

const kindClasses: Record<ChangeKind, string> = {
  put: 'state-up',
  delete: 'state-down',
  expired: 'state-suspect',
};

export function ChangesPanel({ servingNode }: { servingNode: string | null }) {
  const { api, identity } = useDashboardSession();
  const client = api.client;
  const [prefixText, setPrefixText] = useState(identity.prefix ?? '');
  const [feed, dispatch] = useReducer(feedReducer, initialFeed);
  const request = feed.request;

  // One watch per request: pausing or starting again aborts the previous one (its late reports carry an old run and are ignored).
  useEffect(() => {
    if (request === null) return;
    const controller = new AbortController();
    const { run, prefix, since } = request;
    const follow = async () => {
      try {
        const changes = client.watch({ prefix, signal: controller.signal, onStatus: (status) => dispatch({ type: 'status', run, status }), ...(since === null ? {} : { since }) });
        for await (const event of changes) dispatch({ type: 'event', run, event, receivedAtMs: Date.now() });
      } catch (error) {
        if (!controller.signal.aborted) dispatch({ type: 'ended', run, error });
      }
    };
    void follow();
    return () => controller.abort();
  }, [client, request]);

  const start = (event: FormEvent) => {
    event.preventDefault();
    dispatch({ type: 'start', prefix: prefixText });
  };
  const running = request !== null;
  const statusClass = feed.phase === 'failed' || feed.phase === 'expired' ? 'message message-error' : feed.phase === 'reconnecting' ? 'message message-warning' : 'message';

  return (
    <Section
      id="changes"
      title="Changes"
      description="Every put, delete and expiry under a prefix, cluster-wide, as it happens (GET /watch through the node serving this page). Per key, changes arrive in version order; across keys no order is promised."
    >
      <div data-testid="changes-panel">
        <form className="field-row" onSubmit={start} aria-label="Watch changes by prefix">
          <div className="field field-grow">
            <label htmlFor="changes-prefix">Prefix</label>
            <input id="changes-prefix" data-testid="changes-prefix" value={prefixText} onChange={(event) => setPrefixText(event.target.value)} autoComplete="off" spellCheck={false} placeholder="empty: every key" />
          </div>
          <button type="submit" data-testid="changes-start" title="Watch this prefix from now (the list starts empty)">
            {feed.phase === 'expired' ? 'Start fresh' : 'Start'}
          </button>
        </form>
        <div className="button-row">
          <button type="button" className="secondary" data-testid="changes-pause" disabled={!running} onClick={() => dispatch({ type: 'pause' })} title="Stop the stream; the cursor is kept">
            Pause
          </button>
          <button type="button" className="secondary" data-testid="changes-resume" disabled={feed.phase !== 'paused'} onClick={() => dispatch({ type: 'resume' })} title="Continue after the last change shown">
            Resume
          </button>
          <button type="button" className="secondary" data-testid="changes-clear" disabled={feed.rows.length === 0} onClick={() => dispatch({ type: 'clear' })}>
            Clear
          </button>
          {feed.received > 0 && (
            <span className="muted" data-testid="changes-count">
              {formatCount(feed.received)} changes since Start{feed.received > changesShownMax ? `, the latest ${changesShownMax} shown` : ''}
            </span>
          )}
        </div>
        <p className={statusClass} role="status" aria-live="polite" data-testid="changes-status" data-phase={feed.phase} title={feed.cursor ?? undefined}>
          {describeFeed(feed, servingNode)}
        </p>
        {feed.phase === 'expired' && (
          <div className="button-row">
            <button type="button" data-testid="changes-start-fresh" onClick={() => dispatch({ type: 'start', prefix: feed.prefix })}>
              Start fresh from now
            </button>
          </div>
        )}
        <ChangeList rows={feed.rows} started={feed.phase !== 'idle'} />
      </div>
    </Section>
  );
}

function ChangeList({ rows, started }: { rows: readonly ChangeRow[]; started: boolean }) {
  if (rows.length === 0) return <EmptyMessage testId="changes-empty">{started ? 'No changes yet: they appear here as keys under the prefix are written.' : 'Start a watch to see changes.'}</EmptyMessage>;
  return (
    <div className="table-scroll changes-scroll">
      <table className="data-table compact" data-testid="changes-list">
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Change</th>
            <th scope="col">Key</th>
            <th scope="col">Version</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.sequence} data-testid="changes-row" data-kind={row.kind} data-key={row.key} title={`cursor ${row.cursor}`}>
              <td>
                <time dateTime={new Date(row.receivedAtMs).toISOString()}>{formatClockTime(row.receivedAtMs)}</time>
              </td>
              <td>
                <span className={`state ${kindClasses[row.kind]}`} title={kindTitles[row.kind]}>
                  {row.kind}
                </span>
              </td>
              <td>
                <code>{row.key}</code>
              </td>
              <td>
                <code>{row.version}</code>
              </td>
              <td className="changes-value">{row.kind === 'put' ? <code>{row.preview}</code> : <span className="muted">–</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
