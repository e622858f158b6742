// Checks fetchTrusting against a real HTTPS server on loopback with certificates from `createCertificates`: its CA is trusted, others are not.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCertificates } from './certs.js';
import { fetchTrusting } from './trusted-fetch.js';

const root = mkdtempSync(join(tmpdir(), 'ringkv-trusted-fetch-'));
const requestTimeoutMs = 5000;

describe('fetchTrusting', () => {
  let server: Server;
  let baseUrl: string;
  let caPem: string;
  let otherCaPem: string;
  before(async () => {
    createCertificates({ outDir: join(root, 'ours'), nodeIds: ['n1'], hosts: ['127.0.0.1', 'localhost'], days: 30 });
    createCertificates({ outDir: join(root, 'theirs'), nodeIds: ['n1'], hosts: ['127.0.0.1', 'localhost'], days: 30 });
    caPem = readFileSync(join(root, 'ours', 'ca.pem'), 'utf8');
    otherCaPem = readFileSync(join(root, 'theirs', 'ca.pem'), 'utf8');
    server = createServer({ cert: readFileSync(join(root, 'ours', 'n1.pem')), key: readFileSync(join(root, 'ours', 'n1-key.pem')) }, (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ method: request.method, url: request.url, authorization: request.headers.authorization ?? null, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  it('reaches a server whose certificate its CA signed, with method, headers and body', async () => {
    const trusting = fetchTrusting(caPem);
    const answer = await trusting(`${baseUrl}/store/k`, {
      method: 'PUT',
      headers: { authorization: 'Bearer rkv_test' },
      body: '{"value":1}',
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { method: 'PUT', url: '/store/k', authorization: 'Bearer rkv_test', body: '{"value":1}' });
  });

  it('accepts a URL object and a platform Request too', async () => {
    const trusting = fetchTrusting(Buffer.from(caPem));
    assert.equal((await trusting(new URL(`${baseUrl}/a`), { signal: AbortSignal.timeout(requestTimeoutMs) })).status, 200);
    const request = new Request(`${baseUrl}/b`, { method: 'POST', headers: { authorization: 'Bearer x' }, body: 'hi' });
    assert.deepEqual(await (await trusting(request)).json(), { method: 'POST', url: '/b', authorization: 'Bearer x', body: 'hi' });
  });

  it('refuses the server with another CA, and so does the platform fetch without one', async () => {
    await assert.rejects(fetchTrusting(otherCaPem)(`${baseUrl}/x`, { signal: AbortSignal.timeout(requestTimeoutMs) }), TypeError);
    await assert.rejects(fetchTrusting()(`${baseUrl}/x`, { signal: AbortSignal.timeout(requestTimeoutMs) }), TypeError);
  });
});
