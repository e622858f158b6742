// The explorer's form: a key, a JSON value and a consistency level, with look-up,
// put and delete. Input problems are reported before anything is sent. A read-only
// token gets the look-up alone: the node would refuse its puts and deletes.
// "Only if unchanged" sends the version the last look-up loaded as If-Match (or
// If-None-Match: * when the key was absent), so a write never overwrites a change it
// did not see; a refusal (412) says what the key holds now and shows it. An optional TTL
// (seconds) makes the put expire; the outcome says when.
import { useState, type FormEvent } from 'react';
import type { ConsistencyLevel } from '@ringkv/client';
import type { LookupOptions } from '../hooks/use-key-lookup';
import { describeRefusal } from '../lib/access';
import { describeError } from '../lib/error-text';
import { expiryPhrase, parseTtl } from '../lib/expiry';
import { parseJsonValue } from '../lib/json-value';
import { keyProblem } from '../lib/key-name';
import { conditionFor, describeConditionRefused, isConditionRefused, unchangedLabel, type LoadedVersion } from '../lib/write-condition';
import { useDashboardSession } from '../session-context';
import { ConsistencySelect, type NamedLevel } from './consistency-select';

type Outcome = { tone: 'success' | 'error' | 'conflict'; text: string } | null;
type Action = 'lookup' | 'put' | 'delete';

interface KeyFormProps {
  keyText: string;
  onKeyChange: (key: string) => void;
  level: NamedLevel;
  onLevelChange: (level: NamedLevel) => void;
  onLookup: (key: string, level: ConsistencyLevel, options?: LookupOptions) => Promise<void>;
  /** What the last look-up read for this key; null when it read nothing for it. */
  loaded: LoadedVersion | null;
}

export function KeyForm({ keyText, onKeyChange, level, onLevelChange, onLookup, loaded }: KeyFormProps) {
  const { api, permissions } = useDashboardSession();
  const client = api.client;
  const [valueText, setValueText] = useState('');
  const [busy, setBusy] = useState<Action | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [onlyIfUnchanged, setOnlyIfUnchanged] = useState(false);
  const [ttlText, setTtlText] = useState('');
  const parsed = parseJsonValue(valueText);
  /** The condition writes carry now: only with the box ticked and a look-up of this key to compare with. */
  const condition = onlyIfUnchanged && loaded !== null ? conditionFor(loaded) : null;

  /** Runs one action with the busy flag set; input problems and API errors become the outcome. */
  const perform = async (action: Action, work: () => Promise<string | null>) => {
    const problem = keyProblem(keyText);
    if (problem !== null) return setOutcome({ tone: 'error', text: problem });
    setBusy(action);
    setOutcome(null);
    try {
      const text = await work();
      if (text !== null) setOutcome({ tone: 'success', text });
    } catch (error) {
      if (isConditionRefused(error) && loaded !== null) {
        setOutcome({ tone: 'conflict', text: describeConditionRefused(error, loaded) });
        // Show what the key holds now; the box then refers to that version.
        await onLookup(keyText, level).catch(() => undefined);
        return;
      }
      setOutcome({ tone: 'error', text: describeRefusal(error) ?? describeError(error) });
    } finally {
      setBusy(null);
    }
  };

  const lookup = (event?: FormEvent) => {
    event?.preventDefault();
    void perform('lookup', async () => {
      await onLookup(keyText, level);
      return null;
    });
  };

  const put = () => {
    if (!parsed.ok) return setOutcome({ tone: 'error', text: parsed.message });
    const ttl = parseTtl(ttlText);
    if (!ttl.ok) return setOutcome({ tone: 'error', text: ttl.message });
    const options = ttl.ttl === undefined ? {} : { ttl: ttl.ttl };
    void perform('put', async () => {
      if (condition !== null) {
        const receipt = condition.kind === 'if-match' ? await client.putIfMatch(keyText, parsed.value, condition.version, options) : await client.createIfAbsent(keyText, parsed.value, options);
        await onLookup(keyText, level);
        return `Stored version ${receipt.body.version}: the key was unchanged, and a majority of its replicas committed it (w does not apply to conditional writes).${expiryText(receipt.body.expiresAt)}`;
      }
      const receipt = await client.put(keyText, parsed.value, { w: level, ...options });
      await onLookup(keyText, level);
      return `Stored version ${receipt.body.version}; ${receipt.acks} replica(s) acknowledged (w=${level}).${expiryText(receipt.body.expiresAt)}`;
    });
  };

  const remove = () => {
    if (condition?.kind === 'if-absent') return setOutcome({ tone: 'error', text: 'Nothing to delete: the key was absent when loaded.' });
    void perform('delete', async () => {
      if (condition !== null) {
        const receipt = await client.deleteIfMatch(keyText, condition.version);
        await onLookup(keyText, level, { replicasOnly: true });
        return `Deleted; tombstone version ${receipt.body.version}: the key was unchanged, and a majority of its replicas committed it.`;
      }
      const receipt = await client.delete(keyText, level);
      await onLookup(keyText, level, { replicasOnly: true });
      return `Deleted; tombstone version ${receipt.body.version}; ${receipt.acks} replica(s) acknowledged (w=${level}).`;
    });
  };

  return (
    <form className="key-form" onSubmit={lookup} aria-label="Look up or write a key" noValidate>
      <div className="field-row">
        <div className="field field-grow">
          <label htmlFor="explorer-key">Key</label>
          <input
            id="explorer-key"
            data-testid="explorer-key"
            value={keyText}
            onChange={(event) => onKeyChange(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            placeholder="e.g. user:42"
          />
        </div>
        <ConsistencySelect id="explorer-consistency" value={level} onChange={onLevelChange} />
        <button type="submit" data-testid="explorer-get" disabled={busy !== null}>
          {busy === 'lookup' ? 'Looking up…' : 'Look up'}
        </button>
      </div>
      {permissions.write ? (
        <WriteControls
          valueText={valueText}
          onValueChange={setValueText}
          busy={busy}
          onPut={put}
          onDelete={remove}
          loaded={loaded}
          onlyIfUnchanged={onlyIfUnchanged}
          onOnlyIfUnchangedChange={setOnlyIfUnchanged}
          ttlText={ttlText}
          onTtlChange={setTtlText}
        />
      ) : (
        <p className="hint" data-testid="explorer-read-only">
          Your token has the <strong>read</strong> role: look-ups only. Putting and deleting keys needs a write or admin token.
        </p>
      )}
      {outcome !== null && (
        <p className={`message ${outcomeClass[outcome.tone]}`} role={outcome.tone === 'success' ? 'status' : 'alert'} data-testid="explorer-message" data-tone={outcome.tone}>
          {outcome.text}
        </p>
      )}
    </form>
  );
}

/** The sentence a put's outcome ends with: when the key expires, or that it never does. */
function expiryText(expiresAt: string | undefined): string {
  return expiresAt === undefined ? ' It never expires.' : ` Expires at ${expiresAt} (${expiryPhrase(expiresAt, Date.now())}).`;
}

const outcomeClass: Record<NonNullable<Outcome>['tone'], string> = {
  success: 'message-success',
  error: 'message-error',
  conflict: 'message-warning',
};

interface WriteControlsProps {
  valueText: string;
  onValueChange: (text: string) => void;
  busy: Action | null;
  onPut: () => void;
  onDelete: () => void;
  loaded: LoadedVersion | null;
  onlyIfUnchanged: boolean;
  onOnlyIfUnchangedChange: (checked: boolean) => void;
  ttlText: string;
  onTtlChange: (text: string) => void;
}

/** The value field with Put and Delete, shown to tokens that may write. */
function WriteControls({ valueText, onValueChange, busy, onPut, onDelete, loaded, onlyIfUnchanged, onOnlyIfUnchangedChange, ttlText, onTtlChange }: WriteControlsProps) {
  const parsed = parseJsonValue(valueText);
  const showValueError = valueText.trim() !== '' && !parsed.ok;
  const ttl = parseTtl(ttlText);
  return (
    <>
      <div className="field">
        <label htmlFor="explorer-value">Value (JSON)</label>
        <textarea
          id="explorer-value"
          data-testid="explorer-value"
          value={valueText}
          onChange={(event) => onValueChange(event.target.value)}
          rows={4}
          spellCheck={false}
          placeholder='{"name": "ada", "visits": 3}'
          aria-invalid={showValueError}
          aria-describedby="explorer-value-note"
        />
        <span id="explorer-value-note" className={showValueError ? 'field-error' : 'field-hint'} data-testid="explorer-value-error">
          {showValueError && !parsed.ok ? parsed.message : 'Any JSON value: object, array, string in quotes, number, true, false or null.'}
        </span>
      </div>
      <div className="field">
        <label htmlFor="explorer-ttl">TTL in seconds (optional, put only)</label>
        <input
          id="explorer-ttl"
          data-testid="explorer-ttl"
          value={ttlText}
          onChange={(event) => onTtlChange(event.target.value)}
          inputMode="numeric"
          autoComplete="off"
          placeholder="empty: never expires"
          aria-invalid={!ttl.ok}
          aria-describedby="explorer-ttl-note"
        />
        <span id="explorer-ttl-note" className={ttl.ok ? 'field-hint' : 'field-error'} data-testid="explorer-ttl-error">
          {ttl.ok ? 'The key expires this long after the put; a later put without a TTL makes it permanent again.' : ttl.message}
        </span>
      </div>
      <label className="check-field" title="Sends If-Match with the version loaded (If-None-Match: * when the key was absent): the node refuses the write if the key changed meanwhile">
        <input
          type="checkbox"
          data-testid="explorer-if-unchanged"
          checked={onlyIfUnchanged && loaded !== null}
          disabled={loaded === null}
          onChange={(event) => onOnlyIfUnchangedChange(event.target.checked)}
        />{' '}
        <span data-testid="explorer-if-unchanged-label">{loaded === null ? 'Only if unchanged (look the key up first)' : unchangedLabel(loaded)}</span>
      </label>
      <div className="button-row">
        <button type="button" data-testid="explorer-put" onClick={onPut} disabled={busy !== null}>
          {busy === 'put' ? 'Writing…' : 'Put'}
        </button>
        <button type="button" className="danger" data-testid="explorer-delete" onClick={onDelete} disabled={busy !== null}>
          {busy === 'delete' ? 'Deleting…' : 'Delete'}
        </button>
      </div>
    </>
  );
}
