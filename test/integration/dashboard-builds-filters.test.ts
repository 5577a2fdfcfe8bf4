// The builds page in Debian's Chromium: its trigger and target columns, and its target,
// trigger, schedule and date-range filters, kept in the page's address, over two real builds
// (one started as `watcher build` starts one, on target `ci`; one as POST /builds does, on `dev`).
import type { Client } from '@temporalio/client';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import type { BuildTrigger } from '../../src/contracts/trigger.js';
import type { RunningServer } from '../../src/server/serve.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { haveChromium as chromiumHere } from '../support/browser.js';
import { stack, uniqueName } from '../support/stack.js';
import { startStackServer, type StackServer } from '../support/stack-server.js';
import { shopProjectWithCiTarget } from '../support/targets.js';

const haveChromium = chromiumHere('the builds page filter tests');
const SHOTS = path.join(PROJECT_ROOT, 'test-output', 'dashboard');

let server: RunningServer;
let client: Client;
let browser: Browser;
let started: StackServer | undefined;
const cliBuildId = uniqueName('cli').replace(/_/g, '-');
const apiBuildId = uniqueName('api').replace(/_/g, '-');

async function oneSeedBuild(projectDir: string, buildId: string, target: string, trigger: BuildTrigger): Promise<void> {
  const input = { projectDir, buildId, target, select: ['raw_customers'], nodeRetries: 0, vars: { schema: uniqueName('t') } };
  const { handle } = await startBuild(client, input, { taskQueue: stack().taskQueue, trigger });
  const result = await waitForBuild(handle);
  expect(result.ok, result.error).toBe(true);
}

async function buildsPage(query = ''): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${server.url}/ui/builds${query}`);
  await page.waitForSelector('body[data-ready="builds"], [role="alert"]', { timeout: 20_000 });
  return page;
}

beforeAll(async () => {
  started = await startStackServer({ noAuth: true, browser: haveChromium });
  ({ client, server } = started);
  if (started.browser) browser = started.browser;
  const projectDir = shopProjectWithCiTarget();
  await Promise.all([oneSeedBuild(projectDir, cliBuildId, 'ci', 'cli'), oneSeedBuild(projectDir, apiBuildId, 'dev', 'api')]);
});

afterAll(async () => {
  await started?.close();
});

describe.skipIf(!haveChromium)('the builds page', () => {
  const row = (page: Page, id: string) => page.locator(`tr[data-build-id="${id}"]`);
  const rows = async (page: Page) => `cli ${await row(page, cliBuildId).count()}, api ${await row(page, apiBuildId).count()}`;

  it('shows each build with its trigger and target', async () => {
    const page = await buildsPage();
    await expect.poll(() => row(page, apiBuildId).count()).toBe(1);
    expect(await row(page, cliBuildId).locator('td[data-col="trigger"]').innerText()).toBe('cli');
    expect(await row(page, cliBuildId).locator('td[data-col="target"]').innerText()).toBe('ci');
    expect(await row(page, apiBuildId).locator('td[data-col="trigger"]').innerText()).toBe('api');
    expect(await row(page, apiBuildId).locator('td[data-col="target"]').innerText()).toBe('dev');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'builds-filters.png') });
    await page.close();
  });

  it('filters by trigger, then target, through the form, keeping each in the address', async () => {
    const page = await buildsPage();
    await page.getByLabel('Trigger').selectOption('cli');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/trigger=cli/);
    // One poll over both rows: while the filtered list loads, neither row is there.
    await expect.poll(() => rows(page)).toBe('cli 1, api 0');

    await page.getByLabel('Trigger').selectOption('');
    await page.getByLabel('Target').fill('dev');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/target=dev/);
    expect(page.url()).not.toContain('trigger=');
    await expect.poll(() => rows(page)).toBe('cli 0, api 1');

    // Opened from its address, the filter is back in the form.
    const again = await buildsPage('?target=ci&trigger=cli');
    expect(await again.getByLabel('Target').inputValue()).toBe('ci');
    expect(await again.getByLabel('Trigger').inputValue()).toBe('cli');
    await expect.poll(() => rows(again)).toBe('cli 1, api 0');
    await again.close();
    await page.close();
  });

  it('filters by schedule and by date range; a backwards range says what is wrong', async () => {
    const page = await buildsPage();
    await page.getByLabel('Schedule').fill('no-such-schedule');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/schedule=no-such-schedule/);
    await page.getByTestId('empty').waitFor();
    expect(await page.getByTestId('empty').innerText()).toContain('No build matches these filters');

    // A From an hour from now (typed in the browser's local time) leaves nothing; an hour ago, both.
    const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.goto(`${server.url}/ui/builds`);
    await page.waitForSelector('body[data-ready="builds"]');
    await page.getByLabel('From').fill(local(Date.now() + 3_600_000));
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/from=/);
    await page.getByTestId('empty').waitFor();
    const from = new URL(page.url()).searchParams.get('from')!;
    expect(Math.abs(Date.parse(from) - (Date.now() + 3_600_000))).toBeLessThan(120_000);

    await page.getByLabel('From').fill(local(Date.now() - 3_600_000));
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => rows(page)).toBe('cli 1, api 1');

    const backwards = await buildsPage(`?from=${encodeURIComponent('2026-12-02T00:00:00.000Z')}&to=${encodeURIComponent('2026-12-01T00:00:00.000Z')}`);
    const alert = backwards.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/from .* is after to/);
    await backwards.close();
    await page.close();
  });
});
