// The Temporal Web UI, in headless Chromium (Debian's chromium, driven by playwright-core):
// a build's consumers are listed by WatcherBuildId, each with its status.
import type { Client } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium as chromiumHere, launchChromium } from '../support/browser.js';
import { connectTestClient, runShopBuild, stack } from '../support/stack.js';

const haveChromium = chromiumHere('the Temporal UI test');

let client: Client;
let close: () => Promise<void>;
let browser: Browser;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  if (haveChromium) {
    browser = await launchChromium();
  }
});
afterAll(async () => {
  await browser?.close();
  await close();
});

describe.skipIf(!haveChromium)('Temporal UI', () => {
  it("lists a build's consumers with their statuses", async () => {
    const { buildId, result } = await runShopBuild(client, { vars: { shop_break_model: true } });
    expect(result.ok).toBe(false);
    const expected = new Map(result.progress!.nodes.map((n) => [`watcher/${buildId}/${n.uniqueId}`, n.status === 'success' ? 'COMPLETED' : 'FAILED']));
    expect([...expected.values()]).toContain('FAILED');
    expect([...expected.values()]).toContain('COMPLETED');

    const page = await browser.newPage({ viewport: { width: 1600, height: 2400 } });
    const query = encodeURIComponent(`WatcherBuildId="${buildId}"`);
    await page.goto(`${stack().uiUrl}/namespaces/${stack().namespace}/workflows?query=${query}`);
    const listed = async () => {
      await page.waitForSelector('table tbody tr', { timeout: 20_000 });
      const seen = new Map<string, string>();
      for (const row of await page.locator('table tbody tr').allInnerTexts()) {
        const id = row.match(/watcher\/\S+/)?.[0];
        const status = row.match(/\b(COMPLETED|FAILED|RUNNING|CANCELED|TERMINATED)\b/)?.[0];
        if (id && status) seen.set(id, status);
      }
      return seen;
    };
    // Visibility is eventually consistent: reload (bounded) until every row is in.
    let seen = await listed();
    for (let i = 0; i < 20 && [...expected].some(([id, status]) => seen.get(id) !== status); i++) {
      await page.waitForTimeout(1000);
      await page.reload();
      seen = await listed();
    }
    for (const [id, status] of expected) expect(seen.get(id), `${id} in ${JSON.stringify([...seen])}`).toBe(status);
    expect(seen.get(`watcher/${buildId}`)).toBe('FAILED');

    // A consumer's page shows its static summary (User Metadata): what node it watches.
    await page.getByText(`watcher/${buildId}/model.shop.stg_payments`, { exact: true }).first().click();
    await page.getByText('User Metadata', { exact: true }).first().click();
    // The UI renders summaries as markdown in frames of their own (`/render?content=...`).
    const rendered = () => page.frames().map((f) => decodeURIComponent(f.url())).join('\n');
    await expect.poll(rendered, { timeout: 20_000 }).toContain('content=model shop.stg_payments');
    // The details render in a frame of their own, which may load after the summary's.
    await expect.poll(rendered, { timeout: 20_000 }).toContain('dbt build --select resource_type:model,package:shop,fqn:shop.staging.stg_payments');
    await page.close();
  });
});
