// HTTP requests served, counted per route, method and status in plain numbers on the hot
// path and added to ringkv_http_requests_total when the counter is read (a /metrics
// scrape): a prom-client child's inc() hashes its label set on every call, which cost more
// than the rest of a request's response hook (issue 14, "The read path").
import type { Counter } from 'prom-client';

/** The counts of one method on one route, bound once when the route is added. */
export class RouteRequestCounts {
  private readonly method: string;
  private readonly route: string;
  /** Requests answered since the last flush, by status code. */
  private readonly pending = new Map<number, number>();

  constructor(method: string, route: string) {
    this.method = method;
    this.route = route;
  }

  count(status: number): void {
    this.pending.set(status, (this.pending.get(status) ?? 0) + 1);
  }

  flushInto(counter: Counter<'method' | 'route' | 'status'>): void {
    for (const [status, requests] of this.pending) counter.inc({ method: this.method, route: this.route, status: String(status) }, requests);
    this.pending.clear();
  }
}

export class RequestCounts {
  private readonly routes: RouteRequestCounts[] = [];

  /** The counts of `method` on `route` (its metric label); call once per route and method. */
  route(method: string, route: string): RouteRequestCounts {
    const counts = new RouteRequestCounts(method, route);
    this.routes.push(counts);
    return counts;
  }

  /** Adds what every route counted since the last flush to `counter`. */
  flushInto(counter: Counter<'method' | 'route' | 'status'>): void {
    for (const counts of this.routes) counts.flushInto(counter);
  }
}
