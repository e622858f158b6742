// How far a job has got: a bar and a percentage. Until its sources report how many keys
// they hold the total is 0, so a running job shows a moving (indeterminate) bar and "—".
import type { Job } from '@ringkv/client';
import { formatCount } from '../lib/format';
import { formatJobProgress, jobProgress } from '../lib/job-progress';

export function JobProgressBar({ job, testId }: { job: Job; testId: string }) {
  const progress = jobProgress(job);
  const percent = progress === null ? undefined : Math.floor(progress * 100);
  const indeterminate = progress === null && job.state === 'running';
  const keys = job.keysTotal > 0 ? `${formatCount(job.keysDone)} of ${formatCount(job.keysTotal)} keys` : 'key total not known yet';
  return (
    <div className="job-progress" title={keys}>
      <div
        className={indeterminate ? 'progress-bar progress-indeterminate' : 'progress-bar'}
        role="progressbar"
        aria-label={`${job.id} on ${job.node}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={keys}
      >
        {progress !== null && <span style={{ width: `${progress * 100}%` }} />}
      </div>
      <span className="job-progress-text" data-testid={testId}>
        {formatJobProgress(job)}
      </span>
    </div>
  );
}
