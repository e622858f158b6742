// Drives the dashboard served by real nodes in headless Chromium: on an open 3-node
// cluster the overview and ring, the ring changes offered (and those N=3 forbids), data movement and a transfer cap and background floor set from it, a write through the key explorer, the key
// list searching the whole cluster by prefix (or the serving node only) and a node killed mid-session; on a node started with an auth file the sign-in form, what
// each role is shown, prefix-limited and revoked tokens, where the token is kept, and a node
// on standby joined from the overview; all while recording page errors, failed requests and any request leaving the node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium, pollUntil, watchPage, type PageWatch } from './support/browser.js';
import { startCluster, type TestCluster } from './support/cluster.js';

const artifactsDir = fileURLToPath(new URL('../artifacts/', import.meta.url));
const cliPath = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));
const readmeScreenshot = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const viewport = { width: 1360, height: 900 };
const seededKeyCount = 24;
/** Only for the README picture: enough traffic for a few points on the charts. */
const readmeTrafficMs = 20_000;

describe('dashboard in a real browser', { skip: browserSkipReason() ?? false, timeout: 90_000 }, () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  let origin: string;
  let nodeIds: string[];

  before(async () => {
    await mkdir(artifactsDir, { recursive: true });
    browser = await launchChromium();
    cluster = await startCluster({ nodes: 3, replicas: 3, storage: 'memory' });
    nodeIds = cluster.nodes.map((node) => node.id);
    const first = cluster.nodes[0];
    assert.ok(first);
    origin = new URL(first.url).origin;
    // A few keys so the distribution chart and the key list have something to show.
    for (let index = 0; index < seededKeyCount; index++) {
      await first.client.put(`user:${String(index).padStart(2, '0')}`, { visits: index }, 'all');
    }
    page = await browser.newPage({ viewport });
    page.setDefaultTimeout(10_000);
    watch = watchPage(page, origin);
    await page.goto(`${origin}/dashboard/`);
  }, { timeout: 45_000 });

  after(async () => {
    watch?.stop();
    await browser?.close();
    await cluster?.stop();
  });

  test('the overview lists every node up and the ring shares add up to 100%', { timeout: 45_000 }, async () => {
    for (const nodeId of nodeIds) {
      await pollUntil(async () => ((await stateOf(page, nodeId)) === 'up' ? true : undefined), {
        timeoutMs: 10_000,
        what: `${nodeId} shown up`,
      });
    }
    assert.equal(await page.locator('[data-testid^="node-row-"]').count(), 3);
    // Without an auth file nobody signs in, every caller is admin, and the header says so.
    assert.equal(await page.getByTestId('sign-in-form').count(), 0);
    assert.equal(await page.getByTestId('identity-role').textContent(), 'admin');
    assert.equal(await page.getByTestId('identity-open').count(), 1);
    assert.equal(await page.getByTestId('security-warnings').count(), 0, 'a loopback cluster started normally warns of nothing');

    const shares = await Promise.all(
      nodeIds.map(async (nodeId) => {
        const text = await page.getByTestId(`ring-share-${nodeId}`).textContent({ timeout: 10_000 });
        return Number((text ?? '').replace('%', ''));
      }),
    );
    for (const share of shares) assert.ok(share > 0, `every node owns part of the ring: ${shares.join(', ')}`);
    const total = shares.reduce((sum, share) => sum + share, 0);
    assert.ok(Math.abs(total - 100) <= 0.1, `ring shares add up to ${total}%`);

    // Hovering a range (its primary band: ranges are thin slivers) names its token span
    // and its three replicas; the arrow keys move the selection to the next range.
    await page.getByTestId('ring-range-0').locator('path').first().hover();
    assert.match((await page.getByTestId('ring-range-span').textContent()) ?? '', /^\(0x[0-9a-f]{8}, 0x[0-9a-f]{8}\]$/);
    assert.equal(await page.getByTestId('ring-range-replicas').locator('li').count(), 3);
    await page.mouse.move(0, 0);
    await page.getByTestId('ring-range-0').focus();
    await page.keyboard.press('ArrowRight');
    assert.match((await page.getByTestId('ring-range-details').locator('h3').textContent()) ?? '', /^Range 2 of \d+$/);

    // Traffic history gains a point every 5 s; wait for the charts before the screenshot.
    const updatingReadme = process.env.RINGKV_UPDATE_SCREENSHOT === '1';
    if (updatingReadme) await sendSteadyTraffic(cluster, readmeTrafficMs);
    await page.getByTestId('traffic-chart-requestsPerSecond').waitFor({ timeout: 15_000 });
    await page.getByTestId(`key-counts-${nodeIds[0]}`).waitFor();
    const overviewPath = `${artifactsDir}dashboard-overview.png`;
    await page.screenshot({ path: overviewPath, fullPage: true });
    if (updatingReadme) await copyFile(overviewPath, readmeScreenshot);
  });

  test('the ring column shows every node normal, and data movement and tombstones are shown', { timeout: 15_000 }, async () => {
    for (const nodeId of nodeIds) {
      await pollUntil(
        async () => ((await page.getByTestId(`ring-status-${nodeId}`).textContent({ timeout: 1_000 })) === 'normal' ? true : undefined),
        { timeoutMs: 5_000, what: `${nodeId} shown normal in the ring` },
      );
      assert.match((await page.getByTestId(`tombstones-${nodeId}`).textContent()) ?? '', /^\d[\d,]*$/);
    }

    // Right after the cluster starts a node may still list a (finished) cleanup job; the
    // section shows either job rows or the empty message, never an error.
    const section = page.getByTestId('section-data-movement');
    assert.equal(await section.getByRole('heading', { name: 'Data movement', level: 2 }).count(), 1);
    const empty = section.getByTestId('jobs-empty');
    const table = section.getByTestId('jobs-table');
    await empty.or(table).first().waitFor({ timeout: 5_000 });
    if ((await table.count()) > 0) {
      const rows = table.locator('tbody tr');
      assert.ok((await rows.count()) > 0);
      for (const progress of await rows.locator('.job-progress-text').allTextContents()) assert.match(progress, /^(\d+%|—)$/);
    } else {
      assert.match((await empty.textContent()) ?? '', /^(No data movement: the ring is stable\.|The ring is changing; its transfers have not started yet\.)$/);
    }
    assert.match((await section.getByTestId('rebalancing-status').textContent()) ?? '', /^(Ring stable|Rebalancing)$/);
  });

  test('an admin is offered Leave for every member, each blocked with the reason while N=3 needs all three', { timeout: 10_000 }, async () => {
    const overview = page.getByTestId('section-overview');
    for (const nodeId of nodeIds) {
      const leave = overview.getByTestId(`ring-change-${nodeId}-leave`);
      await leave.waitFor({ timeout: 5_000 });
      assert.equal(await leave.isDisabled(), true, `${nodeId}'s Leave is disabled`);
      assert.equal(await leave.getAttribute('title'), 'The node would refuse: only 2 members would remain for 3 replicas per key; add a node first');
    }
    assert.equal(await overview.locator('[data-testid^="ring-change-"]').count(), nodeIds.length, 'normal members up are offered Leave alone');
  });

  test('an admin sets a node\'s transfer cap in the Data movement panel, and the cluster agrees', { timeout: 30_000 }, async () => {
    // Not the serving node, so the Set goes through the forwarding path.
    const target = nodeIds[1] ?? '';
    const section = page.getByTestId('section-data-movement');
    const capOf = (nodeId: string) => section.getByTestId(`pace-${nodeId}-cap`).textContent({ timeout: 2_000 });
    for (const nodeId of nodeIds) {
      await pollUntil(async () => ((await capOf(nodeId)) === 'no cap' ? true : undefined), { timeoutMs: 5_000, what: `${nodeId} listed with no cap` });
      assert.match((await section.getByTestId(`pace-${nodeId}-share`).textContent()) ?? '', /^\d+%$/);
      assert.match((await section.getByTestId(`pace-${nodeId}-pressure`).textContent()) ?? '', /^(\d+%|not measured)$/);
      assert.match((await section.getByTestId(`pace-${nodeId}-received`).textContent()) ?? '', /MB$/);
    }
    const input = section.getByTestId(`pace-${target}-input`);
    const set = section.getByTestId(`pace-${target}-set`);

    // An empty field is refused before anything is sent; a cap beyond the node's bound shows its problem detail.
    await set.click();
    assert.match((await section.getByTestId(`pace-${target}-error`).textContent()) ?? '', /^Enter a cap in MB\/s/);
    watch.expectErrorResponses((url, status) => status === 400 && new URL(url).pathname === '/jobs/pace');
    await input.fill('200000');
    await set.click();
    assert.match((await section.getByTestId(`pace-${target}-error`).textContent()) ?? '', /^Setting the cap failed: .*transferMbPerSecond.* \(HTTP 400\)$/);

    await input.fill('7');
    await set.click();
    assert.equal(await section.getByTestId(`pace-${target}-answer`).textContent(), `${target} now receives transfers at up to 7 MB/s.`);
    assert.equal(await capOf(target), '7 MB/s');
    const gathered = await cluster.nodes[0]?.client.clusterJobs();
    assert.deepEqual(gathered?.paces.map((pace) => [pace.node, pace.transferMbPerSecond]), nodeIds.map((nodeId) => [nodeId, nodeId === target ? 7 : 0]));
    await section.screenshot({ path: `${artifactsDir}dashboard-data-movement.png` });

    // A second page, which saw no answer, shows the cap from its poll alone. It is not
    // watched: closing it aborts its polls on purpose.
    const fresh = await browser.newPage({ viewport });
    try {
      await fresh.goto(`${origin}/dashboard/`);
      const freshCap = fresh.getByTestId('section-data-movement').getByTestId(`pace-${target}-cap`);
      assert.equal(await freshCap.textContent({ timeout: 10_000 }), '7 MB/s');
    } finally {
      await fresh.close();
    }

    // 0 lifts the cap again, so the rest of the file runs as before.
    await input.fill('0');
    await set.click();
    assert.equal(await section.getByTestId(`pace-${target}-answer`).textContent(), `${target} now receives transfers with no cap.`);
    assert.equal((await cluster.nodes[1]?.client.jobs())?.paces[0]?.transferMbPerSecond, 0);
  });

  test('an admin sets a node\'s background floor in the Data movement panel, and the node agrees', { timeout: 30_000 }, async () => {
    // Not the serving node, so the Set goes through the forwarding path.
    const targetIndex = 1;
    const target = nodeIds[targetIndex] ?? '';
    const section = page.getByTestId('section-data-movement');
    const floorOf = (nodeId: string) => section.getByTestId(`pace-${nodeId}-floor`).textContent({ timeout: 2_000 });
    for (const nodeId of nodeIds) {
      await pollUntil(async () => ((await floorOf(nodeId)) === '10%' ? true : undefined), { timeoutMs: 5_000, what: `${nodeId} listed with the default floor` });
    }
    const input = section.getByTestId(`pace-${target}-floor-input`);
    const set = section.getByTestId(`pace-${target}-floor-set`);
    const error = section.getByTestId(`pace-${target}-floor-error`);

    // An empty field and a percent out of range are refused before anything is sent.
    const sent: string[] = [];
    const recordPace = (request: { url(): string; method(): string }) => {
      if (new URL(request.url()).pathname === '/jobs/pace') sent.push(request.method());
    };
    page.on('request', recordPace);
    try {
      await set.click();
      assert.equal(await error.textContent(), 'Enter a floor in percent, 1 to 100.');
      await input.fill('150');
      await set.click();
      assert.equal(await error.textContent(), 'The floor is a whole percent from 1 to 100.');
    } finally {
      page.off('request', recordPace);
    }
    assert.deepEqual(sent, [], 'no request left for a refused floor');

    // The serving node gets the share with ?node=, and forwards it.
    const request = page.waitForRequest((candidate) => candidate.method() === 'PUT' && new URL(candidate.url()).pathname === '/jobs/pace');
    await input.fill('25');
    await set.click();
    const put = await request;
    assert.equal(new URL(put.url()).origin, origin);
    assert.equal(new URL(put.url()).searchParams.get('node'), target);
    assert.deepEqual(put.postDataJSON(), { backgroundShareMin: 0.25 });
    assert.equal(await section.getByTestId(`pace-${target}-floor-answer`).textContent(), `${target}'s background jobs now keep at least 25% of its time under client load.`);
    assert.equal(await floorOf(target), '25%');
    assert.equal((await cluster.nodes[targetIndex]?.client.jobs())?.paces[0]?.backgroundShareMin, 0.25);
    for (const nodeId of nodeIds.filter((nodeId) => nodeId !== target)) assert.equal(await floorOf(nodeId), '10%', `${nodeId} keeps its floor`);
    assert.equal(await section.getByTestId(`pace-${target}-cap`).textContent(), 'no cap', 'setting the floor leaves the cap');

    // Back to the default, so the rest of the file runs as before.
    await input.fill('10');
    await set.click();
    assert.equal(await section.getByTestId(`pace-${target}-floor-answer`).textContent(), `${target}'s background jobs now keep at least 10% of its time under client load.`);
    assert.equal((await cluster.nodes[targetIndex]?.client.jobs())?.paces[0]?.backgroundShareMin, 0.1);
  });

  test('a key put through the explorer is held by 3 replicas and readable on another node', { timeout: 30_000 }, async () => {
    const key = `dashboard:${Date.now()}`;
    const value = { written: 'through the dashboard', tags: ['ui', 'e2e'] };

    // Invalid JSON is refused before anything is sent.
    await page.getByTestId('explorer-key').fill(key);
    await page.getByTestId('explorer-value').fill('not json');
    assert.match((await page.getByTestId('explorer-value-error').textContent()) ?? '', /Not valid JSON/);

    await page.getByTestId('explorer-value').fill(JSON.stringify(value));
    await page.getByTestId('explorer-consistency').selectOption('all');
    await page.getByTestId('explorer-put').click();
    const message = await page.getByTestId('explorer-message').textContent({ timeout: 10_000 });
    assert.match(message ?? '', /^Stored version /);

    const version = await page.getByTestId('explorer-result-version').textContent({ timeout: 10_000 });
    assert.ok(version, 'the explorer shows the version read');
    assert.deepEqual(JSON.parse((await page.getByTestId('explorer-result-value').textContent()) ?? ''), value);
    for (const nodeId of nodeIds) {
      assert.equal(await page.getByTestId(`replica-version-${nodeId}`).textContent(), version, `${nodeId} holds the version read`);
      assert.equal(await page.getByTestId(`replica-agreement-${nodeId}`).textContent(), 'same as read');
    }
    await page.locator('#explorer').screenshot({ path: `${artifactsDir}dashboard-explorer.png` });

    const other = cluster.nodes[1];
    assert.ok(other);
    const stored = await other.client.get(key);
    assert.deepEqual(stored?.value, value);
    assert.equal(stored?.version, version);
  });

  test('a key put with a TTL through the explorer shows when it expires, then reads as absent with its copies marked expired', { timeout: 30_000 }, async () => {
    const key = `dashboard:ttl:${Date.now()}`;
    // Reading the key once it has expired is a 404, as for any absent key.
    watch.expectErrorResponses((url, status) => status === 404 && url.includes(`/store/${encodeURIComponent(key)}?`));
    await page.getByTestId('explorer-key').fill(key);
    await page.getByTestId('explorer-value').fill('"short-lived"');
    await page.getByTestId('explorer-ttl').fill('1.5');
    assert.match((await page.getByTestId('explorer-ttl-error').textContent()) ?? '', /whole number of seconds/);
    await page.getByTestId('explorer-ttl').fill('3');
    await page.getByTestId('explorer-consistency').selectOption('all');
    const putAtMs = Date.now();
    await page.getByTestId('explorer-put').click();
    assert.match((await page.getByTestId('explorer-message').textContent({ timeout: 10_000 })) ?? '', /^Stored version .* Expires at \S+Z \(expires in [1-3] s\)\.$/);
    const expiresAt = (await page.getByTestId('explorer-result-expires-at').textContent({ timeout: 10_000 })) ?? '';
    const aheadMs = Date.parse(expiresAt) - putAtMs;
    assert.ok(aheadMs > 1_500 && aheadMs < 4_500, `expiresAt ${expiresAt} is not about 3 s after the put`);
    assert.match((await page.getByTestId('explorer-result-expires-in').textContent()) ?? '', /^expires in [1-3] s$/);
    for (const nodeId of nodeIds) assert.equal(await page.getByTestId(`replica-expires-${nodeId}`).textContent(), expiresAt);
    const stored = await cluster.nodes[1]?.client.get(key);
    assert.equal(stored?.expiresAt, expiresAt, 'another node reports the same expiry');

    // Once it has passed: the read finds nothing and every copy says it expired. The read and
    // the replicas' view are two requests: one may land a moment before the expiry, the other
    // after, so both are asked again until both agree.
    await pollUntil(
      async () => {
        await page.getByTestId('explorer-get').click();
        const agreements = await Promise.all(nodeIds.map((nodeId) => page.getByTestId(`replica-agreement-${nodeId}`).textContent({ timeout: 2_000 })));
        const result = (await page.getByTestId('explorer-result').textContent({ timeout: 2_000 })) ?? '';
        return agreements.every((text) => text?.startsWith('expired')) && /Not found/.test(result) ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 500, what: `the read of ${key} to find nothing and every copy to show expired` },
    );
    await page.getByTestId('explorer-ttl').fill('');
  });

  test('the key list pages through keys by prefix', { timeout: 20_000 }, async () => {
    await page.locator('#browse-limit').selectOption('10');
    await page.getByTestId('browse-prefix').fill('user:');
    await page.getByTestId('browse-list').click();
    await waitForFirstListedKey(page, 'user:00');
    const firstPage = await listedKeys(page, 10);
    assert.deepEqual(firstPage, Array.from({ length: 10 }, (_, index) => `user:${String(index).padStart(2, '0')}`));
    await page.getByTestId('browse-next').click();
    assert.equal(await page.getByTestId('browse-page').textContent(), 'Page 2');
    await waitForFirstListedKey(page, 'user:10');
    await page.getByTestId('browse-first').click();
    await waitForFirstListedKey(page, 'user:00');
    assert.deepEqual(await listedKeys(page, 10), firstPage);

    await page.getByTestId('browse-prefix').fill('user:2');
    await page.getByTestId('browse-list').click();
    await waitForFirstListedKey(page, 'user:20');
    assert.deepEqual(await listedKeys(page, 4), ['user:20', 'user:21', 'user:22', 'user:23']);
    assert.equal(await page.getByTestId('browse-next').isDisabled(), true);
  });

  test('the key list searches the whole cluster by prefix, finding a key written through another node; the switch lists this node only', { timeout: 20_000 }, async () => {
    const writer = cluster.nodes[1];
    assert.ok(writer);
    const key = `found/via-${writer.id}/${Date.now()}`;
    await writer.client.put(key, { writtenThrough: writer.id }, 'all');

    assert.equal(await page.getByTestId('browse-node-only').isChecked(), false, 'the whole cluster is searched by default');
    await page.getByTestId('browse-prefix').fill('found/');
    const clusterListing = page.waitForRequest((request) => new URL(request.url()).pathname === '/cluster/keys');
    await page.getByTestId('browse-list').click();
    assert.equal(new URL((await clusterListing).url()).searchParams.get('prefix'), 'found/');
    await waitForFirstListedKey(page, key);
    assert.equal(await page.getByTestId('browse-heading').textContent(), 'Keys in the cluster');
    assert.equal(await page.getByTestId('browse-next').isDisabled(), true);

    // The switch asks the serving node for its own keys (N=3 on three nodes and w=all: it holds this one too).
    const nodeListing = page.waitForRequest((request) => new URL(request.url()).pathname === '/keys');
    await page.getByTestId('browse-node-only').check();
    assert.equal(new URL((await nodeListing).url()).searchParams.get('prefix'), 'found/');
    assert.match((await page.getByTestId('browse-heading').textContent()) ?? '', /^Stored keys/);
    await waitForFirstListedKey(page, key);
    await page.getByTestId('browse-node-only').uncheck();
    await waitForFirstListedKey(page, key);
  });

  test('the Changes panel shows puts and deletes written through other nodes as they happen, and a pause misses nothing', { timeout: 30_000 }, async () => {
    const [, second, third] = cluster.nodes;
    assert.ok(second && third);
    const prefix = `live-${Date.now()}/`;
    await page.getByTestId('changes-prefix').fill(prefix);
    await page.getByTestId('changes-start').click();
    await pollUntil(async () => ((await page.getByTestId('changes-status').getAttribute('data-phase')) === 'live' ? true : undefined), { timeoutMs: 10_000, what: 'the feed live' });
    await second.client.put(`${prefix}a`, { n: 1 }, 'quorum');
    await third.client.delete(`${prefix}a`, 'quorum');
    const row = (kind: string, key: string) => page.locator(`[data-testid="changes-row"][data-kind="${kind}"][data-key="${key}"]`);
    await row('put', `${prefix}a`).waitFor({ timeout: 10_000 });
    await row('delete', `${prefix}a`).waitFor({ timeout: 10_000 });
    // Paused, the feed keeps its cursor: what is written meanwhile arrives on resume.
    await page.getByTestId('changes-pause').click();
    await second.client.put(`${prefix}while-paused`, 'kept', 'quorum');
    await page.getByTestId('changes-resume').click();
    await row('put', `${prefix}while-paused`).waitFor({ timeout: 10_000 });
    assert.equal(await row('put', `${prefix}a`).count(), 1, 'each change is shown once');
    await page.getByTestId('changes-pause').click();
  });

  test('a killed node is marked down and the explorer still reads keys', { timeout: 30_000 }, async (context) => {
    const victim = cluster.nodes[2];
    assert.ok(victim);
    const killedAtMs = Date.now();
    await victim.kill('SIGKILL');
    await pollUntil(async () => ((await stateOf(page, victim.id)) === 'down' ? true : undefined), {
      timeoutMs: 15_000,
      what: `${victim.id} shown down`,
    });
    context.diagnostic(`marked down ${Date.now() - killedAtMs} ms after SIGKILL`);
    assert.equal(await stateOf(page, nodeIds[0] ?? ''), 'up');

    await page.getByTestId('explorer-key').fill('user:07');
    await page.getByTestId('explorer-consistency').selectOption('quorum');
    await page.getByTestId('explorer-get').click();
    const text = await pollUntil(
      async () => {
        const shown = await page.getByTestId('explorer-result-value').textContent({ timeout: 1_000 });
        return shown !== null && shown.includes('visits') ? shown : undefined;
      },
      { timeoutMs: 10_000, what: 'user:07 read through the explorer' },
    );
    assert.deepEqual(JSON.parse(text), { visits: 7 });
    await pollUntil(
      async () => ((await page.getByTestId(`replica-agreement-${victim.id}`).textContent({ timeout: 1_000 })) === 'did not answer' ? true : undefined),
      { timeoutMs: 5_000, what: `${victim.id} listed as an unreachable replica` },
    );
    await page.screenshot({ path: `${artifactsDir}dashboard-node-down.png`, fullPage: true });
    // A member held down is offered Remove in place of Leave; here the two left could not hold N=3.
    const remove = page.getByTestId(`ring-change-${victim.id}-remove`);
    await remove.waitFor({ timeout: 5_000 });
    assert.equal(await page.getByTestId(`ring-change-${victim.id}-leave`).count(), 0);
    assert.equal(await remove.getAttribute('title'), 'The node would refuse: only 2 members would remain for 3 replicas per key; add a node first');

    // Reading with r=all cannot succeed with a replica down: the API's problem detail is shown.
    watch.expectErrorResponses((url, status) => url.endsWith('/store/user%3A07?r=all') && status >= 500);
    await page.getByTestId('explorer-consistency').selectOption('all');
    await page.getByTestId('explorer-get').click();
    const problem = await page.getByTestId('explorer-read-error').textContent({ timeout: 10_000 });
    assert.match(problem ?? '', /^Read failed: .+ \(HTTP 5\d\d\)$/);
  });

  test('the page raised no errors, had no failed requests and stayed on its origin', () => {
    watch.stop();
    assert.deepEqual(watch.pageErrors, [], 'page errors');
    assert.deepEqual(watch.failedRequests, [], 'failed requests');
    assert.deepEqual(watch.errorResponses, [], 'error responses');
    assert.deepEqual(watch.offOriginRequests, [], 'off-origin requests');
  });
});

describe('dashboard on a node that requires tokens', { skip: browserSkipReason() ?? false, timeout: 120_000 }, () => {
  let authDir: string;
  let authFile: string;
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  let origin: string;
  const tokens = { read: '', write: '', admin: '', teamA: '', doomed: '' };
  /** Every URL the page requested, to prove no token ever travels in one. */
  const requestedUrls: string[] = [];
  /** Authorization headers the page sent to the API. */
  const sentAuthorizations = new Set<string>();

  before(async () => {
    authDir = mkdtempSync(join(tmpdir(), 'ringkv-dashboard-auth-'));
    authFile = join(authDir, 'tokens.json');
    tokens.read = createTokenWithCli(authFile, ['--role', 'read', '--name', 'reader']);
    tokens.write = createTokenWithCli(authFile, ['--role', 'write', '--name', 'writer']);
    tokens.admin = createTokenWithCli(authFile, ['--role', 'admin', '--name', 'operator']);
    tokens.teamA = createTokenWithCli(authFile, ['--role', 'read', '--name', 'team-a-reader', '--prefix', 'team-a:']);
    tokens.doomed = createTokenWithCli(authFile, ['--role', 'write', '--name', 'doomed']);
    browser = await launchChromium();
    // --insecure on loopback changes nothing but the warning the banner must show.
    cluster = await startCluster({ nodes: 1, replicas: 1, storage: 'memory', extraArgs: ['--auth-file', authFile, '--insecure'], token: tokens.admin });
    const node = cluster.nodes[0];
    assert.ok(node);
    origin = new URL(node.url).origin;
    for (const key of ['team-a:1', 'team-a:2', 'team-b:1', 'shared:greeting']) await node.client.put(key, { key });
    page = await browser.newPage({ viewport });
    page.setDefaultTimeout(10_000);
    watch = watchPage(page, origin);
    page.on('request', (request) => {
      requestedUrls.push(request.url());
      const authorization = request.headers().authorization;
      if (authorization !== undefined) sentAuthorizations.add(authorization);
    });
    // Asking who we are before signing in, and the wrong tokens tried below, answer 401.
    watch.expectErrorResponses((url, status) => status === 401 && new URL(url).pathname === '/auth/me');
    await page.goto(`${origin}/dashboard/`);
  }, { timeout: 60_000 });

  after(async () => {
    watch?.stop();
    await browser?.close();
    await cluster?.stop();
    if (authDir !== undefined) rmSync(authDir, { recursive: true, force: true });
  });

  test('the page asks for a token and refuses a wrong one', { timeout: 20_000 }, async () => {
    await page.getByTestId('sign-in-form').waitFor();
    assert.equal(await page.getByTestId('sign-in-token').getAttribute('type'), 'password');
    assert.match((await page.getByTestId('sign-in-form').textContent()) ?? '', /npx ringkv token create --auth-file/);
    assert.equal(await page.locator('[data-testid^="node-row-"]').count(), 0, 'nothing of the cluster is shown before signing in');
    await page.screenshot({ path: `${artifactsDir}dashboard-sign-in.png` });

    await page.getByTestId('sign-in-token').fill('rkv_not-a-token');
    await page.getByTestId('sign-in-submit').click();
    assert.match((await page.getByTestId('sign-in-error').textContent()) ?? '', /refused this token/);
    assert.equal(await sessionToken(page), null, 'a refused token is not kept');
  });

  test('a read token shows its role and hides every write and admin control', { timeout: 20_000 }, async () => {
    await signIn(page, tokens.read);
    assert.equal(await page.getByTestId('identity-role').textContent(), 'read');
    assert.equal(await page.getByTestId('identity-name').textContent(), 'reader');
    await page.locator('[data-testid^="node-row-"]').first().waitFor();

    // Reading works; writing, repair and job control are not offered.
    await page.getByTestId('explorer-key').fill('shared:greeting');
    await page.getByTestId('explorer-get').click();
    assert.deepEqual(JSON.parse((await page.getByTestId('explorer-result-value').textContent()) ?? ''), { key: 'shared:greeting' });
    await page.getByTestId('explorer-read-only').waitFor();
    for (const control of ['explorer-put', 'explorer-delete', 'explorer-value', 'repair-run']) {
      assert.equal(await page.getByTestId(control).count(), 0, `${control} is hidden from a read token`);
    }
    assert.equal(await page.locator('[data-testid^="ring-change-"]').count(), 0, 'no ring change is offered to a read token');
    assert.match((await page.getByTestId('section-overview').textContent()) ?? '', /removing members needs an admin token/);
    assert.match((await page.getByTestId('section-data-movement').textContent()) ?? '', /needs an admin token/);
    await page.locator('.page-header').screenshot({ path: `${artifactsDir}dashboard-signed-in-read.png` });

    // The token lives in this tab's sessionStorage, nowhere else, and never in a URL.
    assert.equal(await sessionToken(page), tokens.read);
    assert.equal(await page.evaluate(() => window.localStorage.length), 0);
    assert.equal(page.url().includes(tokens.read), false);
    assert.ok(sentAuthorizations.has(`Bearer ${tokens.read}`), 'API requests carry the token as a bearer header');
  });

  test('a read token sees each node\'s transfer pace but no Set control', { timeout: 15_000 }, async () => {
    const section = page.getByTestId('section-data-movement');
    assert.equal(await section.getByTestId('pace-n1-cap').textContent(), 'no cap');
    assert.match((await section.getByTestId('pace-n1-share').textContent()) ?? '', /^\d+%$/);
    assert.equal(await section.getByTestId('pace-n1-set').count(), 0, 'a read token is offered no Set');
    assert.equal(await section.getByTestId('pace-n1-input').count(), 0);
    assert.equal(await section.getByTestId('pace-n1-floor').textContent(), '10%');
    assert.equal(await section.getByTestId('pace-n1-floor-set').count(), 0, 'nor a Set of the floor');
    assert.match((await section.textContent()) ?? '', /Pausing, resuming or pacing transfers needs an admin token/);
  });

  test('a banner shows the warning of a node started with --insecure', { timeout: 15_000 }, async () => {
    const warning = (await page.getByTestId('security-warning').first().textContent()) ?? '';
    assert.match(warning, /^started with --insecure: .+ \(n1\)$/);
  });

  test('a reload keeps the session and signing out forgets the token', { timeout: 20_000 }, async () => {
    await page.reload();
    assert.equal(await page.getByTestId('identity-role').textContent(), 'read');
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-form').waitFor();
    assert.equal(await page.getByTestId('sign-in-reason').count(), 0, 'signing out is not an error');
    assert.equal(await sessionToken(page), null);
  });

  test('a write token may put and delete but not repair', { timeout: 20_000 }, async () => {
    await signIn(page, tokens.write);
    assert.equal(await page.getByTestId('identity-role').textContent(), 'write');
    await page.getByTestId('explorer-key').fill('written:by-writer');
    await page.getByTestId('explorer-value').fill('{"ok":true}');
    await page.getByTestId('explorer-put').click();
    assert.match((await page.getByTestId('explorer-message').textContent()) ?? '', /^Stored version /);
    assert.equal(await page.getByTestId('explorer-delete').count(), 1);
    assert.equal(await page.getByTestId('repair-run').count(), 0);
    await page.getByTestId('sign-out').click();
  });

  test('an admin token shows the admin controls, and repair runs', { timeout: 30_000 }, async () => {
    await signIn(page, tokens.admin);
    assert.equal(await page.getByTestId('identity-role').textContent(), 'admin');
    assert.equal(await page.getByTestId('identity-name').textContent(), 'operator');
    assert.equal(await page.getByTestId('explorer-put').count(), 1);
    assert.doesNotMatch((await page.getByTestId('section-data-movement').textContent()) ?? '', /needs an admin token/);
    await page.getByTestId('pace-n1-set').waitFor({ timeout: 5_000 });
    // The only member holding ranges (N=1) may not leave; the button says why.
    assert.equal(await page.getByTestId('ring-change-n1-leave').isDisabled(), true);
    assert.doesNotMatch((await page.getByTestId('section-overview').textContent()) ?? '', /needs an admin token/);
    await page.getByTestId('repair-run').click();
    assert.match((await page.getByTestId('repair-message').textContent({ timeout: 15_000 })) ?? '', /^n1 ran a repair round: /);
    await page.locator('.page-header').screenshot({ path: `${artifactsDir}dashboard-signed-in-admin.png` });
    await page.getByTestId('sign-out').click();
  });

  test('a prefix-limited token lists only its keys and is refused others with the reason', { timeout: 20_000 }, async () => {
    watch.expectErrorResponses((url, status) => status === 403 && url.includes('team-b'));
    await signIn(page, tokens.teamA);
    assert.equal(await page.getByTestId('identity-prefix').textContent(), 'keys under “team-a:”');
    await page.getByTestId('browse-token-prefix').waitFor();
    assert.deepEqual(await listedKeys(page, 2), ['team-a:1', 'team-a:2'], 'the node lists only the keys the token reaches');

    await page.getByTestId('explorer-key').fill('team-b:1');
    await page.getByTestId('explorer-get').click();
    const refusal = (await page.getByTestId('explorer-refusal').textContent()) ?? '';
    assert.match(refusal, /^Your token may not do this: .*team-a:.*team-b:1/);
    assert.equal(await page.getByTestId('explorer-result-value').count(), 0);
    await page.getByTestId('sign-out').click();
  });

  test('a token revoked while signed in sends the page back to the form with the reason', { timeout: 30_000 }, async () => {
    // Once revoked, every poll of the open page answers 401 until it signs out.
    watch.expectErrorResponses((_url, status) => status === 401);
    await signIn(page, tokens.doomed);
    assert.equal(await page.getByTestId('identity-role').textContent(), 'write');
    runCli(['token', 'revoke', '--auth-file', authFile, '--name', 'doomed']);
    await page.getByTestId('sign-in-reason').waitFor({ timeout: 15_000 });
    assert.match((await page.getByTestId('sign-in-reason').textContent()) ?? '', /revoked or have expired/);
    assert.equal(await sessionToken(page), null, 'the refused token is forgotten');
    await page.screenshot({ path: `${artifactsDir}dashboard-token-revoked.png` });
  });

  test('an admin joins a node on standby from the overview, and the Ring column follows it to normal', { timeout: 30_000 }, async (context) => {
    const standby = await cluster.addNode('n2', ['--standby']);
    if ((await page.getByTestId('identity').count()) > 0) await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in-form').waitFor();
    await signIn(page, tokens.admin);
    const status = page.getByTestId(`ring-status-${standby.id}`);
    await pollUntil(async () => ((await status.textContent({ timeout: 1_000 })) === 'standby' ? true : undefined), { timeoutMs: 10_000, what: `${standby.id} shown on standby` });

    // The confirmation names the node and what follows; Cancel sends nothing.
    await page.getByTestId(`ring-change-${standby.id}-join`).click();
    const confirmation = page.getByTestId(`ring-change-confirm-${standby.id}`);
    assert.equal(await confirmation.getByRole('heading').textContent(), `Join ${standby.id} to the ring?`);
    assert.match((await confirmation.getByTestId(`ring-change-confirm-${standby.id}-text`).textContent()) ?? '', new RegExp(`^${standby.id} leaves standby and becomes joining: `));
    await confirmation.getByTestId(`ring-change-confirm-${standby.id}-cancel`).click();
    assert.equal(await confirmation.count(), 0);
    assert.equal(await status.textContent(), 'standby');

    // Sent to the serving node, which asks the member itself.
    await page.getByTestId(`ring-change-${standby.id}-join`).click();
    await page.getByTestId('section-overview').screenshot({ path: `${artifactsDir}dashboard-ring-change-confirm.png` });
    const sent = page.waitForRequest((request) => new URL(request.url()).pathname === '/cluster/join');
    const joinedAtMs = Date.now();
    await confirmation.getByTestId(`ring-change-confirm-${standby.id}-yes`).click();
    assert.equal(new URL((await sent).url()).searchParams.get('node'), standby.id);
    const answer = (await page.getByTestId(`ring-change-${standby.id}-answer`).textContent({ timeout: 10_000 })) ?? '';
    assert.match(answer, new RegExp(`^${standby.id} is joining: .*; 1 other member already holds the change\\.$`));
    assert.notEqual(await status.textContent(), 'standby', 'the answer shows before the next poll');
    assert.equal(await page.getByTestId(`ring-change-${standby.id}-join`).count(), 0, 'a joining member is offered no Join');
    await pollUntil(async () => ((await status.textContent({ timeout: 1_000 })) === 'normal' ? true : undefined), { timeoutMs: 15_000, what: `${standby.id} shown normal` });
    context.diagnostic(`shown normal ${Date.now() - joinedAtMs} ms after Join was confirmed`);
    // The transfer that brought n2 its ranges is listed under Data movement (kept once done).
    const transfer = page.getByTestId('section-data-movement').locator(`tr[data-testid^="job-${standby.id}-"]`).first();
    await transfer.waitFor({ timeout: 5_000 });
    assert.equal(await transfer.locator('td').first().textContent(), 'join');
    // Two members hold ranges now (N=1): either may leave.
    assert.equal(await page.getByTestId('ring-change-n1-leave').isDisabled(), false);
    await page.getByTestId('section-overview').screenshot({ path: `${artifactsDir}dashboard-ring-change.png` });
  });

  test('the page raised no errors, stayed on its origin and never put a token in a URL', () => {
    watch.stop();
    assert.deepEqual(watch.pageErrors, [], 'page errors');
    assert.deepEqual(watch.failedRequests, [], 'failed requests');
    assert.deepEqual(watch.errorResponses, [], 'error responses');
    assert.deepEqual(watch.offOriginRequests, [], 'off-origin requests');
    const leaked = requestedUrls.filter((url) => Object.values(tokens).some((token) => url.includes(token)));
    assert.deepEqual(leaked, [], 'URLs holding a token');
  });
});

/** Runs the ringkv CLI as an operator would and returns its standard output. */
function runCli(args: string[]): string {
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(result.status, 0, `ringkv ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** `ringkv token create`, whose last output line is the token itself. */
function createTokenWithCli(authFile: string, args: string[]): string {
  const token = runCli(['token', 'create', '--auth-file', authFile, ...args]).trim().split('\n').at(-1) ?? '';
  assert.match(token, /^\S{16,}$/, 'the last line printed is the token');
  return token;
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.getByTestId('sign-in-token').fill(token);
  await page.getByTestId('sign-in-submit').click();
  await page.getByTestId('identity').waitFor();
}

async function sessionToken(page: Page): Promise<string | null> {
  return page.evaluate(() => window.sessionStorage.getItem('ringkv.token'));
}

/** Reads spread over every node for `durationMs`, about 30 a second, so the charts have lines. */
async function sendSteadyTraffic(cluster: TestCluster, durationMs: number): Promise<void> {
  const deadlineMs = Date.now() + durationMs;
  const requestsMax = Math.ceil(durationMs / 1000) * 30;
  for (let request = 0; request < requestsMax && Date.now() < deadlineMs; request++) {
    const node = cluster.nodes[request % cluster.nodes.length];
    await node?.client.get(`user:${String(request % seededKeyCount).padStart(2, '0')}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

/** The keys the browser lists once at least `countMin` are shown. */
/** The keys the list shows once it shows at least `countMin` (a list being reloaded is empty for a moment, so it is read again). */
async function listedKeys(page: Page, countMin: number): Promise<string[]> {
  const buttons = page.getByTestId('browse-keys').locator('button');
  return pollUntil(
    async () => {
      await buttons.nth(countMin - 1).waitFor();
      const keys = await buttons.allTextContents();
      return keys.length >= countMin ? keys : undefined;
    },
    { timeoutMs: 5_000, what: `at least ${countMin} keys listed` },
  );
}

async function waitForFirstListedKey(page: Page, key: string): Promise<void> {
  await pollUntil(async () => ((await listedKeys(page, 1))[0] === key ? true : undefined), {
    timeoutMs: 5_000,
    what: `the key list to start at ${key}`,
  });
}

async function stateOf(page: Page, nodeId: string): Promise<string | null> {
  return page.getByTestId(`node-state-${nodeId}`).textContent({ timeout: 1_000 });
}
