// One data-movement job: where it runs, what it moves, how far and how fast it has got, and its controls.
import type { Job, JobState } from '@ringkv/client';
import { formatCount, formatMegabytes, formatMegabytesPerSecond, formatRate } from '../lib/format';
import type { ControlAnswer } from '../lib/job-control';
import { formatJobEta } from '../lib/job-progress';
import { JobControls } from './job-controls';
import { JobProgressBar } from './job-progress-bar';
import { NodeName } from './node-swatch';

const jobStateTitles: Record<JobState, string> = {
  waiting: 'waits for the new ring to settle or for a source to come back',
  running: 'moving data now',
  paused: 'paused by an operator; resumes where it stopped',
  done: 'finished',
};

interface JobRowProps {
  job: Job;
  colors: ReadonlyMap<string, string>;
  /** Where the job's node answers, see jobNodeBaseUrl. */
  baseUrl: string | null;
  /** Whether the token may pause and resume (admin); otherwise the column is left out. */
  controllable: boolean;
  onAnswer: (answer: ControlAnswer) => void;
}

export function JobRow({ job, colors, baseUrl, controllable, onAnswer }: JobRowProps) {
  const testId = `job-${job.node}-${job.id}`;
  return (
    <tr className={`job-row job-row-${job.state}`} data-testid={testId}>
      <th scope="row">
        <NodeName nodeId={job.node} colors={colors} />
      </th>
      <td>{job.kind}</td>
      <td className="job-description">{job.description}</td>
      <td>
        <span className={`state job-state-${job.state}`} title={jobStateTitles[job.state]} data-testid={`${testId}-state`}>
          {job.state}
        </span>
      </td>
      <td>
        <JobProgressBar job={job} testId={`${testId}-progress`} />
      </td>
      <td className="numeric" title={`${formatMegabytes(job.bytesMoved)} of keys and values`} data-testid={`${testId}-records`}>
        {formatCount(job.recordsMoved)}
      </td>
      <td className="numeric" title="average since the job started">
        {formatRate(job.keysPerSecond)}
      </td>
      <td className="numeric" title={`${formatMegabytes(job.bytesMoved)} moved; average since the job started`} data-testid={`${testId}-mb-per-second`}>
        {formatMegabytesPerSecond(job.bytesPerSecond)}
      </td>
      <td className="numeric" data-testid={`${testId}-eta`}>
        {formatJobEta(job)}
      </td>
      {controllable && (
        <td>
          <JobControls job={job} baseUrl={baseUrl} testId={testId} onAnswer={onAnswer} />
        </td>
      )}
    </tr>
  );
}
