// Checks `ringkv watch` against a loopback node:http server writing GET /watch's event
// stream: the NDJSON lines and stderr in process, then the compiled CLI as a user runs it
// (Ctrl-C exits 0 with the cursor to resume, --since sends it, a 410 exits 3 saying to start fresh).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RingkvError, RingkvUnavailableError } from '@ringkv/client';
import { changeLine, resumeHint, watchCommand, watchFailure } from './cli-watch.js';
import { exitCodes } from './exit-codes.js';

const cliPath = join(fileURLToPath(import.meta.url), '..', 'cli.js');
const runTimeoutMs = 15_000;

type Script = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let nodeUrl: string;
let script: Script = () => undefined;
const watchUrls: string[] = [];

function send(response: ServerResponse, event: string, data: unknown, id?: string): void {
  response.write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
}

/** A short feed under a/: ready, a put with a ttl, an expiry, a heartbeat (with a comment line), a put; then the stream stays open. */
const feed: Script = (request, response) => {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  const from = new URL(request.url ?? '/', 'http://x').searchParams.get('since') ?? 'c1';
  send(response, 'ready', { cursor: from, prefix: 'a/' }, from);
  send(response, 'put', { key: 'a/1', value: { n: 1 }, version: '10-n1', expiresAt: '2030-01-01T00:00:00.000Z' }, 'c2');
  send(response, 'delete', { key: 'a/1', deleted: true, expired: true, version: '11-n2' }, 'c3');
  response.write(': a comment line\n\n');
  send(response, 'progress', { cursor: 'c4' }, 'c4');
  send(response, 'put', { key: 'a/2', value: 'two', version: '12-n1' }, 'c5');
};

before(async () => {
  server = createServer((request, response) => {
    if (request.url?.startsWith('/watch')) {
      watchUrls.push(request.url);
      script(request, response);
      return;
    }
    // No /cluster: the client then watches through the --node given.
    response.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'scripted node' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  nodeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const expectedLines = [
  '{"event":"put","key":"a/1","value":{"n":1},"version":"10-n1","expiresAt":"2030-01-01T00:00:00.000Z","cursor":"c2"}',
  '{"event":"delete","key":"a/1","deleted":true,"expired":true,"version":"11-n2","cursor":"c3"}',
  '{"event":"put","key":"a/2","value":"two","version":"12-n1","cursor":"c5"}',
];

describe('ringkv watch', () => {
  it('prints one JSON line per put and delete, heartbeats on stderr with --verbose, and the cursor to resume at the end', async () => {
    script = feed;
    let out = '';
    let err = '';
    const controller = new AbortController();
    const io = {
      out: {
        write: (text: string) => {
          out += text;
          if (out.split('\n').length > expectedLines.length) controller.abort();
        },
      },
      err: { write: (text: string) => (err += text) },
    };
    const code = await watchCommand({ nodes: [nodeUrl] }, { prefix: 'a/', verbose: true, signal: controller.signal }, io);
    assert.equal(code, exitCodes.ok);
    assert.deepEqual(out.trimEnd().split('\n'), expectedLines);
    assert.match(err, /watching from cursor c1/);
    assert.match(err, /progress c4/);
    assert.match(err.trimEnd().split('\n').at(-1) ?? '', /last cursor c5; resume with: ringkv watch a\/ --since c5$/);
  });

  it('formats lines and hints for shells and scripts', () => {
    assert.equal(changeLine({ type: 'progress', cursor: 'c' }), null);
    assert.equal(changeLine({ type: 'delete', cursor: 'c', key: 'k', version: 'v', expired: false }), '{"event":"delete","key":"k","deleted":true,"version":"v","cursor":"c"}');
    assert.equal(resumeHint("it's here", 'c9'), "ringkv: last cursor c9; resume with: ringkv watch 'it'\\''s here' --since c9");
    assert.match(resumeHint('', null), /no cursor yet/);
  });

  it('ends a refusal with the exit code of its status, and losing every node with 3', () => {
    const forbidden = new RingkvError({ type: 'urn:ringkv:problem:forbidden', title: 'Forbidden', status: 403, detail: 'the token reaches keys under b/ only' });
    assert.deepEqual(watchFailure(forbidden, [nodeUrl]), { exitCode: exitCodes.notAllowed, message: 'the token reaches keys under b/ only' });
    const unavailable = new RingkvUnavailableError('GET /watch', [{ url: nodeUrl, kind: 'not-sent', detail: 'ECONNREFUSED' }], false, false);
    assert.equal(watchFailure(unavailable, [nodeUrl]).exitCode, exitCodes.unavailable);
  });

  it('exits 0 on Ctrl-C as a process, with the last cursor on stderr, and --since resumes from it', async () => {
    script = feed;
    watchUrls.length = 0;
    const first = await runUntilLines(['watch', 'a/', '--node', nodeUrl], expectedLines.length);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.deepEqual(first.stdout.trimEnd().split('\n'), expectedLines);
    assert.doesNotMatch(first.stderr, /progress/, 'heartbeats only with --verbose');
    assert.match(first.stderr, /resume with: ringkv watch a\/ --since c5/);
    const resumed = await runUntilLines(['watch', 'a/', '--since', 'c5', '--node', nodeUrl], expectedLines.length);
    assert.equal(resumed.exitCode, 0, resumed.stderr);
    assert.deepEqual(watchUrls, ['/watch?prefix=a%2F', '/watch?prefix=a%2F&since=c5']);
  });

  it('exits 3 on an expired cursor, saying to list the keys and start a fresh watch', async () => {
    script = (_request, response) =>
      response
        .writeHead(410, { 'content-type': 'application/problem+json' })
        .end(JSON.stringify({ type: 'urn:ringkv:problem:watch-cursor-expired', title: 'Cursor expired', status: 410, detail: 'the cursor is older than the 3600 s retention' }));
    const run = await runUntilLines(['watch', '--since', 'old', '--node', nodeUrl], 0);
    assert.equal(run.exitCode, exitCodes.unavailable);
    assert.match(run.stderr, /3600 s retention.*start a fresh watch without --since/);
    assert.doesNotMatch(run.stderr, /resume with/, 'an expired cursor is not offered again');
  });
});

interface Run {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI until it has printed `lines` lines on stdout, then sends SIGINT (0 lines: lets it end by itself). */
function runUntilLines(args: string[], lines: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ringkv ${args.join(' ')} did not end within ${runTimeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, runTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (!interrupted && lines > 0 && stdout.split('\n').length > lines) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}
