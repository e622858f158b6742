// The explorer's answer for one key: the value read, its owners in preference order,
// and the version each replica holds compared with the one read.
import type { KeyReplicas, StoredValue } from '@ringkv/client';
import type { KeyLookup } from '../hooks/use-key-lookup';
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
      <dt>Value</dt>
      <dd>
        <pre className="json-value" data-testid="explorer-result-value">
          {formatJsonValue(stored.value)}
        </pre>
      </dd>
    </dl>
  );
}

const agreementText: Record<CopyAgreement, string> = {
  current: 'same as read',
  differs: 'differs from read',
  held: 'holds a copy (no read to compare)',
  missing: 'holds nothing',
  unreachable: 'did not answer',
  deleted: 'tombstone',
};

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
              <th scope="col">Compared with read</th>
            </tr>
          </thead>
          <tbody>
            {verdicts.map(({ copy, preferenceIndex, agreement }) => (
              <tr
                key={copy.nodeId}
                data-testid={`replica-row-${copy.nodeId}`}
                className={isDiscrepancy(agreement, readVersion) ? 'replica-discrepancy' : undefined}
              >
                <td>{preferenceIndex === -1 ? '–' : preferenceIndex + 1}</td>
                <th scope="row">
                  <NodeName nodeId={copy.nodeId} colors={colors} />
                  {preferenceIndex === 0 && <span className="tag">primary</span>}
                </th>
                <td>{copy.status}</td>
                <td>
                  <code data-testid={`replica-version-${copy.nodeId}`}>{copy.version ?? '–'}</code>
                </td>
                <td data-testid={`replica-agreement-${copy.nodeId}`}>{agreementText[agreement]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
