// Set for one of a node's pace settings (the transfer cap or the background floor, as its
// PaceField describes it): a number field and a button. The request goes to the serving
// node, which forwards it to the node (PUT /jobs/pace?node=<id>); the answer shows beside
// the field, and in the list at once through `onAnswer`. The outcome stays until the next
// attempt.
import { useState, type FormEvent } from 'react';
import type { Pace } from '@ringkv/client';
import type { PaceAnswer, PaceField } from '../lib/transfer-pace';
import { useDashboardSession } from '../session-context';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

interface PaceControlProps {
  pace: Pace;
  field: PaceField;
  /** Where the request goes (see jobNodeBaseUrl); null when the node is not a known member. */
  baseUrl: string | null;
  onAnswer: (answer: PaceAnswer) => void;
}

export function PaceControl({ pace, field, baseUrl, onAnswer }: PaceControlProps) {
  const { clientAt } = useDashboardSession().api;
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const testId = `pace-${pace.node}${field.idPart}`;
  const outcomeId = `${testId}-outcome`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (baseUrl === null) return;
    const parsed = field.parse(draft);
    if (!parsed.ok) {
      setOutcome({ tone: 'error', text: parsed.reason });
      return;
    }
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await clientAt(baseUrl).setPace(parsed.update, pace.node);
      onAnswer({ pace: answer, atMs: Date.now() });
      setOutcome({ tone: 'success', text: field.describeAnswer(answer) });
      setDraft('');
    } catch (caught) {
      setOutcome({ tone: 'error', text: field.describeError(caught) });
    } finally {
      setBusy(false);
    }
  };

  return (
    // noValidate: the browser's own bubble for a number out of range would hide the reason shown here.
    <form className={`pace-control pace-control-${field.name}`} noValidate onSubmit={(event) => void submit(event)}>
      <div className="pace-control-fields">
        <label className="visually-hidden" htmlFor={`${testId}-input`}>
          {field.fieldLabel(pace.node)}
        </label>
        <input
          id={`${testId}-input`}
          type="number"
          inputMode={field.step === 'any' ? 'decimal' : 'numeric'}
          min={field.min}
          max={field.max}
          step={field.step}
          placeholder={field.placeholder}
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
          aria-label={field.buttonLabel(pace.node)}
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
