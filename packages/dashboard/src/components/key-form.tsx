// The explorer's form: a key, a JSON value and a consistency level, with look-up,
// put and delete. Input problems are reported before anything is sent.
import { useState, type FormEvent } from 'react';
import type { ConsistencyLevel } from '@ringkv/client';
import { client } from '../cluster-client';
import type { LookupOptions } from '../hooks/use-key-lookup';
import { describeError } from '../lib/error-text';
import { parseJsonValue } from '../lib/json-value';
import { keyProblem } from '../lib/key-name';
import { ConsistencySelect, type NamedLevel } from './consistency-select';

type Outcome = { tone: 'success' | 'error'; text: string } | null;
type Action = 'lookup' | 'put' | 'delete';

interface KeyFormProps {
  keyText: string;
  onKeyChange: (key: string) => void;
  level: NamedLevel;
  onLevelChange: (level: NamedLevel) => void;
  onLookup: (key: string, level: ConsistencyLevel, options?: LookupOptions) => Promise<void>;
}

export function KeyForm({ keyText, onKeyChange, level, onLevelChange, onLookup }: KeyFormProps) {
  const [valueText, setValueText] = useState('');
  const [busy, setBusy] = useState<Action | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const parsed = parseJsonValue(valueText);
  const showValueError = valueText.trim() !== '' && !parsed.ok;

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
      setOutcome({ tone: 'error', text: describeError(error) });
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
    void perform('put', async () => {
      const receipt = await client.put(keyText, parsed.value, level);
      await onLookup(keyText, level);
      return `Stored version ${receipt.body.version}; ${receipt.acks} replica(s) acknowledged (w=${level}).`;
    });
  };

  const remove = () => {
    void perform('delete', async () => {
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
      <div className="field">
        <label htmlFor="explorer-value">Value (JSON)</label>
        <textarea
          id="explorer-value"
          data-testid="explorer-value"
          value={valueText}
          onChange={(event) => setValueText(event.target.value)}
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
      <div className="button-row">
        <button type="button" data-testid="explorer-put" onClick={put} disabled={busy !== null}>
          {busy === 'put' ? 'Writing…' : 'Put'}
        </button>
        <button type="button" className="danger" data-testid="explorer-delete" onClick={remove} disabled={busy !== null}>
          {busy === 'delete' ? 'Deleting…' : 'Delete'}
        </button>
      </div>
      {outcome !== null && (
        <p
          className={`message ${outcome.tone === 'error' ? 'message-error' : 'message-success'}`}
          role={outcome.tone === 'error' ? 'alert' : 'status'}
          data-testid="explorer-message"
        >
          {outcome.text}
        </p>
      )}
    </form>
  );
}
