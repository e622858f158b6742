// Set for one node's transfer cap: a number field and a button. The request goes to the
// serving node, which forwards it to the node (PUT /jobs/pace?node=<id>); the answer shows
// beside the field, and in the list at once through `onAnswer`. The outcome stays until
// the next attempt.
import { useState, type FormEvent } from 'react';
import type { Pace } from '@ringkv/client';
import { describePaceAnswer, describePaceError, parseTransferCap, type PaceAnswer } from '../lib/transfer-pace';
import { useDashboardSession } from '../session-context';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

interface PaceControlProps {
  pace: Pace;
  /** Where the request goes (see jobNodeBaseUrl); null when the node is not a known member. */
  baseUrl: string | null;
  onAnswer: (answer: PaceAnswer) => void;
}

export function PaceControl({ pace, baseUrl, onAnswer }: PaceControlProps) {
  const { clientAt } = useDashboardSession().api;
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const testId = `pace-${pace.node}`;
  const outcomeId = `${testId}-outcome`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (baseUrl === null) return;
    const parsed = parseTransferCap(draft);
    if (!parsed.ok) {
      setOutcome({ tone: 'error', text: parsed.reason });
      return;
    }
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await clientAt(baseUrl).setPace(parsed.transferMbPerSecond, pace.node);
      onAnswer({ pace: answer, atMs: Date.now() });
      setOutcome({ tone: 'success', text: describePaceAnswer(answer) });
      setDraft('');
    } catch (caught) {
      setOutcome({ tone: 'error', text: describePaceError(caught) });
    } finally {
      setBusy(false);
    }
  };

  return (
    // noValidate: the browser's own bubble for a negative number would hide the reason shown here.
    <form className="pace-control" noValidate onSubmit={(event) => void submit(event)}>
      <div className="pace-control-fields">
        <label className="visually-hidden" htmlFor={`${testId}-input`}>
          New transfer cap of {pace.node} in MB/s, 0 for no cap
        </label>
        <input
          id={`${testId}-input`}
          type="number"
          inputMode="decimal"
          min={0}
          step="any"
          placeholder="MB/s"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          aria-invalid={outcome?.tone === 'error'}
          aria-describedby={outcome === null ? undefined : outcomeId}
          data-testid={`${testId}-input`}
        />
        <button
          type="submit"
          className="secondary"
          disabled={busy || baseUrl === null}
          title={baseUrl === null ? `${pace.node} is not in the member list` : undefined}
          aria-label={`Set the transfer cap of ${pace.node}`}
          data-testid={`${testId}-set`}
        >
          {busy ? 'Setting…' : 'Set'}
        </button>
      </div>
      {outcome !== null && (
        <span
          id={outcomeId}
          className={outcome.tone === 'error' ? 'row-error' : 'row-success'}
          role={outcome.tone === 'error' ? 'alert' : 'status'}
          data-testid={`${testId}-${outcome.tone === 'error' ? 'error' : 'answer'}`}
        >
          {outcome.text}
        </span>
      )}
    </form>
  );
}
