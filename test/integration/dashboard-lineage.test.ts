// The dashboard's lineage page against the real stack: after a real build of the example shop
// (in its own schema), the API answers the shop's relations and the pipelines between them as
// recorded, and in Debian's Chromium the graph shows them, the search finds a relation, the
// direction and depth change what is drawn, and a click on a node recentres the graph. A
// screenshot goes under test-output/dashboard/ (UPDATE_SCREENSHOTS=1: docs/screenshots/ too).
import type { Client } from '@temporalio/client';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineageView } from '../../src/contracts/lineage-view.js';
import type { RunningServer } from '../../src/server/serve.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { startLoopbackServer } from '../support/api.js';
import { haveChromium as chromiumHere, launchChromium, shot } from '../support/browser.js';
import { connectTestClient, runShopBuild, stack, type FinishedBuild } from '../support/stack.js';

const haveChromium = chromiumHere('the lineage page tests');

let server: RunningServer;
let pool: Pool;
let client: Client;
let closeClient: () => Promise<void>;
let browser: Browser | undefined;
let build: FinishedBuild;
/** The shop's relations in this build's schema, by table name. */
const relations = new Map<string, string>();
/** The lineage edges recorded for them: source address, target address, pipeline. */
let recorded: Array<{ source: string; target: string; pipeline: string }>;

async function lineage(query: Record<string, string>): Promise<{ status: number; body: LineageView & { message?: string } }> {
  const response = await fetch(`${server.url}/dashboard/lineage?${new URLSearchParams(query).toString()}`);
  return { status: response.status, body: (await response.json()) as LineageView & { message?: string } };
}

/** The graph's nodes as cytoscape has them (they are drawn on a canvas). */
type Drawn = { names: string[]; centre: string | null };
function drawnGraph(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const box = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector('[data-testid="lineage-graph"]') as {
      cy: { nodes(): { map<T>(f: (n: { data(k: string): string }) => T): T[] } };
      getAttribute(name: string): string | null;
    };
    return { names: box.cy.nodes().map((n) => n.data('name')), centre: box.getAttribute('data-centre') };
  });
}

/** Open the page at this address and wait until the graph is laid out (or the page says why not). */
async function openLineage(page: Page, query: Record<string, string>): Promise<void> {
  await page.goto(`${server.url}/ui/lineage?${new URLSearchParams(query).toString()}`);
  await page.waitForSelector('body[data-ready="lineage"]', { timeout: 30_000 });
}

/** After an in-page navigation: the graph centred on `address` is drawn. */
async function waitForCentre(page: Page, address: string): Promise<void> {
  await page.waitForSelector(`[data-testid="lineage-graph"][data-centre="${address}"]`, { timeout: 30_000 });
  await page.waitForSelector('body[data-ready="lineage"]', { timeout: 30_000 });
}

const nodeCount = async (page: Page) => Number(await page.getByTestId('lineage-graph').getAttribute('data-nodes'));

beforeAll(async () => {
  pool = createPool(stack().databaseUrl);
  ({ client, close: closeClient } = await connectTestClient());
  server = await startLoopbackServer(pool);
  if (haveChromium) browser = await launchChromium();
  build = await runShopBuild(client);
  const rows = await pool.query<{ name: string; table_name: string }>('SELECT name, table_name FROM address WHERE schema_name = $1', [build.schema]);
  for (const r of rows.rows) relations.set(r.table_name, r.name);
  recorded = (
    await pool.query<{ source: string; target: string; pipeline: string }>(
      `SELECT s.name AS source, t.name AS target, p.name AS pipeline
       FROM address_lineage l JOIN address s ON s.id = l.source_address_id JOIN address t ON t.id = l.target_address_id JOIN pipeline p ON p.id = l.pipeline_id
       WHERE t.schema_name = $1`,
      [build.schema],
    )
  ).rows;
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await pool?.end();
  await closeClient?.();
  // The build's warehouse schema (its seeds and models).
  if (build) {
    const warehouse = new pg.Client({ connectionString: stack().warehouseUrl });
    await warehouse.connect();
    await warehouse.query(`DROP SCHEMA IF EXISTS ${warehouse.escapeIdentifier(build.schema)} CASCADE`);
    await warehouse.end();
  }
});

describe('the lineage data', () => {
  it("answers the shop's relations and the pipelines between them, with each one's last run and freshness", async () => {
    expect(build.result.ok).toBe(true);
    expect(recorded.length).toBeGreaterThan(5);
    const fctOrders = relations.get('fct_orders')!;
    expect(fctOrders).toBeDefined();
    const { status, body } = await lineage({ address: fctOrders, direction: 'both', depth: '20' });
    expect(status).toBe(200);
    expect(body.address).toBe(fctOrders);
    expect(body.truncated).toBe(false);
    const byName = new Map(body.nodes.map((n) => [`${n.kind}:${n.name}`, n]));
    const edges = new Set(body.edges.map((e) => `${e.source}>${e.target}`));
    // Every recorded edge upstream of fct_orders is there as address -> pipeline -> address.
    const upstream = new Set<string>([fctOrders]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const e of recorded) {
        if (upstream.has(e.target) && !upstream.has(e.source)) {
          upstream.add(e.source);
          grew = true;
        }
      }
    }
    const expected = recorded.filter((e) => upstream.has(e.target));
    expect(expected.length).toBeGreaterThan(3);
    for (const e of expected) {
      const source = byName.get(`address:${e.source}`);
      const target = byName.get(`address:${e.target}`);
      const pipeline = byName.get(`pipeline:${e.pipeline}`);
      expect(source && target && pipeline, `${e.source} -[${e.pipeline}]-> ${e.target}`).toBeTruthy();
      expect(edges.has(`${source!.id}>${pipeline!.id}`)).toBe(true);
      expect(edges.has(`${pipeline!.id}>${target!.id}`)).toBe(true);
    }
    // Statuses and freshness: the build was green; fct_orders (freshness: 1 day in the shop) was just written.
    const model = byName.get('pipeline:model.shop.fct_orders')!;
    expect(model).toMatchObject({ status: 'success', targets: [fctOrders], freshness: 'fresh' });
    expect(Date.parse(model.dueBy!)).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const centre = byName.get(`address:${fctOrders}`)!;
    expect(centre).toMatchObject({ status: 'success', upstreamDepth: 0, writers: ['model.shop.fct_orders'], freshness: 'fresh' });
    // A seed's relation: read by a staging model, written by no pipeline with lineage (nothing to colour it by).
    expect(byName.get(`address:${relations.get('raw_orders')}`)).toMatchObject({ status: null, freshness: null, writers: [] });
    expect(Date.parse(centre.lastRun!)).toBeGreaterThan(Date.now() - 15 * 60_000);
  });

  it('caps the graph with a truncated flag, finds addresses by name, and answers bad input with 422 (404 for an unknown address)', async () => {
    const fctOrders = relations.get('fct_orders')!;
    const capped = await lineage({ address: fctOrders, direction: 'upstream', depth: '20', limit: '2' });
    expect(capped.status).toBe(200);
    expect(capped.body.truncated).toBe(true);
    expect(capped.body.nodes.filter((n) => n.kind === 'address').map((n) => n.name)[0]).toBe(fctOrders);
    expect(capped.body.nodes.filter((n) => n.kind === 'address')).toHaveLength(2);

    const found = (await (await fetch(`${server.url}/dashboard/lineage/addresses?q=${encodeURIComponent(`${build.schema}.STG_ORDERS`)}`)).json()) as { addresses: Array<{ name: string; hasLineage: boolean }> };
    expect(found.addresses).toEqual([{ name: relations.get('stg_orders'), type: 'relation', hasLineage: true }]);

    expect((await lineage({ address: `${build.schema}.no_such_relation` })).status).toBe(404);
    const bads: Array<Record<string, string>> = [{ depth: '0' }, { direction: 'sideways' }, { limit: '100000' }, { address: 'a\u0000b' }, { unknown: 'x' }];
    for (const bad of bads) expect((await lineage(bad)).status).toBe(422);
    expect((await fetch(`${server.url}/dashboard/lineage/addresses?q=%20`)).status).toBe(422);
  });
});

describe.skipIf(!haveChromium)('the lineage page', () => {
  it('draws the graph, finds a relation, follows direction and depth, and recentres on a click', async () => {
    const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    const fctOrders = relations.get('fct_orders')!;
    const stgOrders = relations.get('stg_orders')!;

    // The graph around fct_orders: every node the API answers is drawn.
    await openLineage(page, { address: fctOrders, direction: 'both', depth: '20' });
    const api = (await lineage({ address: fctOrders, direction: 'both', depth: '20' })).body;
    const drawn = await drawnGraph(page);
    expect(drawn.centre).toBe(fctOrders);
    expect(drawn.names.sort()).toEqual(api.nodes.map((n) => n.name).sort());
    expect(drawn.names).toContain(stgOrders);
    expect(await page.getByTestId('lineage-graph').getAttribute('data-layout')).toBe('dagre');
    expect(await page.getByTestId('node-facts').innerText()).toContain('model.shop.fct_orders');
    await shot(page, 'lineage');

    // Search: typing a name lists it; following it centres the graph there.
    await page.getByLabel('Find a relation').fill(`${build.schema}.stg_orders`);
    const match = page.locator(`[data-testid="matches"] li[data-address="${stgOrders}"] a`);
    await match.waitFor({ timeout: 10_000 });
    await match.click();
    await waitForCentre(page, stgOrders);
    expect(page.url()).toContain(`address=${encodeURIComponent(stgOrders)}`);

    // Direction and depth change what is drawn: stg_orders has nothing but its seed upstream, more downstream.
    await page.getByLabel('Direction').selectOption('downstream');
    await page.waitForURL(/direction=downstream/);
    await waitForCentre(page, stgOrders);
    const downstreamAll = await nodeCount(page);
    await page.getByLabel('Depth').fill('1');
    await page.getByLabel('Depth').press('Enter');
    await page.waitForURL(/depth=1\b/);
    await waitForCentre(page, stgOrders);
    const downstreamOne = await nodeCount(page);
    expect(downstreamOne).toBeLessThan(downstreamAll);
    await page.getByLabel('Direction').selectOption('upstream');
    await page.waitForURL(/direction=upstream/);
    await waitForCentre(page, stgOrders);
    expect(await nodeCount(page)).not.toBe(downstreamOne);

    // A click on another relation recentres the graph on it.
    await page.getByLabel('Direction').selectOption('both');
    await waitForCentre(page, stgOrders);
    await page.getByLabel('Depth').fill('3');
    await page.getByLabel('Depth').press('Enter');
    await page.waitForURL(/depth=3\b/);
    await waitForCentre(page, stgOrders);
    const target = (await drawnGraph(page)).names.find((n) => n !== stgOrders && n.startsWith(`${fctOrders.split('.').slice(0, -1).join('.')}.`))!;
    expect(target).toBeDefined();
    const at = await page.evaluate((name) => {
      const box = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector('[data-testid="lineage-graph"]') as {
        cy: { nodes(selector: string): { renderedPosition(): { x: number; y: number } } };
      };
      return box.cy.nodes(`[name = "${name}"]`).renderedPosition();
    }, target);
    const box = (await page.getByTestId('lineage-graph').boundingBox())!;
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await waitForCentre(page, target);
    expect(new URL(page.url()).searchParams.get('address')).toBe(target);
    expect((await drawnGraph(page)).centre).toBe(target);
    await page.close();
  });

  it('shows its empty state for an address without lineage, and says when a relation does not exist', async () => {
    const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
    // The seed's relation has no upstream lineage.
    const seed = relations.get('raw_orders')!;
    expect(seed).toBeDefined();
    await openLineage(page, { address: seed, direction: 'upstream', depth: '3' });
    expect(await page.getByTestId('empty').innerText()).toContain('No upstream lineage for this relation');
    await openLineage(page, { address: `${build.schema}.no_such_relation` });
    expect(await page.getByTestId('empty').innerText()).toContain('No such relation');
    await page.close();
  });
});
