// Real ringkv node processes for the chaos run: started where the network puts them (a
// namespace or loopback), killed with SIGKILL, frozen with SIGSTOP/SIGCONT, restarted on
// the same LMDB directory. Output goes to one log file per node, kept for failure reports.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { RingkvClient } from '@ringkv/client';
import { fetchTrusting } from '@ringkv/server';
import type { ChaosNetwork } from './chaos-network.js';
import { cliPath } from './cli.js';

const exitWaitMs = 10_000;
const healthProbeTimeoutMs = 500;
const healthPollIntervalMs = 100;

export type NodeProcessState = 'stopped' | 'running' | 'paused' | 'killed';

export interface ChaosNodeSpec {
  index: number;
  network: ChaosNetwork;
  /** Flags after `--id/--host/--port` (seeds, storage, data dir, timeouts...). */
  args: string[];
  logPath: string;
  clientTimeoutMs: number;
  /** The chaos run starts nodes the secure way (docs/security.md): HTTPS trusting this CA, with this token. */
  credentials: { caPem: string; token: string };
}

export class ChaosNode {
  readonly index: number;
  readonly id: string;
  readonly url: string;
  readonly client: RingkvClient;
  readonly logPath: string;
  private readonly fetch: typeof fetch;
  private readonly spec: ChaosNodeSpec;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private starts = 0;
  /** Set while the harness itself stops or kills the process. */
  private stopping = false;
  state: NodeProcessState = 'stopped';
  /** Exits the harness did not cause (a crash is a finding, not a fault to heal quietly). */
  readonly unexpectedExits: string[] = [];

  constructor(spec: ChaosNodeSpec) {
    this.spec = spec;
    this.index = spec.index;
    this.id = `n${spec.index + 1}`;
    this.url = `https://${spec.network.hostOf(spec.index)}:${spec.network.portOf(spec.index)}`;
    this.fetch = fetchTrusting(spec.credentials.caPem);
    this.client = new RingkvClient({ baseUrl: this.url, timeoutMs: spec.clientTimeoutMs, token: spec.credentials.token, fetch: this.fetch });
    this.logPath = spec.logPath;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get address(): string {
    return `${this.spec.network.hostOf(this.index)}:${this.spec.network.portOf(this.index)}`;
  }

  /** Starts the process and waits until /health answers 200 (or fails after `readyTimeoutMs`). */
  async start(readyTimeoutMs: number): Promise<void> {
    if (this.state !== 'stopped' && this.state !== 'killed') throw new Error(`${this.id} is ${this.state}, cannot start`);
    this.starts += 1;
    appendFileSync(this.logPath, `--- chaos harness: start #${this.starts} of ${this.id} at ${new Date().toISOString()}\n`);
    const argv = [process.execPath, cliPath, 'node', '--id', this.id, '--host', this.spec.network.hostOf(this.index), '--port', String(this.spec.network.portOf(this.index)), ...this.spec.args];
    const { file, args } = this.spec.network.commandFor(this.index, argv);
    const logFd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(file, args, { stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.stopping = false;
    this.state = 'running';
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', (code, signal) => {
      appendFileSync(this.logPath, `--- chaos harness: ${this.id} pid ${child.pid} exited (code ${code}, signal ${signal})\n`);
      if (this.child !== child) return;
      if (!this.stopping) this.unexpectedExits.push(`${this.id} (pid ${child.pid}) exited on its own: code ${code}, signal ${signal}; see ${this.logPath}`);
      if (this.state !== 'killed') this.state = 'stopped';
    });
    await this.waitHealthy(child, readyTimeoutMs);
    this.assertPidIsNode(child);
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.requireRunning('kill');
    this.stopping = true;
    this.state = 'killed';
    child.kill('SIGKILL');
    await this.waitExit();
  }

  /** SIGSTOP: the process stays, its sockets stay open, nothing answers. */
  pause(): void {
    const child = this.requireRunning('pause');
    if (!child.kill('SIGSTOP')) throw new Error(`SIGSTOP to ${this.id} (pid ${child.pid}) failed`);
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') throw new Error(`${this.id} is ${this.state}, not paused`);
    if (!this.child?.kill('SIGCONT')) throw new Error(`SIGCONT to ${this.id} failed`);
    this.state = 'running';
  }

  /** Graceful stop (SIGCONT first if frozen, then SIGTERM); SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = 'stopped';
      return;
    }
    this.stopping = true;
    if (this.state === 'paused') child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), exitWaitMs);
    await this.exited;
    clearTimeout(timer);
    this.state = 'stopped';
  }

  /** For exit handlers: no waiting. */
  killSync(): void {
    const child = this.child;
    this.stopping = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  logTail(bytesMax = 3000): string {
    try {
      const text = readFileSync(this.logPath, 'utf8');
      return text.slice(-bytesMax);
    } catch {
      return '(no log)';
    }
  }

  logBytes(): number {
    try {
      return statSync(this.logPath).size;
    } catch {
      return 0;
    }
  }

  private requireRunning(action: string): ChildProcess {
    const child = this.child;
    if (this.state !== 'running' || !child) throw new Error(`${this.id} is ${this.state}, cannot ${action}`);
    return child;
  }

  private async waitExit(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.id} did not exit within ${exitWaitMs} ms`)), exitWaitMs);
    });
    try {
      await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async waitHealthy(child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${this.id} exited during start (code ${child.exitCode}, signal ${child.signalCode}); log tail:\n${this.logTail()}`);
      }
      try {
        const response = await this.fetch(`${this.url}/health`, { signal: AbortSignal.timeout(healthProbeTimeoutMs) });
        if (response.status === 200) return;
        last = `status ${response.status}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(healthPollIntervalMs);
    }
    throw new Error(`${this.id} not healthy within ${timeoutMs} ms (${last}); log tail:\n${this.logTail()}`);
  }

  /** The signals go to the node itself: the spawned pid must be running node, not a wrapper. */
  private assertPidIsNode(child: ChildProcess): void {
    if (child.pid === undefined) throw new Error(`${this.id} has no pid`);
    if (process.platform !== 'linux') return;
    const executable = readlinkSync(`/proc/${child.pid}/exe`);
    if (executable !== realpathSync(process.execPath)) {
      throw new Error(`pid ${child.pid} of ${this.id} runs ${executable}, not node: signals would miss the node`);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
