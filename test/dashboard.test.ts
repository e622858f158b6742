// Drives the dashboard served by a real 3-node cluster in headless Chromium: the
// overview and ring, data movement, a write through the key explorer, and a node killed
// mid-session, while recording page errors, failed requests and any request leaving the node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium, pollUntil, watchPage, type PageWatch } from './support/browser.js';
import { startCluster, type TestCluster } from './support/cluster.js';

const artifactsDir = fileURLToPath(new URL('../artifacts/', import.meta.url));
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

  test('the key list pages through keys by prefix', { timeout: 20_000 }, async () => {
    await page.locator('#browse-limit').selectOption('10');
    await page.getByTestId('browse-prefix').fill('user:');
    await page.getByTestId('browse-list').click();
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
async function listedKeys(page: Page, countMin: number): Promise<string[]> {
  const buttons = page.getByTestId('browse-keys').locator('button');
  await buttons.nth(countMin - 1).waitFor();
  return buttons.allTextContents();
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
