// One time-series chart: a line per node in its colour plus a dark dashed cluster line.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatClockTime, formatLatencyMs, formatRate } from '../lib/format';
import { colorOf } from '../lib/node-colors';
import { clusterValue, nodeValue, type TrafficMetric, type TrafficRow } from '../lib/traffic-series';

interface TrafficChartProps {
  title: string;
  metric: TrafficMetric;
  clusterLabel: string;
  rows: TrafficRow[];
  nodeIds: string[];
  colors: ReadonlyMap<string, string>;
}

const clusterColor = '#1d2330';

export function TrafficChart({ title, metric, clusterLabel, rows, nodeIds, colors }: TrafficChartProps) {
  const formatValue = metric === 'requestsPerSecond' ? formatRate : formatLatencyMs;
  return (
    <figure className="chart" data-testid={`traffic-chart-${metric}`}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis
            dataKey="timeMs"
            type="number"
            scale="time"
            domain={['dataMin', 'dataMax']}
            tickFormatter={(value: number) => formatClockTime(value)}
            minTickGap={40}
          />
          <YAxis width={64} tickFormatter={(value: number) => formatValue(value)} />
          <Tooltip
            labelFormatter={(value) => formatClockTime(Number(value))}
            formatter={(value) => formatValue(Number(value))}
          />
          <Legend iconType="plainline" wrapperStyle={{ fontSize: 12 }} />
          {nodeIds.map((nodeId) => (
            <Line
              key={nodeId}
              name={nodeId}
              dataKey={(row: TrafficRow) => nodeValue(row, nodeId, metric)}
              stroke={colorOf(colors, nodeId)}
              strokeWidth={1.5}
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
            />
          ))}
          <Line
            name={clusterLabel}
            dataKey={(row: TrafficRow) => clusterValue(row, metric)}
            stroke={clusterColor}
            strokeWidth={2}
            strokeDasharray="6 3"
            dot={false}
            isAnimationActive={false}
          />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
