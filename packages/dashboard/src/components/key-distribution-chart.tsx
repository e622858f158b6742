// Section 3: keys per node, as first replica (primary) and as a later replica.
import { useMemo } from 'react';
import type { ClusterNodes } from '@ringkv/client';
import { Bar, BarChart, CartesianGrid, Rectangle, ResponsiveContainer, Tooltip, XAxis, YAxis, type BarShapeProps } from 'recharts';
import type { Polled } from '../hooks/use-polling';
import { formatCount } from '../lib/format';
import { buildKeyDistribution, distinctKeyEstimate, type KeyDistributionRow } from '../lib/key-distribution';
import { colorOf } from '../lib/node-colors';
import { Section } from './section';
import { EmptyMessage, ErrorMessage, LoadingMessage } from './state-message';

interface KeyDistributionChartProps {
  nodes: Polled<ClusterNodes>;
  colors: ReadonlyMap<string, string>;
}

export function KeyDistributionChart({ nodes, colors }: KeyDistributionChartProps) {
  const rows = useMemo(() => (nodes.data === null ? [] : buildKeyDistribution(nodes.data.nodes)), [nodes.data]);
  const distinct = distinctKeyEstimate(rows);
  // Primaries of an unreachable node are missing from the sum, so it is only a lower bound.
  const someUnreachable = rows.some((row) => row.primary === null);
  return (
    <Section
      id="keys"
      title="Key distribution"
      description="Solid: keys the node holds as primary. Light: keys it holds as a later replica."
      aside={
        distinct !== null && (
          <p className="aside-figure" data-testid="distinct-keys">
            {someUnreachable ? 'at least ' : ''}
            {formatCount(distinct)} distinct keys
          </p>
        )
      }
    >
      {nodes.data === null ? (
        nodes.error !== null ? (
          <ErrorMessage>Could not load key counts: {nodes.error}</ErrorMessage>
        ) : (
          <LoadingMessage>Loading key counts…</LoadingMessage>
        )
      ) : rows.length === 0 ? (
        <EmptyMessage>No members to show.</EmptyMessage>
      ) : (
        <>
          <DistributionBars rows={rows} colors={colors} />
          <DistributionTable rows={rows} />
        </>
      )}
    </Section>
  );
}

function DistributionBars({ rows, colors }: { rows: KeyDistributionRow[]; colors: ReadonlyMap<string, string> }) {
  const fillFor = (index: number) => colorOf(colors, rows[index]?.nodeId ?? '');
  return (
    <div className="chart" data-testid="key-distribution-chart">
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="nodeId" tickLine={false} />
          <YAxis allowDecimals={false} width={56} tickFormatter={(value: number) => formatCount(value)} />
          <Tooltip formatter={(value) => formatCount(Number(value))} cursor={{ fill: 'rgba(0,0,0,0.04)' }} />
          <Bar
            dataKey="primary"
            name="primary"
            stackId="keys"
            isAnimationActive={false}
            shape={(props: BarShapeProps) => <Rectangle {...props} fill={fillFor(props.index)} />}
          />
          <Bar
            dataKey="replica"
            name="replica"
            stackId="keys"
            isAnimationActive={false}
            shape={(props: BarShapeProps) => <Rectangle {...props} fill={fillFor(props.index)} fillOpacity={0.4} />}
          />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function DistributionTable({ rows }: { rows: KeyDistributionRow[] }) {
  const cell = (value: number | null) => (value === null ? 'unreachable' : formatCount(value));
  return (
    <table className="data-table compact" data-testid="key-distribution-table">
      <caption className="visually-hidden">Keys per node</caption>
      <thead>
        <tr>
          <th scope="col">Node</th>
          <th scope="col" className="numeric">Primary</th>
          <th scope="col" className="numeric">Replica</th>
          <th scope="col" className="numeric">Total</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.nodeId} data-testid={`key-counts-${row.nodeId}`}>
            <th scope="row">{row.nodeId}</th>
            <td className="numeric">{cell(row.primary)}</td>
            <td className="numeric">{cell(row.replica)}</td>
            <td className="numeric">{cell(row.total)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
