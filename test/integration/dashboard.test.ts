// The dashboard in Debian's Chromium against the real stack: real builds (green, one with a
// failing model and a failing test, one running), read through the pages a user opens, with
// a screenshot of each under test-output/dashboard/ (UPDATE_SCREENSHOTS=1 also refreshes the
// README's under docs/screenshots/).
import type { Client } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { createToken } from '../../src/store/tokens.js';
import { dashboardScreenshot, haveChromium as chromiumHere, launchChromium } from '../support/browser.js';
import { connectTestClient, copyShopProject, runShopBuild, stack, uniqueName, type FinishedBuild } from '../support/stack.js';

const haveChromium = chromiumHere('the dashboard tests');
const BROKEN = 'model.shop.broken_on_purpose';
const FAILING_TEST = 'test.shop.assert_order_totals_match_payments';

let server: RunningServer;
let pool: Pool;
let client: Client;
let closeClient: () => Promise<void>;
let browser: Browser;
let readToken: string;
const tokenName = uniqueName('dashboard_read');
let projectDir: string;
let green: FinishedBuild;
let failed: FinishedBuild;

function shot(page: Page, name: string): Promise<void> {
  return dashboardScreenshot(page, name);
}

/** A signed-in page: the token goes in once, through the sign-in form. */
async function signedInPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${server.url}/ui/builds`);
  await page.waitForSelector('body[data-ready="builds"]', { timeout: 20_000 });
  return page;
}

beforeAll(async () => {
  const s = stack();
  pool = createPool(s.databaseUrl);
  ({ client, close: closeClient } = await connectTestClient());
  const config = loadConfig({ temporalAddress: s.temporalAddress, namespace: s.namespace, taskQueue: s.taskQueue, uiUrl: s.uiUrl, databaseUrl: s.databaseUrl });
  server = await startServer(config, { host: '127.0.0.1', port: 0, pool, noAuth: true });
  readToken = (await createToken(pool, tokenName, 'read')).token;
  if (haveChromium) browser = await launchChromium();
  // A model that always fails, beside the shop's own (the failing test needs its models green).
  projectDir = copyShopProject();
  writeFileSync(path.join(projectDir, 'models', 'broken_on_purpose.sql'), "select 'not a number'::integer as id\n");
  green = await runShopBuild(client, { projectDir, exclude: ['broken_on_purpose'] });
  failed = await runShopBuild(client, { projectDir, vars: { shop_test_outcome: 'fail' } });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await pool?.query('DELETE FROM api_token WHERE name = $1', [tokenName]);
  await pool?.end();
  await closeClient?.();
});

describe.skipIf(!haveChromium)('the dashboard', () => {
  it('lists the builds with status, trigger and node counts, and filters them', async () => {
    expect(green.result.ok).toBe(true);
    expect(failed.result.ok).toBe(false);
    const page = await signedInPage();
    const row = (id: string) => page.locator(`tr[data-build-id="${id}"]`);
    await expect.poll(() => row(green.buildId).count()).toBe(1);
    expect(await row(green.buildId).locator('.badge').innerText()).toBe('success');
    expect(await row(failed.buildId).locator('.badge').innerText()).toBe('error');
    expect(await row(failed.buildId).innerText()).toMatch(/error 1/);
    await shot(page, 'builds');

    await page.getByLabel('Status').selectOption('success');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=success/);
    await expect.poll(() => row(failed.buildId).count()).toBe(0);
    expect(await row(green.buildId).count()).toBe(1);

    await page.goto(`${server.url}/ui/builds?project=${uniqueName('nothing')}`);
    await page.getByTestId('empty').waitFor();
    expect(await page.getByTestId('empty').innerText()).toContain('No build matches these filters');
    await page.close();
  });

  it("shows a failed build: failures first with dbt's message and the rerun command, its timeline and every node", async () => {
    const page = await signedInPage();
    await page.locator(`tr[data-build-id="${failed.buildId}"] a`).click();
    await page.waitForSelector('body[data-ready="build"]');
    const failures = page.getByTestId('failures');
    expect(await failures.locator(`li[data-node="${BROKEN}"]`).innerText()).toMatch(/invalid input syntax for type integer/);
    expect(await failures.locator(`li[data-node="${BROKEN}"] code.rerun`).innerText()).toBe('dbt build --select "resource_type:model,package:shop,fqn:broken_on_purpose"');
    const failingTest = await failures.locator(`li[data-node="${FAILING_TEST}"]`).innerText();
    expect(failingTest).toMatch(/Got 1 result/);
    expect(failingTest).toMatch(/test of model\.shop\.(stg_payments|fct_orders)/);
    const nodes = failed.result.progress!.nodes;
    expect(await page.locator('[data-testid="nodes"] tbody tr:not(.test)').count()).toBe(nodes.length);
    for (const n of nodes) expect(await page.locator(`tr[data-node="${n.uniqueId}"]`).first().getAttribute('data-status')).toBe(n.status);
    expect(await page.getByTestId('progress').innerText()).toContain(`${nodes.length} of ${nodes.length} nodes ended`);
    expect(await page.locator('.gantt canvas').count()).toBeGreaterThan(0);
    const consumer = await page.locator(`tr[data-node="${BROKEN}"] a[target="_blank"]`).getAttribute('href');
    expect(consumer).toBe(`${stack().uiUrl}/namespaces/${stack().namespace}/workflows/${encodeURIComponent(`watcher/${failed.buildId}/${BROKEN}`)}`);
    await shot(page, 'build-failed');
    await page.close();
  });

  it('says clearly when a build does not exist, and when a page does not', async () => {
    const page = await signedInPage();
    await page.goto(`${server.url}/ui/builds/no-such-build-${uniqueName('x').replace(/_/g, '-')}`);
    await page.getByTestId('not-found').waitFor();
    expect(await page.getByTestId('not-found').innerText()).toContain('No build');
    await page.goto(`${server.url}/ui/nowhere`);
    expect(await page.getByTestId('not-found').innerText()).toContain('/ui/nowhere');
    await page.close();
  });

  it("updates a running build's nodes live, without reloading the page", async () => {
    const buildId = uniqueName('b').replace(/_/g, '-');
    const { handle } = await startBuild(
      client,
      { projectDir, buildId, nodeRetries: 0, exclude: ['broken_on_purpose'], vars: { schema: uniqueName('t'), shop_sleep_seconds: 15 } },
      { taskQueue: stack().taskQueue },
    );
    try {
      const page = await signedInPage();
      // The build is known once Temporal has it: the page may open before dbt reports anything.
      await page.goto(`${server.url}/ui/builds/${buildId}`);
      await page.waitForSelector('body[data-ready="build"]', { timeout: 30_000 });
      await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
      const slow = page.locator('tr[data-node="model.shop.int_customer_orders"]');
      const seen = new Set<string>();
      await expect
        .poll(
          async () => {
            const status = (await slow.count()) ? await slow.first().getAttribute('data-status') : null;
            if (status) seen.add(status);
            return status;
          },
          { timeout: 60_000, interval: 250 },
        )
        .toBe('running');
      await shot(page, 'build-running');
      await expect.poll(async () => slow.first().getAttribute('data-status'), { timeout: 90_000, interval: 500 }).toBe('success');
      await expect.poll(() => page.getByTestId('progress').innerText(), { timeout: 60_000 }).toMatch(/(\d+) of \1 nodes ended/);
      expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      await page.close();
    } finally {
      await waitForBuild(handle);
    }
  });
});
