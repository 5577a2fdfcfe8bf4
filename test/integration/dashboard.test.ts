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
import type { Pool } from '../../src/store/db.js';
import { createToken } from '../../src/store/tokens.js';
import { haveChromium as chromiumHere, shot } from '../support/browser.js';
import { copyShopProject, runShopBuild, stack, uniqueName, type FinishedBuild } from '../support/stack.js';
import { startStackServer, type StackServer } from '../support/stack-server.js';

const haveChromium = chromiumHere('the dashboard tests');
const BROKEN = 'model.shop.broken_on_purpose';
const FAILING_TEST = 'test.shop.assert_order_totals_match_payments';

let server: RunningServer;
let pool: Pool;
let client: Client;
let browser: Browser;
let started: StackServer | undefined;
let readToken: string;
const tokenName = uniqueName('dashboard_read');
let projectDir: string;
let green: FinishedBuild;
let failed: FinishedBuild;

/** A signed-in page: the token goes in once, through the sign-in form. */
async function signedInPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${server.url}/ui/builds`);
  await page.getByTestId('signin').waitFor({ timeout: 20_000 });
  await page.getByLabel('API token').fill(readToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('body[data-ready="builds"]', { timeout: 20_000 });
  return page;
}

beforeAll(async () => {
  started = await startStackServer({ browser: haveChromium });
  ({ pool, client, server } = started);
  if (started.browser) browser = started.browser;
  readToken = (await createToken(pool, tokenName, 'read')).token;
  // A model that always fails, beside the shop's own (the failing test needs its models green).
  projectDir = copyShopProject();
  writeFileSync(path.join(projectDir, 'models', 'broken_on_purpose.sql'), "select 'not a number'::integer as id\n");
  green = await runShopBuild(client, { projectDir, exclude: ['broken_on_purpose'] });
  failed = await runShopBuild(client, { projectDir, vars: { shop_test_outcome: 'fail' } });
});

afterAll(async () => {
  await pool?.query('DELETE FROM api_token WHERE name = $1', [tokenName]);
  await started?.close();
});

/** The server-sent events of one stream until it closes (or `until` says stop). */
async function readEvents(url: string, headers: Record<string, string>, until?: (events: { event: string; data: string }[]) => boolean): Promise<{ status: number; events: { event: string; data: string }[] }> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
  const events: { event: string; data: string }[] = [];
  if (!response.ok || !response.body) return { status: response.status, events };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      if (fields.event) events.push({ event: fields.event, data: fields.data ?? '' });
    }
    if (until?.(events)) break;
  }
  return { status: response.status, events };
}

describe('the dashboard session and event stream', () => {
  it('signs in with a read token into an HTTP-only cookie that reads, never writes, and signs out', async () => {
    const bad = await fetch(`${server.url}/ui/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'not-a-token' }) });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();

    const signedIn = await fetch(`${server.url}/ui/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: readToken }) });
    expect(signedIn.status).toBe(204);
    const setCookie = signedIn.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = setCookie.split(';')[0]!;

    expect((await fetch(`${server.url}/builds?limit=1`)).status).toBe(401);
    expect((await fetch(`${server.url}/builds?limit=1`, { headers: { cookie } })).status).toBe(200);
    // A write with only the cookie is refused (a cross-site form cannot use the session).
    const write = await fetch(`${server.url}/builds/${green.buildId}/cancel`, { method: 'POST', headers: { cookie } });
    expect(write.status).toBe(401);

    const signedOut = await fetch(`${server.url}/ui/session`, { method: 'DELETE' });
    expect(signedOut.status).toBe(204);
    expect(signedOut.headers.get('set-cookie')).toMatch(/Expires=Thu, 01 Jan 1970|Max-Age=0/i);
  });

  it("streams an ended build's detail once, then `end`, and answers an unknown build with 404", async () => {
    const auth = { authorization: `Bearer ${readToken}` };
    const { status, events } = await readEvents(`${server.url}/builds/${failed.buildId}/events`, auth);
    expect(status).toBe(200);
    expect(events.map((e) => e.event)).toEqual(['build', 'end']);
    const build = JSON.parse(events[0]!.data) as { buildId: string; status: string; nodes: unknown[] };
    expect(build.buildId).toBe(failed.buildId);
    expect(build.status).toBe('error');
    expect(build.nodes.length).toBe(failed.result.progress!.nodes.length);
    const unknown = await fetch(`${server.url}/builds/no-such-build-${uniqueName('x').replace(/_/g, '-')}/events`, { headers: auth });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/application\/json/);
  });
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
    // One poll over both rows: while the filtered list loads, neither row is there.
    await expect.poll(async () => `green ${await row(green.buildId).count()}, failed ${await row(failed.buildId).count()}`).toBe('green 1, failed 0');

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
      // A second server with a stream open on this running build closes promptly: it ends the stream.
      const second = await startServer(loadConfig({ temporalAddress: stack().temporalAddress, namespace: stack().namespace, taskQueue: stack().taskQueue, databaseUrl: stack().databaseUrl }), { host: '127.0.0.1', port: 0, pool, noAuth: true });
      const stream = await fetch(`${second.url}/builds/${buildId}/events`, { signal: AbortSignal.timeout(60_000) });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      const firstChunk = new TextDecoder().decode((await reader.read()).value);
      expect(firstChunk).toMatch(/^event: build\n/);
      const closing = Date.now();
      await second.close();
      expect(Date.now() - closing).toBeLessThan(5_000);
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
      expect(rest).not.toMatch(/event: end/);
      await expect.poll(async () => slow.first().getAttribute('data-status'), { timeout: 90_000, interval: 500 }).toBe('success');
      await expect.poll(() => page.getByTestId('progress').innerText(), { timeout: 60_000 }).toMatch(/(\d+) of \1 nodes ended/);
      expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      await page.close();
    } finally {
      await waitForBuild(handle);
    }
  });
});
