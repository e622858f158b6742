// Data movement: every member's transfer and cleanup jobs from GET /cluster/jobs, with
// their progress and rate, Pause / Resume for unfinished transfers, and each member's
// pace with fields to change its transfer cap and background floor (admin tokens only: the
// node refuses both to other roles). Jobs are polled as often as the members, so a ring change shows here
// within one refresh.
import { useCallback, useState } from 'react';
import type { ClusterNodes, Job, JobList } from '@ringkv/client';
import type { Polled } from '../hooks/use-polling';
import { jobKey, jobNodeBaseUrl, orderJobs, withControlAnswers, type ControlAnswer } from '../lib/job-control';
import { isRebalancing, ringStatusOf } from '../lib/ring-status';
import { withPaceAnswers, type PaceAnswer } from '../lib/transfer-pace';
import { useDashboardSession } from '../session-context';
import { JobRow } from './job-row';
import { PaceList } from './pace-list';
import { Section } from './section';
import { EmptyMessage, ErrorMessage, LoadingMessage, StaleNotice } from './state-message';

interface DataMovementProps {
  jobs: Polled<JobList>;
  nodes: Polled<ClusterNodes>;
  colors: ReadonlyMap<string, string>;
}

export function DataMovement({ jobs, nodes, colors }: DataMovementProps) {
  const controllable = useDashboardSession().permissions.admin;
  const [answers, setAnswers] = useState<ReadonlyMap<string, ControlAnswer>>(new Map());
  const onAnswer = useCallback(
    (answer: ControlAnswer) => setAnswers((previous) => new Map(previous).set(jobKey(answer.job), answer)),
    [],
  );
  const [paceAnswers, setPaceAnswers] = useState<ReadonlyMap<string, PaceAnswer>>(new Map());
  const onPaceAnswer = useCallback(
    (answer: PaceAnswer) => setPaceAnswers((previous) => new Map(previous).set(answer.pace.node, answer)),
    [],
  );

  const view = nodes.data;
  const list = jobs.data;
  const shown = list === null ? [] : orderJobs(withControlAnswers(list.jobs, answers, jobs.updatedAtMs));
  const ringStatuses = view === null ? [] : view.nodes.map((node) => ringStatusOf(view, node.nodeId));
  const rebalancing = isRebalancing(shown, ringStatuses);
  const baseUrlFor = (nodeId: string) => (view === null ? null : jobNodeBaseUrl(view, nodeId));

  return (
    <Section
      id="data-movement"
      title="Data movement"
      description={`Ranges streamed to new owners when members join or leave, and the cleanup of ranges a node gave up.${controllable ? '' : ' Pausing, resuming or pacing transfers needs an admin token.'}`}
      aside={list !== null && <RebalancingSummary rebalancing={rebalancing} />}
    >
      {jobs.error !== null && list !== null && <StaleNotice error={jobs.error} updatedAtMs={jobs.updatedAtMs} />}
      {list !== null && list.unreachable.length > 0 && (
        <p className="message message-warning" data-testid="jobs-unreachable">
          Could not read the jobs of {list.unreachable.join(', ')}; any they run are missing below.
        </p>
      )}
      {list === null ? (
        jobs.error !== null ? (
          <ErrorMessage>Could not load the data-movement jobs: {jobs.error}. Retrying.</ErrorMessage>
        ) : (
          <LoadingMessage>Loading the data-movement jobs…</LoadingMessage>
        )
      ) : shown.length === 0 ? (
        <EmptyMessage testId="jobs-empty">
          {rebalancing
            ? 'The ring is changing; its transfers have not started yet.'
            : 'No data movement: the ring is stable.'}
        </EmptyMessage>
      ) : (
        <JobsTable jobs={shown} colors={colors} baseUrlFor={baseUrlFor} controllable={controllable} onAnswer={onAnswer} />
      )}
      {list !== null && (
        <PaceList
          paces={withPaceAnswers(list.paces, paceAnswers, jobs.updatedAtMs)}
          colors={colors}
          baseUrlFor={baseUrlFor}
          controllable={controllable}
          onAnswer={onPaceAnswer}
        />
      )}
    </Section>
  );
}

interface JobsTableProps {
  jobs: readonly Job[];
  colors: ReadonlyMap<string, string>;
  baseUrlFor: (nodeId: string) => string | null;
  controllable: boolean;
  onAnswer: (answer: ControlAnswer) => void;
}

function JobsTable({ jobs, colors, baseUrlFor, controllable, onAnswer }: JobsTableProps) {
  return (
    <div className="table-scroll">
      <table className="data-table" data-testid="jobs-table">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Kind</th>
            <th scope="col">Description</th>
            <th scope="col">State</th>
            <th scope="col">Progress</th>
            <th scope="col" className="numeric">Records moved</th>
            <th scope="col" className="numeric">Keys/s</th>
            <th scope="col" className="numeric">MB/s</th>
            <th scope="col" className="numeric">ETA</th>
            {controllable && (
              <th scope="col">
                <span className="visually-hidden">Controls</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <JobRow
              key={jobKey(job)}
              job={job}
              colors={colors}
              baseUrl={baseUrlFor(job.node)}
              controllable={controllable}
              onAnswer={onAnswer}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RebalancingSummary({ rebalancing }: { rebalancing: boolean }) {
  return (
    <p className="state-summary" data-testid="rebalancing-status">
      {rebalancing ? <span className="rebalancing">Rebalancing</span> : <span className="state-count-up">Ring stable</span>}
    </p>
  );
}
