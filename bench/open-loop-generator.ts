// The open-loop load generator (issue 14, "Tests and reporting"): quorum GETs of random keys
// sent on a fixed schedule, whatever the answers do, each latency counted from the time the
// request was due, not from when it went out, so a stall of the cluster (or of this
// process) shows as latency instead of as fewer requests, as a closed loop such as wrk
// hides it. Forked by open-loop.ts, which sends the settings and, later, "stop" over IPC.
//
// HTTP/1.1 on raw sockets, one request in flight per connection: a response is framed by
// its content-length (ringkv always sends one). A due request takes an idle connection to
// its node or opens a new one, so it never waits for a connection; the in-flight count is
// bounded, and a request due beyond the bound is counted as an error, not queued. A
// connection idle for longer than `idleReuseMaxMs` is closed rather than reused: the
// node closes keep-alive connections idle for 10 s (--http-keep-alive-timeout-ms), and a
// request sent as that close crossed it was counted as a connection error.
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

export interface GeneratorSettings {
  /** host:port of each node; requests go round-robin over them. */
  hosts: string[];
  /** Keys are drawn at random from key0 .. key(keyCount-1). */
  keyCount: number;
  requestsPerSecond: number;
  /** A request unanswered this long counts as an error (its connection is dropped). */
  requestTimeoutMs: number;
  inFlightMax: number;
  /** The schedule ends by itself after this long, if "stop" has not come. */
  secondsMax: number;
  /** Query string of every GET, e.g. "?r=quorum". */
  query: string;
}

/** One second of the schedule (by due time): how its requests fared. */
export interface GeneratorSecond {
  /** Wall-clock start of the second, Unix ms. */
  startMs: number;
  due: number;
  ok: number;
  errors: number;
  /** The errors by kind: "status 504", "timeout", "connection", "in-flight bound". */
  errorKinds: Record<string, number>;
  /** Latency histogram: [bucket, count] pairs (bucket b holds latencies near latencyOfBucketMs(b)). */
  histogram: Array<[number, number]>;
}

export interface GeneratorReport {
  seconds: GeneratorSecond[];
  /** The most connections open at once. */
  connectionsMax: number;
}

/** 2% wide buckets: fine enough for a p99, small enough to send per second. */
const bucketGrowth = 1.02;
const tickMs = 1;
/** Well below the node's keep-alive timeout (10 s by default). */
const idleReuseMaxMs = 4000;

export function bucketOfLatency(latencyMs: number): number {
  return Math.max(0, Math.floor(Math.log(Math.max(latencyMs, 0.001) * 1000) / Math.log(bucketGrowth)));
}

export function latencyOfBucketMs(bucket: number): number {
  return bucketGrowth ** (bucket + 0.5) / 1000;
}

interface Pending {
  dueMs: number;
  second: number;
  timer: NodeJS.Timeout;
}

interface Connection {
  socket: Socket;
  host: number;
  buffered: Buffer;
  pending: Pending | undefined;
  /** When its last answer came (performance.now()). */
  idleSinceMs: number;
}

interface SecondTally {
  due: number;
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  histogram: Map<number, number>;
}

function run(settings: GeneratorSettings): { stop(): Promise<GeneratorReport> } {
  const idle: Connection[][] = settings.hosts.map(() => []);
  const tallies: SecondTally[] = [];
  let inFlight = 0;
  let open = 0;
  let connectionsMax = 0;
  let sent = 0;
  let stopped = false;
  const startMs = performance.now() + 50;
  const wallStartMs = performance.timeOrigin + startMs;
  const intervalMs = 1000 / settings.requestsPerSecond;

  const tallyOf = (second: number): SecondTally => (tallies[second] ??= { due: 0, ok: 0, errors: 0, errorKinds: {}, histogram: new Map() });
  const fail = (second: number, kind: string) => {
    const tally = tallyOf(second);
    tally.errors++;
    tally.errorKinds[kind] = (tally.errorKinds[kind] ?? 0) + 1;
  };
  const finish = (connection: Connection, outcome: { status: number } | { error: string }) => {
    const pending = connection.pending;
    if (pending === undefined) return;
    connection.pending = undefined;
    clearTimeout(pending.timer);
    inFlight--;
    if ('error' in outcome) {
      fail(pending.second, outcome.error);
      return;
    }
    if (outcome.status < 200 || outcome.status > 299) fail(pending.second, `status ${outcome.status}`);
    else {
      const tally = tallyOf(pending.second);
      tally.ok++;
      const bucket = bucketOfLatency(performance.now() - pending.dueMs);
      tally.histogram.set(bucket, (tally.histogram.get(bucket) ?? 0) + 1);
    }
    connection.idleSinceMs = performance.now();
    idle[connection.host]?.push(connection);
  };
  /** An idle connection to `host` recent enough to reuse; older ones are closed. */
  const idleConnection = (host: number): Connection | undefined => {
    const list = idle[host] ?? [];
    const nowMs = performance.now();
    for (let connection = list.pop(); connection !== undefined; connection = list.pop()) {
      if (nowMs - connection.idleSinceMs <= idleReuseMaxMs) return connection;
      connection.socket.destroy();
    }
    return undefined;
  };
  const drop = (connection: Connection, error: string) => {
    connection.socket.destroy();
    const list = idle[connection.host] ?? [];
    const at = list.indexOf(connection);
    if (at !== -1) list.splice(at, 1);
    finish(connection, { error });
  };
  const openConnection = (host: number): Connection => {
    const [name, port] = (settings.hosts[host] as string).split(':') as [string, string];
    const socket = connect({ host: name, port: Number(port), noDelay: true });
    const connection: Connection = { socket, host, buffered: Buffer.alloc(0), pending: undefined, idleSinceMs: performance.now() };
    open++;
    connectionsMax = Math.max(connectionsMax, open);
    socket.on('data', (chunk: Buffer) => onData(connection, chunk));
    socket.on('error', () => drop(connection, 'connection'));
    socket.on('close', () => {
      open--;
      drop(connection, 'connection');
    });
    return connection;
  };
  const onData = (connection: Connection, chunk: Buffer) => {
    connection.buffered = connection.buffered.length === 0 ? chunk : Buffer.concat([connection.buffered, chunk]);
    const headEnd = connection.buffered.indexOf('\r\n\r\n');
    if (headEnd === -1) return;
    const head = connection.buffered.subarray(0, headEnd).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length === null) return drop(connection, 'response without content-length');
    if (connection.buffered.length < headEnd + 4 + Number(length[1])) return;
    connection.buffered = Buffer.alloc(0);
    finish(connection, { status });
  };
  const send = (dueMs: number, second: number) => {
    tallyOf(second).due++;
    if (inFlight >= settings.inFlightMax) return fail(second, 'in-flight bound');
    const host = sent % settings.hosts.length;
    const connection = idleConnection(host) ?? openConnection(host);
    inFlight++;
    const timer = setTimeout(() => drop(connection, 'timeout'), Math.max(1, dueMs + settings.requestTimeoutMs - performance.now()));
    connection.pending = { dueMs, second, timer };
    const key = Math.floor(Math.random() * settings.keyCount);
    connection.socket.write(`GET /store/key${key}${settings.query} HTTP/1.1\r\nhost: ${settings.hosts[host]}\r\n\r\n`);
  };
  const endMs = startMs + settings.secondsMax * 1000;
  const tick = () => {
    if (stopped) return;
    const nowMs = Math.min(performance.now(), endMs);
    // Every request due by now goes out, each stamped with the time it was due.
    for (let dueMs = startMs + sent * intervalMs; dueMs <= nowMs; dueMs = startMs + sent * intervalMs) {
      send(dueMs, Math.floor((dueMs - startMs) / 1000));
      sent++;
    }
    if (nowMs < endMs) setTimeout(tick, tickMs);
  };
  setTimeout(tick, 50);

  return {
    stop: async () => {
      stopped = true;
      // The answers still due come in, or time out (bounded by the request timeout).
      const waitEndMs = performance.now() + settings.requestTimeoutMs + 1000;
      while (inFlight > 0 && performance.now() < waitEndMs) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const list of idle) for (const connection of list) connection.socket.destroy();
      const seconds = tallies.map((tally, second) => ({
        startMs: Math.round(wallStartMs + second * 1000),
        due: tally?.due ?? 0,
        ok: tally?.ok ?? 0,
        errors: tally?.errors ?? 0,
        errorKinds: tally?.errorKinds ?? {},
        histogram: [...(tally?.histogram ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]),
      }));
      return { seconds, connectionsMax };
    },
  };
}

// Run as a forked child (not when open-loop.ts imports the helpers above): settings first, then "stop".
if (process.send !== undefined && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let running: ReturnType<typeof run> | undefined;
  process.on('message', (message: { settings?: GeneratorSettings; stop?: true }) => {
    if (message.settings !== undefined && running === undefined) {
      running = run(message.settings);
      process.send?.({ started: true });
    }
    if (message.stop === true && running !== undefined) {
      void running.stop().then((report) => process.send?.({ report }, () => process.exit(0)));
    }
  });
  process.on('disconnect', () => process.exit(0));
}
