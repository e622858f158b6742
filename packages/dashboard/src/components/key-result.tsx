// The explorer's answer for one key: the value read (and when it expires, counted down
// each second), its owners in preference order, and the version each replica holds
// compared with the one read; a copy whose ttl has passed is marked expired.
import { useEffect, useState } from 'react';
import type { KeyReplicas, StoredValue } from '@ringkv/client';
import type { KeyLookup } from '../hooks/use-key-lookup';
import { expiryPhrase } from '../lib/expiry';
import { formatJsonValue } from '../lib/json-value';
import { currentCopyCount, isDiscrepancy, judgeReplicas, type CopyAgreement } from '../lib/replica-agreement';
import { NodeName } from './node-swatch';
import { EmptyMessage, ErrorMessage, LoadingMessage } from './state-message';

interface KeyResultProps {
  lookup: KeyLookup;
  colors: ReadonlyMap<string, string>;
}

export function KeyResult({ lookup, colors }: KeyResultProps) {
  if (lookup.kind === 'idle') {
    return <EmptyMessage>Enter a key and choose Look up, or pick one from the list of stored keys.</EmptyMessage>;
  }
  if (lookup.kind === 'loading') return <LoadingMessage>Looking up {lookup.key}…</LoadingMessage>;
  return (
    <div className="key-result" data-testid="explorer-result" aria-live="polite">
      <h3>
        <code>{lookup.key}</code>
      </h3>
      {lookup.refusal !== null && (
        <p className="message message-warning" role="alert" data-testid="explorer-refusal">
          {lookup.refusal}
        </p>
      )}
      {(lookup.refusal === null || lookup.readError !== null || lookup.stored !== undefined) && (
        <ReadOutcome stored={lookup.stored} readError={lookup.readError} />
      )}
      {lookup.replicasError !== null && <ErrorMessage>Could not ask the replicas: {lookup.replicasError}</ErrorMessage>}
      {lookup.replicas !== null && (
        <ReplicaTable
          replicas={lookup.replicas}
          readVersion={lookup.readError !== null ? undefined : (lookup.stored?.version ?? null)}
          colors={colors}
        />
      )}
    </div>
  );
}

function ReadOutcome({ stored, readError }: { stored: StoredValue | null | undefined; readError: string | null }) {
  if (readError !== null) return <ErrorMessage testId="explorer-read-error">Read failed: {readError}</ErrorMessage>;
  if (stored === undefined) return <p className="hint">Deleted; the replicas below show their tombstones.</p>;
  if (stored === null) return <EmptyMessage>Not found: no live value for this key.</EmptyMessage>;
  return (
    <dl className="facts">
      <dt>Version</dt>
      <dd>
        <code data-testid="explorer-result-version">{stored.version}</code>
      </dd>
      <dt>Expires</dt>
      <dd data-testid="explorer-result-expiry">{stored.expiresAt === undefined ? 'never' : <ExpiresAt expiresAt={stored.expiresAt} />}</dd>
      <dt>Value</dt>
      <dd>
        <pre className="json-value" data-testid="explorer-result-value">
          {formatJsonValue(stored.value)}
        </pre>
      </dd>
    </dl>
  );
}

/** `2026-11-29T08:00:00.000Z · expires in 59 s`, the phrase kept current once a second. */
function ExpiresAt({ expiresAt }: { expiresAt: string }) {
  const nowMs = useNowMs(1000);
  return (
    <>
      <time dateTime={expiresAt} data-testid="explorer-result-expires-at">
        {expiresAt}
      </time>{' '}
      · <span data-testid="explorer-result-expires-in">{expiryPhrase(expiresAt, nowMs)}</span>
    </>
  );
}

/** The viewer's clock, read again every `intervalMs` while the component is shown. */
function useNowMs(intervalMs: number): number {
  const [nowMs, setNowMs] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNowMs(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return nowMs;
}

const agreementText: Record<CopyAgreement, string> = {
  current: 'same as read',
  differs: 'differs from read',
  held: 'holds a copy (no read to compare)',
  missing: 'holds nothing',
  unreachable: 'did not answer',
  deleted: 'tombstone',
  expired: 'expired: its ttl has passed (counts as a delete)',
};

/** A row's classes: a discrepancy stands out; an expired copy's version is struck through. */
function rowClassOf(agreement: CopyAgreement, readVersion: string | null | undefined): string | undefined {
  const classes = [isDiscrepancy(agreement, readVersion) ? 'replica-discrepancy' : null, agreement === 'expired' ? 'replica-expired' : null].filter((name) => name !== null);
  return classes.length === 0 ? undefined : classes.join(' ');
}

interface ReplicaTableProps {
  replicas: KeyReplicas;
  readVersion: string | null | undefined;
  colors: ReadonlyMap<string, string>;
}

function ReplicaTable({ replicas, readVersion, colors }: ReplicaTableProps) {
  const verdicts = judgeReplicas(replicas.owners, replicas.replicas, readVersion);
  return (
    <>
      <p className="replica-summary" data-testid="explorer-replica-summary">
        Owners in preference order:{' '}
        <span data-testid="explorer-owners">{replicas.owners.join(' → ')}</span>
        {typeof readVersion === 'string' && (
          <>
            {' '}· {currentCopyCount(verdicts)} of {replicas.replicas.length} copies hold the version read
          </>
        )}
      </p>
      <div className="table-scroll">
        <table className="data-table compact" data-testid="replica-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Replica</th>
              <th scope="col">Status</th>
              <th scope="col">Version held</th>
              <th scope="col">Expires at</th>
              <th scope="col">Compared with read</th>
            </tr>
          </thead>
          <tbody>
            {verdicts.map(({ copy, preferenceIndex, agreement }) => (
              <tr
                key={copy.nodeId}
                data-testid={`replica-row-${copy.nodeId}`}
                className={rowClassOf(agreement, readVersion)}
                data-expired={copy.expired === true ? 'true' : undefined}
              >
                <td>{preferenceIndex === -1 ? '–' : preferenceIndex + 1}</td>
                <th scope="row">
                  <NodeName nodeId={copy.nodeId} colors={colors} />
                  {preferenceIndex === 0 && <span className="tag">primary</span>}
                </th>
                <td>{copy.status}</td>
                <td>
                  <code data-testid={`replica-version-${copy.nodeId}`}>{copy.version ?? '–'}</code>
                  {copy.expired === true && <span className="tag tag-expired">expired</span>}
                </td>
                <td data-testid={`replica-expires-${copy.nodeId}`}>{copy.expiresAt === undefined ? '–' : <time dateTime={copy.expiresAt}>{copy.expiresAt}</time>}</td>
                <td data-testid={`replica-agreement-${copy.nodeId}`}>{agreementText[agreement]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
