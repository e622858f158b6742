// Real-browser support for the dashboard test: launches Debian's Chromium through
// playwright-core and records everything a page does wrong while it is watched.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/** Flags for a sandbox-less CI container with no GPU and no outbound background traffic. */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests should be skipped, or null to run them. Only an explicit opt-out skips. */
export function browserSkipReason(): string | null {
  return process.env.RINGKV_SKIP_BROWSER === '1' ? 'RINGKV_SKIP_BROWSER=1' : null;
}

/** Launches Chromium, failing loudly when it is not installed (a missing browser is not a pass). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}. Install it with ` +
        '`apt-get install -y chromium`, or set RINGKV_SKIP_BROWSER=1 to skip browser tests.',
    );
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

export interface PageWatch {
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** Requests that got no answer at all (refused, reset, aborted). */
  failedRequests: string[];
  /** Answers with status >= 400 that no test declared as expected. */
  errorResponses: string[];
  /** Requests to anywhere but the node that served the page. */
  offOriginRequests: string[];
  /** Declares error answers a test provokes on purpose, so they are not counted. */
  expectErrorResponses(matches: (url: string, status: number) => boolean): void;
  /** Stops recording, e.g. before closing the page aborts polls in flight. */
  stop(): void;
}

/** Records a page's errors, failed and off-origin requests from now on. */
export function watchPage(page: Page, origin: string): PageWatch {
  const expected: Array<(url: string, status: number) => boolean> = [];
  let recording = true;
  const watch: PageWatch = {
    pageErrors: [],
    failedRequests: [],
    errorResponses: [],
    offOriginRequests: [],
    expectErrorResponses: (matches) => expected.push(matches),
    stop: () => {
      recording = false;
    },
  };
  page.on('pageerror', (error) => recording && watch.pageErrors.push(error.message));
  page.on('request', (request) => {
    if (recording && !request.url().startsWith(`${origin}/`)) watch.offOriginRequests.push(request.url());
  });
  page.on('requestfailed', (request) => {
    // A watch's stream is aborted on purpose when the Changes panel pauses or starts again.
    const stoppedWatch = new URL(request.url()).pathname === '/watch' && request.failure()?.errorText === 'net::ERR_ABORTED';
    if (recording && !stoppedWatch) watch.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? '?'}`);
  });
  page.on('response', (response) => {
    const status = response.status();
    if (!recording || status < 400 || expected.some((matches) => matches(response.url(), status))) return;
    watch.errorResponses.push(`${status} ${response.request().method()} ${response.url()}`);
  });
  return watch;
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Said in the error when the condition never held. */
  what: string;
}

/**
 * Calls `probe` until it returns a value other than undefined, bounded both in time and
 * in attempts, and returns that value; throws with the last observation otherwise.
 */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const intervalMs = options.intervalMs ?? 200;
  const attemptsMax = Math.ceil(options.timeoutMs / intervalMs) + 1;
  const deadlineMs = Date.now() + options.timeoutMs;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < attemptsMax && Date.now() <= deadlineMs; attempt++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${last}`);
}
