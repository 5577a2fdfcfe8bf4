// sourceFreshness: real builds of a small fixture project (test/fixtures/freshness-project) over
// two source tables this file creates in the warehouse, one loaded now and one loaded days ago
// (error_after: 1 hour). `off` runs no `dbt source freshness`; `warn` builds every model and
// records and alerts the stale source once; `skip-stale` leaves out the models that read only
// stale sources, their consumers ending `skipped` with the cause; a freshness that cannot be
// computed never fails the build.
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild } from '../../src/client.js';
import { buildWorkflowId, sourceFreshnessAlertsWorkflowId } from '../../src/contracts/names.js';
import { InvalidInputError } from '../../src/contracts/validation.js';
import { buildWorkDir } from '../../src/dbt/invocation.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { connectTestClient, consumerEnd, copyProject, runShopBuild, stack, uniqueName, type FinishedBuild } from '../support/stack.js';

const PROJECT = copyProject(path.join(PROJECT_ROOT, 'test', 'fixtures', 'freshness-project'));
const STALE = 'source.freshness.raw.stale_events';
const FRESH = 'source.freshness.raw.fresh_events';
const model = (name: string) => `model.freshness.${name}`;
const MODELS = ['all_orders', 'fresh_orders', 'stale_orders', 'stale_summary'].map(model);

let client: Client;
let close: () => Promise<void>;
let store: Pool;
let warehouse: pg.Client;
const rawSchema = uniqueName('raw');
const schema = uniqueName('t');
// Three days old, with this run's own milliseconds: its alert key is this file's alone.
const staleLoadedAt = new Date(Date.now() - 3 * 24 * 3600_000);

beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  store = createPool(stack().databaseUrl);
  warehouse = new pg.Client({ connectionString: stack().warehouseUrl });
  await warehouse.connect();
  const raw = warehouse.escapeIdentifier(rawSchema);
  await warehouse.query(`CREATE SCHEMA ${raw}`);
  await warehouse.query(`CREATE TABLE ${raw}.fresh_events (id int, loaded_at timestamptz)`);
  await warehouse.query(`CREATE TABLE ${raw}.stale_events (id int, loaded_at timestamptz)`);
  await warehouse.query(`INSERT INTO ${raw}.fresh_events VALUES (1, now()), (2, now())`);
  await warehouse.query(`INSERT INTO ${raw}.stale_events VALUES (1, $1)`, [staleLoadedAt]);
});

afterAll(async () => {
  for (const s of [rawSchema, schema]) await warehouse.query(`DROP SCHEMA IF EXISTS ${warehouse.escapeIdentifier(s)} CASCADE`);
  await warehouse.end();
  await store.end();
  await close();
});

function build(input: { sourceFreshness?: 'off' | 'warn' | 'skip-stale'; vars?: Record<string, unknown> } = {}): Promise<FinishedBuild> {
  return runShopBuild(client, { projectDir: PROJECT, ...input, vars: { schema, raw_schema: rawSchema, ...input.vars } });
}

interface ExecutionRow {
  name: string;
  type: string;
  status: string;
  metadata: Record<string, unknown>;
}

/** The build's executions in the metadata store, by pipeline name. */
async function executionsOf(buildId: string): Promise<Map<string, ExecutionRow>> {
  const rows = await store.query<ExecutionRow>(
    `SELECT p.name, t.name AS type, e.status, e.execution_metadata AS metadata
     FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id JOIN pipeline_type t ON t.id = p.pipeline_type_id
     WHERE e.execution_key LIKE $1 AND e.parent_id IS NOT NULL`,
    [`build:${buildWorkflowId(buildId)}:%`],
  );
  return new Map(rows.rows.map((r) => [r.name, r]));
}

function freshnessInvocationRan(buildId: string): boolean {
  return existsSync(path.join(buildWorkDir(PROJECT, buildId), 'source-freshness-1'));
}

describe('sourceFreshness', () => {
  it('off (the default): no dbt source freshness, every model built', async () => {
    const { buildId, result } = await build();
    expect(result.ok, result.error).toBe(true);
    expect(result.progress!.sourceFreshness).toBeUndefined();
    expect(freshnessInvocationRan(buildId)).toBe(false);
    expect(result.progress!.nodes.map((n) => [n.uniqueId, n.status]).sort()).toEqual(MODELS.map((m) => [m, 'success']));
  });

  it('warn: every model built; the stale source recorded and alerted once, however many builds see it', async () => {
    const first = await build({ sourceFreshness: 'warn' });
    expect(first.result.ok, first.result.error).toBe(true);
    expect(freshnessInvocationRan(first.buildId)).toBe(true);
    expect(first.result.progress!.sourceFreshness).toMatchObject({ mode: 'warn', checked: 2, stale: [STALE], warn: [], failed: [], skipped: [] });
    expect(first.result.progress!.nodes.every((n) => n.status === 'success')).toBe(true);

    const records = await executionsOf(first.buildId);
    const stale = records.get(STALE)!;
    expect(stale).toMatchObject({ type: 'dbt_source', status: 'fail', metadata: { freshness_status: 'error', error_after: '1 hour' } });
    expect(Date.parse(stale.metadata.max_loaded_at as string)).toBe(staleLoadedAt.getTime());
    expect(records.get(FRESH)).toMatchObject({ type: 'dbt_source', status: 'success', metadata: { freshness_status: 'pass' } });
    for (const m of MODELS) expect(records.get(m)?.status).toBe('success');

    // The alert goes out from a workflow of its own, which the build does not wait for.
    const key = `source_freshness:${STALE}:${stale.metadata.max_loaded_at as string}`;
    const delivered = (await client.workflow.getHandle(sourceFreshnessAlertsWorkflowId(first.buildId)).result()) as { alertKeys: string[] };
    expect(delivered.alertKeys).toEqual([key]);

    const second = await build({ sourceFreshness: 'warn' });
    expect(second.result.ok, second.result.error).toBe(true);
    await client.workflow.getHandle(sourceFreshnessAlertsWorkflowId(second.buildId)).result();
    const ledger = await store.query<{ channel: string; status: string; attempts: number; kind: string }>('SELECT channel, status, attempts, kind FROM alert_delivery WHERE idempotency_key = $1', [key]);
    expect(ledger.rows).toEqual([{ channel: 'log', status: 'delivered', attempts: 1, kind: 'freshness_stale' }]);
  });

  it('skip-stale: the models that read only the stale source end skipped with the cause; the others are built', async () => {
    const { buildId, result } = await build({ sourceFreshness: 'skip-stale' });
    expect(result.ok, result.error).toBe(true);
    expect(result.progress!.sourceFreshness).toMatchObject({ mode: 'skip-stale', stale: [STALE], skipped: [model('stale_orders'), model('stale_summary')] });
    const status = Object.fromEntries(result.progress!.nodes.map((n) => [n.uniqueId, n.status]));
    expect(status).toEqual({ [model('fresh_orders')]: 'success', [model('all_orders')]: 'success', [model('stale_orders')]: 'skipped', [model('stale_summary')]: 'skipped' });

    // In Temporal: the consumer ended skipped with the cause, and was not retried.
    const skipped = await consumerEnd(client, buildId, model('stale_orders'));
    expect(skipped).toMatchObject({ closeStatus: 'FAILED', failureType: 'NodeSkipped', outcome: { status: 'skipped', attempt: 1 } });
    expect(skipped.message).toContain(`${model('stale_orders')}: skipped: all sources stale: ${STALE} (max_loaded_at `);
    expect(skipped.message).toContain('error after 1 hour');
    const below = await consumerEnd(client, buildId, model('stale_summary'));
    expect(below.message).toContain(`all upstream stale: ${model('stale_orders')} (skipped)`);
    expect((await consumerEnd(client, buildId, model('all_orders'))).closeStatus).toBe('COMPLETED');

    // In Postgres: recorded as skipped, with the cause; the stale source names what it kept out.
    const records = await executionsOf(buildId);
    expect(records.get(model('stale_orders'))).toMatchObject({ status: 'skipped', metadata: { dbt_status: 'skipped' } });
    expect(String(records.get(model('stale_orders'))!.metadata.message)).toContain('all sources stale');
    expect(records.get(STALE)!.metadata.skipped_nodes).toEqual([model('stale_orders'), model('stale_summary')]);
    await client.workflow.getHandle(sourceFreshnessAlertsWorkflowId(buildId)).result();

    // Its history (the patched freshness step, the alerts child) replays on this code.
    const history = await client.workflow.getHandle(buildWorkflowId(buildId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: stack().bundlePath } }, history, buildWorkflowId(buildId));
  });

  it('a freshness that cannot be computed never fails the build: it warns, and every model is built', async () => {
    const { buildId, result } = await build({ sourceFreshness: 'skip-stale', vars: { loaded_at_column: 'no_such_column' } });
    expect(result.ok, result.error).toBe(true);
    const summary = result.progress!.sourceFreshness!;
    expect(summary).toMatchObject({ stale: [], skipped: [], failed: [FRESH, STALE] });
    expect(summary.warnings!.join('\n')).toContain('no_such_column');
    expect(result.progress!.nodes.every((n) => n.status === 'success')).toBe(true);
    expect((await executionsOf(buildId)).get(STALE)).toMatchObject({ status: 'error', metadata: { freshness_status: 'runtime error' } });
  });

  it('a bad sourceFreshness fails at once, naming the field, and starts nothing', async () => {
    const buildId = uniqueName('b').replace(/_/g, '-');
    const started = startBuild(client, { projectDir: PROJECT, buildId, sourceFreshness: 'sometimes' as 'warn' }, { taskQueue: stack().taskQueue });
    await expect(started).rejects.toBeInstanceOf(InvalidInputError);
    await expect(started).rejects.toThrow(/sourceFreshness: must be one of off, warn, skip-stale/);
    await expect(client.workflow.getHandle(buildWorkflowId(buildId)).describe()).rejects.toThrow(/not found/i);
  });
});
