// The dashboard's health board and pipeline page against the real stack: real shop builds (a
// green one, one with a failing model and a failing test, whose alerts land in the ledger) and
// an SDK pipeline reported through the API (a stale, late pipeline with an anomalous run), read
// through the data routes and in Debian's Chromium, with screenshots 'health' and 'pipeline'
// under test-output/dashboard/ (UPDATE_SCREENSHOTS=1 also refreshes docs/screenshots/).
import type { Client } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAlertsWorkflowId, buildWorkflowId } from '../../src/contracts/names.js';
import type { HealthBoardData, PipelinePageData } from '../../src/server/routes/dashboard-data.js';
import type { RunningServer } from '../../src/server/serve.js';
import type { Pool } from '../../src/store/db.js';
import { haveChromium as chromiumHere, shot } from '../support/browser.js';
import { copyShopProject, runShopBuild, uniqueName, type FinishedBuild } from '../support/stack.js';
import { startStackServer, type StackServer } from '../support/stack-server.js';

const haveChromium = chromiumHere('the dashboard monitoring tests');
const FCT_ORDERS = 'model.shop.fct_orders';
const BROKEN = 'model.shop.broken_on_purpose';
const SHOP_MODELS = ['model.shop.stg_orders', 'model.shop.stg_payments', 'model.shop.dim_customers', FCT_ORDERS, 'model.shop.daily_revenue'];

let server: RunningServer;
let pool: Pool;
let client: Client;
let browser: Browser;
let started: StackServer | undefined;
let green: FinishedBuild;
let failed: FinishedBuild;
/** The SDK pipeline: stale (1 hour freshness, last wrote 2 h ago), late (its last run took 90 s of 1 minute), one run anomalous in rows. */
const sdkName = uniqueName('dash_sdk');
/** Its own pipeline type, so its failure rate is its runs' alone whatever else the store holds. */
const sdkType = uniqueName('dash_extract');
let anomalousExecution: number;
const SDK_RUNS = 7;
/** A pipeline registered (as the SDK does first) that never ran. */
const idleName = uniqueName('dash_idle');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of several shapes
async function call(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** What the etl-watcher SDK does for one run: start, then end with its counts. */
async function sdkRun(pipelineId: number, start: Date, seconds: number, rows: number, watermark: string): Promise<number> {
  const started = await call('POST', '/start_pipeline_execution', { pipeline_id: pipelineId, start_date: start.toISOString(), next_watermark: watermark });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const end = new Date(start.getTime() + seconds * 1000);
  const ended = await call('POST', '/end_pipeline_execution', { id: started.body.id, end_date: end.toISOString(), completed_successfully: true, inserts: rows, total_rows: rows });
  expect(ended.status, JSON.stringify(ended.body)).toBe(204);
  return started.body.id as number;
}

/** A page at the dashboard's address, once its data is shown. */
async function openPage(route: string, ready: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${server.url}${route}`);
  await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: 30_000 });
  return page;
}

beforeAll(async () => {
  started = await startStackServer({ noAuth: true, browser: haveChromium });
  ({ pool, client, server } = started);
  if (started.browser) browser = started.browser;

  const projectDir = copyShopProject();
  writeFileSync(path.join(projectDir, 'models', 'broken_on_purpose.sql'), "select 'not a number'::integer as id\n");
  // The failed build first: the green one is then every shop model's latest run.
  failed = await runShopBuild(client, { projectDir, vars: { shop_test_outcome: 'fail' } });
  green = await runShopBuild(client, { projectDir, exclude: ['broken_on_purpose'] });
  // The failed build's alerts (build_failed, node_failed) go out in a workflow it does not wait for.
  const { runId } = await client.workflow.getHandle(buildWorkflowId(failed.buildId)).describe();
  await client.workflow.getHandle(buildAlertsWorkflowId(failed.buildId, runId)).result();

  // An SDK pipeline, as the etl-watcher SDK reports one: 1 hour freshness, 1 minute timeliness,
  // a total_rows rule judged after 5 runs; its runs start in one UTC hour (the baseline's), 2+ hours ago.
  const created = await call('POST', '/pipeline', {
    name: sdkName,
    pipeline_type_name: sdkType,
    pipeline_metadata: { owner: 'data-platform' },
    freshness_number: 1,
    freshness_datepart: 'hour',
    timeliness_number: 1,
    timeliness_datepart: 'minute',
    next_watermark: null,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const pipelineId = created.body.id as number;
  const rule = await call('POST', '/anomaly_detection_rule', { pipeline_id: pipelineId, metric_field: 'total_rows', minimum_executions: 5 });
  expect(rule.status, JSON.stringify(rule.body)).toBe(201);
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000;
  for (let i = 0; i < SDK_RUNS - 1; i++) await sdkRun(pipelineId, new Date(hour + i * 120_000), 10, 100 + i * 3, String(i + 1));
  anomalousExecution = await sdkRun(pipelineId, new Date(hour + 20 * 60_000), 90, 100_000, String(SDK_RUNS));
  const idle = await call('POST', '/pipeline', { name: idleName, pipeline_type_name: sdkType, timeliness_number: 2, timeliness_datepart: 'hour' });
  expect(idle.status, JSON.stringify(idle.body)).toBe(201);
});

afterAll(async () => {
  await started?.close();
});

describe('the dashboard data routes', () => {
  it("GET /dashboard/health gives every pipeline's states, the open anomalies, the build's alerts and the failure rate per type", async () => {
    expect(green.result.ok).toBe(true);
    expect(failed.result.ok).toBe(false);
    // Every pipeline of the store (other test files may have left many), those needing attention first.
    const r = await call('GET', '/dashboard/health?limit=5000');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const board = r.body as HealthBoardData;
    const byName = new Map(board.pipelines.map((p) => [p.name, p]));
    for (const model of SHOP_MODELS) expect(byName.has(model), model).toBe(true);
    expect(board.total_pipelines).toBe((await pool.query('SELECT 1 FROM pipeline')).rowCount);

    // fct_orders wrote rows just now with a 1 day threshold of its own (meta.watcher); its last run ended well within 30 minutes.
    const fct = byName.get(FCT_ORDERS)!;
    expect(fct.freshness).toMatchObject({ state: 'fresh', threshold: { number: 1, datepart: 'day', from: 'pipeline' } });
    expect(fct.timeliness).toMatchObject({ state: 'on_time', threshold: { number: 30, datepart: 'minute', from: 'pipeline' } });
    expect(fct.owner).toBe('analytics');
    expect(byName.get('model.shop.daily_revenue')!.active).toBe(false);
    expect(byName.get(BROKEN)!.last_execution?.status).toBe('error');
    expect(byName.get(BROKEN)!.timeliness.state).toBe('no_threshold');

    const sdk = byName.get(sdkName)!;
    expect(sdk).toMatchObject({ owner: 'data-platform', open_anomalies: 1, needs_attention: true, freshness: { state: 'stale' }, timeliness: { state: 'late' } });
    // Those needing attention come first.
    expect(board.pipelines.findIndex((p) => p.name === sdkName)).toBeLessThan(board.pipelines.findIndex((p) => p.name === FCT_ORDERS));
    expect(board.pipelines).toHaveLength(board.total_pipelines);
    expect(board.counts.stale).toBe(board.pipelines.filter((p) => p.freshness.state === 'stale').length);
    expect(board.counts.late).toBe(board.pipelines.filter((p) => p.timeliness.state === 'late' || p.timeliness.state === 'running_late').length);
    expect(board.counts.stale).toBeGreaterThanOrEqual(1);
    expect(board.counts.late).toBeGreaterThanOrEqual(1);
    expect(board.counts.open_anomalies).toBe(board.open_anomalies.length);
    expect(board.open_anomalies.filter((a) => a.pipeline_name === sdkName)).toEqual([
      expect.objectContaining({ pipeline_execution_id: anomalousExecution, metric: 'total_rows', value: 100_000 }),
    ]);

    // The failed build's alerts, from the delivery ledger, named by their build and node.
    const buildAlert = board.recent_alerts.find((a) => a.kind === 'build_failed' && a.build_id === failed.buildId);
    expect(buildAlert, JSON.stringify(board.recent_alerts)).toBeDefined();
    expect(board.recent_alerts.find((a) => a.kind === 'node_failed' && a.idempotency_key.includes(failed.buildId) && a.pipeline === BROKEN)).toBeDefined();

    // Failure rate per type over 30 days: the same counts as the executions themselves.
    const models = board.failure_rate.types.find((t) => t.pipeline_type_name === 'dbt_model')!;
    const expected = (await pool.query<{ total: number; failed: number }>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE e.completed_successfully = false)::int AS failed
       FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id JOIN pipeline_type t ON t.id = p.pipeline_type_id
       WHERE t.name = 'dbt_model' AND e.date_recorded >= (now() AT TIME ZONE 'UTC')::date - 29`,
    )).rows[0]!;
    expect(models).toMatchObject({ total_executions: expected.total, failed_executions: expected.failed });
    expect(models.failed_executions).toBeGreaterThanOrEqual(1);
    expect(models.error_percentage).toBeCloseTo((100 * expected.failed) / expected.total, 2);
    expect(board.failure_rate.types.find((t) => t.pipeline_type_name === sdkType)).toEqual({ pipeline_type_name: sdkType, pipelines: 1, total_executions: SDK_RUNS, failed_executions: 0, error_percentage: 0 });
  });

  it("GET /dashboard/pipelines/{name} gives a pipeline's executions with anomalies flagged, its states, config and watermark", async () => {
    const r = await call('GET', `/dashboard/pipelines/${encodeURIComponent(sdkName)}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const p = r.body as PipelinePageData;
    expect(p).toMatchObject({ name: sdkName, pipeline_type: sdkType, active: true, owner: 'data-platform', watermark: String(SDK_RUNS), total_executions: SDK_RUNS });
    expect(p.freshness.state).toBe('stale');
    expect(p.timeliness.state).toBe('late');
    expect(p.config.freshness).toEqual({ pipeline: { number: 1, datepart: 'hour' }, pipeline_type: null, muted_on_pipeline: false, muted_on_type: false });
    expect(p.config.anomaly_rules).toEqual([expect.objectContaining({ metric: 'total_rows', minimum_executions: 5, active: true })]);
    expect(p.executions).toHaveLength(SDK_RUNS);
    expect(p.executions.map((e) => e.start_date)).toEqual([...p.executions.map((e) => e.start_date)].sort());
    expect(p.executions.filter((e) => e.anomalous.length > 0)).toEqual([expect.objectContaining({ id: anomalousExecution, anomalous: ['total_rows'], total_rows: 100_000, duration_seconds: 90 })]);
    expect(p.anomalies.map((a) => a.pipeline_execution_id)).toEqual([anomalousExecution]);

    const limited = await call('GET', `/dashboard/pipelines/${encodeURIComponent(sdkName)}?limit=3`);
    expect(limited.body.executions.map((e: { id: number }) => e.id)).toEqual(p.executions.slice(-3).map((e) => e.id));

    const fct = (await call('GET', `/dashboard/pipelines/${FCT_ORDERS}`)).body as PipelinePageData;
    expect(fct.executions.length).toBeGreaterThanOrEqual(2);
    expect(fct.executions.every((e) => e.duration_seconds !== null)).toBe(true);
    expect(fct.config.anomaly_rules.map((r) => r.metric).sort()).toEqual(['duration_seconds', 'throughput', 'total_rows']);
  });

  it('gives a pipeline that never ran with no executions and states that say so', async () => {
    const r = await call('GET', `/dashboard/pipelines/${idleName}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ total_executions: 0, executions: [], anomalies: [], watermark: null, freshness: { state: 'never_written' }, timeliness: { state: 'no_executions', threshold: { number: 2, datepart: 'hour', from: 'pipeline' } } });
  });

  it('answers 404 naming an unknown pipeline, and 4xx for bad input', async () => {
    const unknown = await call('GET', `/dashboard/pipelines/${`model.shop.nothing_${uniqueName('x')}`}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/^pipeline "model\.shop\.nothing_.*" not found/);
    expect((await call('GET', '/dashboard/pipelines/x?limit=0')).status).toBe(422);
    expect((await call('GET', '/dashboard/pipelines/%01bad')).status).toBe(422);
    expect((await call('GET', '/dashboard/health?limit=nope')).status).toBe(422);
    expect((await call('GET', '/dashboard/health?other=1')).status).toBe(422);
  });
});

describe.skipIf(!haveChromium)('the health board and pipeline page', () => {
  it("lists the shop's pipelines with their states, open anomalies, alerts and failure rates", async () => {
    const page = await openPage('/ui/health', 'health');
    const row = (name: string) => page.locator(`[data-testid="pipelines"] tr[data-pipeline="${name}"]`);
    for (const model of SHOP_MODELS) expect(await row(model).count(), model).toBe(1);
    expect(await row(FCT_ORDERS).getAttribute('data-freshness')).toBe('fresh');
    expect(await row(FCT_ORDERS).locator('[data-state="fresh"]').innerText()).toBe('fresh');
    expect(await row(sdkName).locator('[data-state="stale"]').innerText()).toBe('stale');
    expect(await row(sdkName).locator('[data-testid="open-anomalies"]').innerText()).toBe('1');
    const { counts } = (await call('GET', '/dashboard/health')).body as HealthBoardData;
    expect(await page.getByTestId('summary').innerText()).toMatch(new RegExp(`${counts.stale} stale.*${counts.late} late.*${counts.open_anomalies} open anomalies`, 's'));
    expect(await page.getByTestId('anomalies').innerText()).toContain(sdkName);
    expect(await page.locator(`[data-testid="alerts"] tr[data-alert-kind="build_failed"]`).first().innerText()).toContain(`build ${failed.buildId}`);
    expect(await page.locator('[data-testid="failure-rates"] tr[data-type="dbt_model"]').innerText()).toMatch(/dbt_model/);
    await shot(page, 'health');

    // The filter narrows the list; keyboard: type into it.
    await page.getByLabel('Pipeline name contains').fill('fct_orders');
    await expect.poll(() => page.locator('[data-testid="pipelines"] tbody tr').count()).toBe(1);
    // Each pipeline links to its page.
    await row(FCT_ORDERS).getByRole('link', { name: FCT_ORDERS }).click();
    await page.waitForSelector('body[data-ready="pipeline"]');
    expect(new URL(page.url()).pathname).toBe(`/ui/pipelines/${FCT_ORDERS}`);
    await page.close();
  });

  it('shows a pipeline: charts of duration, rows and throughput with the anomaly marked, its states, config and watermark', async () => {
    const page = await openPage(`/ui/pipelines/${encodeURIComponent(sdkName)}`, 'pipeline');
    expect(await page.locator('h1').innerText()).toContain(sdkName);
    expect(await page.getByTestId('freshness').innerText()).toMatch(/stale/);
    expect(await page.getByTestId('timeliness').innerText()).toMatch(/late.*1 minute/s);
    expect(await page.getByTestId('owner').innerText()).toBe('data-platform');
    expect(await page.getByTestId('watermark').innerText()).toContain(String(SDK_RUNS));
    expect(await page.getByTestId('executions-count').innerText()).toMatch(new RegExp(`^${SDK_RUNS} recorded.*1 anomalous`));
    for (const metric of ['duration_seconds', 'total_rows', 'throughput']) expect(await page.locator(`[data-testid="chart-${metric}"] canvas`).count(), metric).toBeGreaterThan(0);
    expect(await page.getByTestId('chart-total_rows').innerText()).toContain('1 anomalous');
    expect(await page.getByTestId('chart-duration_seconds').innerText()).toContain('none anomalous');
    expect(await page.locator(`[data-testid="executions"] tr[data-execution="${anomalousExecution}"]`).innerText()).toContain('total_rows');
    expect(await page.getByTestId('config').innerText()).toMatch(/Freshness\s+1 hour/);
    expect(await page.getByTestId('anomaly-rules').innerText()).toContain('total_rows');
    await shot(page, 'pipeline');
    await page.close();
  });

  it("goes from a build's node to its pipeline page", async () => {
    const page = await openPage(`/ui/builds/${green.buildId}`, 'build');
    await page.locator(`tr[data-node="${FCT_ORDERS}"] td a`).first().click();
    await page.waitForSelector('body[data-ready="pipeline"]');
    expect(await page.locator('h1').innerText()).toContain(FCT_ORDERS);
    expect(await page.getByTestId('freshness').innerText()).toMatch(/fresh/);
    expect(await page.getByTestId('owner').innerText()).toBe('analytics');
    expect(await page.locator('[data-testid="chart-duration_seconds"] canvas').count()).toBeGreaterThan(0);
    await page.close();
  });

  it('shows an empty state for a pipeline that never ran', async () => {
    const page = await openPage(`/ui/pipelines/${idleName}`, 'pipeline');
    expect(await page.getByTestId('empty').innerText()).toMatch(/No executions yet.*never run/s);
    expect(await page.getByTestId('timeliness').innerText()).toMatch(/no runs.*2 hours/s);
    expect(await page.locator('canvas').count()).toBe(0);
    await page.close();
  });

  it('says clearly when a pipeline does not exist', async () => {
    const name = `model.shop.nothing_${uniqueName('x')}`;
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.url}/ui/pipelines/${name}`);
    await page.getByTestId('not-found').waitFor({ timeout: 30_000 });
    const text = await page.getByTestId('not-found').innerText();
    expect(text).toContain(name);
    expect(text).toContain('health board');
    await page.close();
  });
});
