/* global fetch, AbortSignal */
// The container's health check (deploy/Dockerfile): GET /health on this node's own port,
// exit 0 when it answers 200 and 1 otherwise. It reads the same environment as the node
// (RINGKV_PORT, RINGKV_TLS_CERT), so the image needs no curl and no extra settings.
import { request as httpsRequest } from 'node:https';

const port = Number(process.env.RINGKV_PORT ?? '8000');
const timeoutMs = Number(process.env.RINGKV_HEALTHCHECK_TIMEOUT_MS ?? '4000');
const tls = (process.env.RINGKV_TLS_CERT ?? '') !== '';

function fail(message) {
  console.error(`ringkv health check: ${message}`);
  process.exit(1);
}

/** Over TLS the node's certificate names its service names, not 127.0.0.1; asking itself, the check does not verify it. */
function tlsStatus(url) {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { rejectUnauthorized: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.once('error', reject);
    request.end();
  });
}

async function plainStatus(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  return response.status;
}

if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`RINGKV_PORT "${process.env.RINGKV_PORT}" is not a port`);
const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/health`;
try {
  const status = tls ? await tlsStatus(url) : await plainStatus(url);
  if (status !== 200) fail(`${url} answered ${status}`);
} catch (error) {
  fail(`${url}: ${error instanceof Error ? error.message : String(error)}`);
}
