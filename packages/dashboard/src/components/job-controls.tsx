// Pause and Resume for one transfer job. The request goes to the serving node, which
// forwards it to the node that runs the job; the answer is shown at once through
// `onAnswer`. A failure stays beside the buttons until the next attempt or until the
// job's state changes.
import { useState } from 'react';
import type { Job, JobState } from '@ringkv/client';
import { applicableAction, describeControlError, type ControlAnswer, type JobAction } from '../lib/job-control';
import { useDashboardSession } from '../session-context';

/** The two buttons, in the order shown. */
const actions: ReadonlyArray<{ wanted: JobAction; label: string; busy: string }> = [
  { wanted: 'pause', label: 'Pause', busy: 'Pausing…' },
  { wanted: 'resume', label: 'Resume', busy: 'Resuming…' },
];

interface JobControlsProps {
  job: Job;
  /** Where the job's node answers (see jobNodeBaseUrl); null when it is not a known member. */
  baseUrl: string | null;
  testId: string;
  onAnswer: (answer: ControlAnswer) => void;
}

export function JobControls({ job, baseUrl, testId, onAnswer }: JobControlsProps) {
  const { clientAt } = useDashboardSession().api;
  const [sending, setSending] = useState<JobAction | null>(null);
  const [failure, setFailure] = useState<{ text: string; state: JobState } | null>(null);
  const action = applicableAction(job);
  if (action === null) return null;

  const send = async (wanted: JobAction) => {
    if (baseUrl === null) return;
    setSending(wanted);
    setFailure(null);
    try {
      const target = clientAt(baseUrl);
      const answer = wanted === 'pause' ? await target.pauseJob(job.id, job.node) : await target.resumeJob(job.id, job.node);
      onAnswer({ job: answer.job, atMs: Date.now() });
    } catch (caught) {
      setFailure({ text: describeControlError(caught, wanted), state: job.state });
    } finally {
      setSending(null);
    }
  };

  const unknownNode = baseUrl === null ? `${job.node} is not in the member list` : undefined;
  return (
    <div className="job-controls">
      <div className="button-row">
        {actions.map(({ wanted, label, busy }) => (
          <button
            key={wanted}
            type="button"
            className="secondary"
            disabled={baseUrl === null || sending !== null || action !== wanted}
            title={unknownNode}
            aria-label={`${label} ${job.id} on ${job.node}`}
            data-testid={`${testId}-${wanted}`}
            onClick={() => void send(wanted)}
          >
            {sending === wanted ? busy : label}
          </button>
        ))}
      </div>
      {failure !== null && failure.state === job.state && (
        <span className="row-error" role="alert" data-testid={`${testId}-error`}>
          {failure.text}
        </span>
      )}
    </div>
  );
}
