// The pace of every member that answered GET /cluster/jobs: the cap on the bytes it
// receives in transfers, the bytes received and the time waited for the cap since it
// started, the share of time client load leaves background jobs now, the floor that share
// never goes below (the background floor), and the CPU pressure (the share of time threads
// of its machine waited for a core, where Linux measures it), which that share gives way
// to as well. Shown whether or not a job runs, since the pace is best set before a join
// starts. Admin tokens get a field per node to change the cap and one to change the floor
// (PaceControl).
import type { Pace } from '@ringkv/client';
import { formatDurationSeconds, formatMegabytes, formatPercent } from '../lib/format';
import { backgroundFloorField, describeBackgroundFloor } from '../lib/background-floor';
import { describeTransferCap, transferCapField, type PaceAnswer } from '../lib/transfer-pace';
import { NodeName } from './node-swatch';
import { PaceControl } from './pace-control';

/** What an admin may set per node, in the order of their columns. */
const paceFields = [transferCapField, backgroundFloorField];

interface PaceListProps {
  paces: readonly Pace[];
  colors: ReadonlyMap<string, string>;
  /** Where a Set for the node goes, see jobNodeBaseUrl. */
  baseUrlFor: (nodeId: string) => string | null;
  /** Whether the token may set the pace (admin); otherwise the Set columns are left out. */
  controllable: boolean;
  onAnswer: (answer: PaceAnswer) => void;
}

export function PaceList({ paces, colors, baseUrlFor, controllable, onAnswer }: PaceListProps) {
  return (
    <div className="pace-list" data-testid="pace-list">
      <h3 id="pace-heading">Pace</h3>
      {paces.length === 0 ? (
        <p className="hint" data-testid="pace-empty">
          No member reported its pace.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="data-table compact" aria-labelledby="pace-heading" data-testid="pace-table">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col" title="Cap on the bytes the node receives in transfers; 0 lifts it">
                  Transfer cap
                </th>
                <th scope="col" className="numeric">Received</th>
                <th scope="col" className="numeric">Waited for cap</th>
                <th scope="col" className="numeric" title="Share of time background jobs may take now: they give way to client requests and to other processes waiting for a CPU, down to the floor, whatever the cap">
                  Background share now
                </th>
                <th scope="col" className="numeric" title="Smallest share of time background jobs (transfers, cleanups, repair) keep however busy the clients are: higher ends a ring change sooner, and clients wait longer meanwhile">
                  Background floor
                </th>
                <th scope="col" className="numeric" title="Share of the last moment threads of the node's machine waited for a CPU (Linux); background jobs give way to it under client load">
                  CPU pressure
                </th>
                {controllable &&
                  paceFields.map((field) => (
                    <th key={field.name} scope="col">
                      {field.heading}
                    </th>
                  ))}
              </tr>
            </thead>
            <tbody>
              {paces.map((pace) => (
                <tr key={pace.node} data-testid={`pace-${pace.node}`}>
                  <th scope="row">
                    <NodeName nodeId={pace.node} colors={colors} />
                  </th>
                  <td data-testid={`pace-${pace.node}-cap`}>{describeTransferCap(pace.transferMbPerSecond)}</td>
                  <td className="numeric" title="keys and values received in transfers since the node started" data-testid={`pace-${pace.node}-received`}>
                    {formatMegabytes(pace.transferredBytes)}
                  </td>
                  <td className="numeric" title="time transfers waited for the cap since the node started">
                    {formatDurationSeconds(pace.transferWaitedMs / 1000)}
                  </td>
                  <td className="numeric" data-testid={`pace-${pace.node}-share`}>
                    {formatPercent(pace.backgroundShare, 0)}
                  </td>
                  <td className="numeric" data-testid={`pace-${pace.node}-floor`}>
                    {describeBackgroundFloor(pace.backgroundShareMin)}
                  </td>
                  <td className="numeric" data-testid={`pace-${pace.node}-pressure`}>
                    {pace.cpuPressure === undefined ? 'not measured' : formatPercent(pace.cpuPressure, 0)}
                  </td>
                  {controllable &&
                    paceFields.map((field) => (
                      <td key={field.name}>
                        <PaceControl pace={pace} field={field} baseUrl={baseUrlFor(pace.node)} onAnswer={onAnswer} />
                      </td>
                    ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
