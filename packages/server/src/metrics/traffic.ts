// Recent request rate and latency percentiles for /node-info and the dashboard. Requests
// are counted into one-second buckets with a log-scale latency histogram each; the last
// five minutes are kept. Cheap enough to record on every request.

const bucketSeconds = 1;
const keptBuckets = 300;
const historyStepSeconds = 5;
/** Latency histogram bounds in ms: 0.05 ms .. ~26 s, each 25% wider than the last. */
const latencyBoundsMs = Array.from({ length: 60 }, (_, i) => 0.05 * 1.25 ** i);

interface Bucket {
  second: number;
  count: number;
  latencyCounts: Uint32Array;
}

export interface TrafficPoint {
  timeMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export class TrafficRecorder {
  private readonly buckets: Bucket[] = [];
  private total = 0;
  private readonly nowMs: () => number;
  private readonly startedSecond: number;

  constructor(nowMs: () => number = Date.now) {
    this.nowMs = nowMs;
    this.startedSecond = Math.floor(nowMs() / 1000);
  }

  record(latencyMs: number): void {
    this.total++;
    const bucket = this.current();
    bucket.count++;
    (bucket.latencyCounts[boundIndex(latencyMs)] as number)++;
  }

  get requestsTotal(): number {
    return this.total;
  }

  /** Rate and percentiles over the last `windowSeconds` complete seconds. */
  summary(windowSeconds = 10): Omit<TrafficPoint, 'timeMs'> {
    const nowSecond = Math.floor(this.nowMs() / 1000);
    return summarise(this.bucketsBetween(nowSecond - windowSeconds, nowSecond), windowSeconds);
  }

  /** One point per complete 5-second interval since the node started, up to 5 minutes, oldest first. */
  history(): TrafficPoint[] {
    const nowSecond = Math.floor(this.nowMs() / 1000);
    const endSecond = nowSecond - (nowSecond % historyStepSeconds);
    const firstSecond = Math.max(endSecond - keptBuckets, this.startedSecond - (this.startedSecond % historyStepSeconds) + historyStepSeconds);
    const points: TrafficPoint[] = [];
    for (let start = firstSecond; start < endSecond; start += historyStepSeconds) {
      points.push({ timeMs: start * 1000, ...summarise(this.bucketsBetween(start, start + historyStepSeconds), historyStepSeconds) });
    }
    return points;
  }

  private bucketsBetween(fromSecond: number, toSecond: number): Bucket[] {
    return this.buckets.filter((bucket) => bucket.second >= fromSecond && bucket.second < toSecond);
  }

  private current(): Bucket {
    const second = Math.floor(this.nowMs() / 1000 / bucketSeconds);
    const last = this.buckets[this.buckets.length - 1];
    if (last !== undefined && last.second === second) return last;
    const bucket = { second, count: 0, latencyCounts: new Uint32Array(latencyBoundsMs.length + 1) };
    this.buckets.push(bucket);
    while (this.buckets.length > keptBuckets || (this.buckets[0] as Bucket).second <= second - keptBuckets) this.buckets.shift();
    return bucket;
  }
}

function summarise(buckets: Bucket[], seconds: number): Omit<TrafficPoint, 'timeMs'> {
  const merged = new Uint32Array(latencyBoundsMs.length + 1);
  let count = 0;
  for (const bucket of buckets) {
    count += bucket.count;
    for (let i = 0; i < merged.length; i++) (merged[i] as number) += bucket.latencyCounts[i] as number;
  }
  return { requestsPerSecond: count / seconds, p50Ms: percentile(merged, count, 0.5), p99Ms: percentile(merged, count, 0.99) };
}

/** The upper bound of the bucket holding the q-th request (0 when there were none). */
export function percentile(counts: Uint32Array, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] as number;
    if (seen >= rank) return round(latencyBoundsMs[Math.min(i, latencyBoundsMs.length - 1)] as number);
  }
  return round(latencyBoundsMs[latencyBoundsMs.length - 1] as number);
}

function boundIndex(latencyMs: number): number {
  let low = 0;
  let high = latencyBoundsMs.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((latencyBoundsMs[middle] as number) < latencyMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
