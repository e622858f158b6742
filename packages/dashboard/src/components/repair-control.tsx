// "Repair now": forces one anti-entropy round on the serving node (POST /repair) instead
// of waiting for the next scheduled one. Shown to admin tokens only; the node refuses
// repair to every other role.
import { useState } from 'react';
import { describeRefusal } from '../lib/access';
import { describeError } from '../lib/error-text';
import { describeRepairStatus } from '../lib/repair-summary';
import { useDashboardSession } from '../session-context';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

export function RepairControl() {
  const { api, permissions } = useDashboardSession();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  if (!permissions.admin) return null;

  const repair = async () => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome({ tone: 'success', text: describeRepairStatus(await api.client.repair()) });
    } catch (error) {
      setOutcome({ tone: 'error', text: `Repair failed: ${describeRefusal(error) ?? describeError(error)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="repair-control">
      <button type="button" className="secondary" data-testid="repair-run" disabled={busy} onClick={() => void repair()}>
        {busy ? 'Repairing…' : 'Repair now'}
      </button>
      {outcome !== null && (
        <p
          className={`message ${outcome.tone === 'error' ? 'message-error' : 'message-success'}`}
          role={outcome.tone === 'error' ? 'alert' : 'status'}
          data-testid="repair-message"
        >
          {outcome.text}
        </p>
      )}
    </div>
  );
}
