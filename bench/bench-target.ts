// A target of issue 14 judged against a measured figure, shared by the benchmarks that
// print pass or MISS (yardstick-bench.ts, join-bench.ts).

export interface BenchTarget {
  figure: string;
  value: number | null;
  /** 'min': the value must be at least the target; 'max': at most. */
  bound: 'min' | 'max';
  target: number;
  unit: string;
  /** null when the figure was not measured. */
  pass: boolean | null;
}

export function benchTarget(figure: string, value: number | null, bound: 'min' | 'max', limit: number, unit: string): BenchTarget {
  return { figure, value, bound, target: limit, unit, pass: value === null ? null : bound === 'min' ? value >= limit : value <= limit };
}
