// The real etl-watcher Python SDK (etl-watcher-sdk 0.1.43, from .venv-sdk) runs a data team's
// pipeline code (test/sdk/sdk_scenario.py) against Watcher's API, unchanged; every result is
// then read back from Postgres. Phases run in order and build on each other.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, type SdkToolchain } from '../../src/toolchain.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { childEnv, runProcess, sdkToolchain } from '../support/sdk.js';

const SCENARIO = path.join(PROJECT_ROOT, 'test', 'sdk', 'sdk_scenario.py');
// The SDK retries a 5xx or a timeout for about 15 s per call: a phase has a few dozen calls.
const PHASE_TIMEOUT_MS = 120_000;

let api: TestApi;
let sdk: SdkToolchain;
let writeToken: string;
let readToken: string;
beforeAll(async () => {
  sdk = sdkToolchain();
  api = await startTestApi();
  writeToken = await api.token('write');
  readToken = await api.token('read');
});
afterAll(async () => api?.close());

interface Refusal {
  status: number;
  message: string;
  code: number | string | null;
}
interface AuthSummary {
  no_token: Refusal;
  read_token: Refusal;
}
interface FailingSummary {
  pipeline_id: number;
  synced_watermark: string | null;
  failed_execution_id: number;
  reraised: boolean;
}
interface SuccessSummary {
  pipeline_id: number;
  child_pipeline_id: number;
  stale_pipeline_id: number;
  synced_watermark: string | null;
  parent_execution_id: number;
  child_helper_execution_id: number;
  child_orchestrated_execution_id: number;
  child_standalone_execution_id: number;
  grandchild_execution_id: number;
  stale_execution_id: number;
  late_execution_id: number;
}
type Summaries = { auth: AuthSummary; failing: FailingSummary; success: SuccessSummary };

/** Run one phase of the scenario; its last stdout line is a JSON summary of the ids it got. */
async function scenario<P extends keyof Summaries>(phase: P): Promise<Summaries[P]> {
  const env = childEnv({ WATCHER_URL: api.url, WATCHER_TOKEN: writeToken, WATCHER_READ_TOKEN: readToken });
  const result = await runProcess(sdk.python, [SCENARIO, phase], { env, timeoutMs: PHASE_TIMEOUT_MS });
  const lines = result.stdout.trim().split('\n');
  if (result.code !== 0 || result.timedOut) {
    throw new Error(`sdk_scenario.py ${phase} ${result.timedOut ? 'timed out' : `exited with code ${result.code}`}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return JSON.parse(lines[lines.length - 1] ?? '') as Summaries[P];
}

// The columns the assertions read; toMatchObject checks the rest by name.
interface Row {
  [column: string]: unknown;
}
interface PipelineRow extends Row {
  last_target_insert: Date | null;
  last_target_update: Date | null;
  last_target_soft_delete: Date | null;
}
interface ExecutionRow extends Row {
  start_date: Date;
  end_date: Date | null;
  duration_seconds: string | null;
  throughput: string | null;
}
interface LogRow extends Row {
  last_dml_timestamp: Date;
}

async function query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await api.db.pool.query<T>(sql, params)).rows;
}

async function pipelineRow(id: number): Promise<PipelineRow> {
  const [row] = await query<PipelineRow>(
    `SELECT p.*, t.name AS type_name FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id WHERE p.id = $1`,
    [id],
  );
  if (!row) throw new Error(`no pipeline row with id ${id}`);
  return row;
}

/** An execution row, its bigint columns (ids, counts) as numbers. */
async function executionRow(id: number): Promise<ExecutionRow> {
  const [row] = await query<ExecutionRow>(`SELECT * FROM pipeline_execution WHERE id = $1`, [id]);
  if (!row) throw new Error(`no pipeline_execution row with id ${id}`);
  for (const column of ['id', 'parent_id', 'inserts', 'updates', 'soft_deletes', 'total_rows']) {
    if (row[column] !== null) row[column] = Number(row[column]);
  }
  return row;
}

/** A timestamp column as milliseconds, to compare instants. */
const ms = (value: Date | null | undefined): number | undefined => value?.getTime();

/** The pipeline's lineage edges as "source -> target" address names. */
async function edgesOf(pipelineId: number): Promise<string[]> {
  const rows = await query<{ edge: string }>(
    `SELECT s.name || ' -> ' || t.name AS edge FROM address_lineage l
       JOIN address s ON s.id = l.source_address_id JOIN address t ON t.id = l.target_address_id
      WHERE l.pipeline_id = $1 ORDER BY 1`,
    [pipelineId],
  );
  return rows.map((r) => r.edge);
}

/** Poll until the query returns a row: the checks may run after their POST has answered. */
async function eventually<T extends Row>(sql: string, params: unknown[], timeoutMs = 30_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await query<T>(sql, params);
    if (row || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the etl-watcher SDK against watcher serve', () => {
  it('is refused without a token (401) and with a read token on a write (403), and nothing is written', async () => {
    const refused = await scenario('auth');
    expect(refused.no_token.status).toBe(401);
    expect(refused.read_token.status).toBe(403);
    expect(refused.read_token.message).toMatch(/scope|write|forbidden/i);
    expect(await query(`SELECT count(*)::int AS n FROM pipeline`)).toEqual([{ n: 0 }]);
  });

  let pipelineId: number;
  let failedExecutionId: number;
  it('syncs a pipeline with its config and lineage, and records a failing function as failed', async () => {
    const summary = await scenario('failing');
    pipelineId = summary.pipeline_id;
    failedExecutionId = summary.failed_execution_id;
    expect(summary.reraised).toBe(true);
    // the server's watermark is null before any success: the SDK falls back to default_watermark
    expect(summary.synced_watermark).toBe('0');

    const pipeline = await pipelineRow(pipelineId);
    expect(pipeline).toMatchObject({
      name: 'sdk_orders_load',
      type_name: 'extract',
      pipeline_metadata: { team: 'data-eng', schedule: 'hourly' },
      freshness_number: 2,
      freshness_datepart: 'day',
      timeliness_number: 30,
      timeliness_datepart: 'minute',
      active: true,
      // load_lineage is not asserted here: etl-watcher turns it off at the first successful end,
      // Watcher as soon as the lineage is stored (both: off after the success phase)
      watermark: null,
      next_watermark: '100',
    });

    expect(await edgesOf(pipelineId)).toEqual(['src_db.public.orders -> dwh.staging.customers', 'src_db.public.orders -> dwh.staging.orders']);
    const [source] = await query(
      `SELECT a.*, t.name AS type_name, t.group_name FROM address a JOIN address_type t ON t.id = a.address_type_id WHERE a.name = 'src_db.public.orders'`,
    );
    expect(source).toMatchObject({
      type_name: 'postgres',
      group_name: 'database',
      database_name: 'src_db',
      schema_name: 'public',
      table_name: 'orders',
      primary_key: 'id',
      address_metadata: { owner: 'data-eng' },
    });

    const failed = await executionRow(failedExecutionId);
    expect(failed).toMatchObject({ pipeline_id: pipelineId, parent_id: null, completed_successfully: false, watermark: '0', next_watermark: '100' });
    expect(failed.end_date).toBeInstanceOf(Date);
    expect(ms(failed.end_date)).toBeGreaterThanOrEqual(failed.start_date.getTime());
  });

  let ids: SuccessSummary;
  it('records a parent run with children, counts and watermark promotion', async () => {
    expect(pipelineId, 'the failing phase ran first').toBeDefined();
    ids = await scenario('success');
    expect(ids.pipeline_id).toBe(pipelineId);
    // the failed run promoted nothing, so the watermark is still the default
    expect(ids.synced_watermark).toBe('0');

    const parent = await executionRow(ids.parent_execution_id);
    expect(parent).toMatchObject({
      pipeline_id: pipelineId,
      parent_id: null,
      completed_successfully: true,
      inserts: 10,
      updates: 2,
      soft_deletes: 1,
      total_rows: 13,
      execution_metadata: { source: 'sdk scenario' },
      watermark: '0',
      next_watermark: '100',
    });
    expect(Number(parent.duration_seconds)).toBeGreaterThanOrEqual(0);
    expect(parent.throughput).not.toBeNull();

    // each child: a successful run of the child pipeline under the parent, with its own fields
    const asChild = { pipeline_id: ids.child_pipeline_id, parent_id: ids.parent_execution_id, completed_successfully: true };
    expect(await executionRow(ids.child_helper_execution_id)).toMatchObject({ ...asChild, inserts: 5, total_rows: 5 });
    const airflow = { orchestrator: 'airflow', dag_id: 'orders', task_id: 'load_items', run_id: 'manual__1' };
    expect(await executionRow(ids.child_orchestrated_execution_id)).toMatchObject({ ...asChild, updates: 7, execution_metadata: { batch: 1, ...airflow } });
    // the standalone start sends parent_execution_id (not parent_id): it must still be a child
    expect(await executionRow(ids.child_standalone_execution_id)).toMatchObject({
      ...asChild,
      updates: 3,
      total_rows: 3,
      watermark: 'a',
      next_watermark: 'b',
      execution_metadata: { step: 'standalone' },
    });
    const grandchild = await executionRow(ids.grandchild_execution_id);
    expect(grandchild).toMatchObject({ parent_id: ids.child_standalone_execution_id, completed_successfully: true });

    const p = Number(ids.parent_execution_id);
    const c1 = Number(ids.child_helper_execution_id);
    const c2 = Number(ids.child_standalone_execution_id);
    const c3 = Number(ids.child_orchestrated_execution_id);
    const g = Number(ids.grandchild_execution_id);
    const closure = await query<{ row: string }>(
      `SELECT parent_execution_id || '>' || child_execution_id || '@' || depth AS row FROM pipeline_execution_closure
        WHERE child_execution_id = ANY($1::bigint[]) ORDER BY 1`,
      [[p, c1, c2, c3, g]],
    );
    expect(closure.map((r) => r.row).sort()).toEqual(
      [
        ...[p, c1, c2, c3, g].map((self) => `${self}>${self}@0`),
        `${p}>${c1}@1`,
        `${p}>${c2}@1`,
        `${p}>${c3}@1`,
        `${c2}>${g}@1`,
        `${p}>${g}@2`,
      ].sort(),
    );

    // a success promotes next_watermark, stamps the DML times and stops lineage loading;
    // then update_pipeline_next_watermark (PATCH with pipeline_id) sets the next one
    const pipeline = await pipelineRow(pipelineId);
    expect(pipeline).toMatchObject({ watermark: '100', next_watermark: '200', load_lineage: false });
    expect(parent.end_date).toBeInstanceOf(Date);
    for (const column of ['last_target_insert', 'last_target_update', 'last_target_soft_delete'] as const) {
      expect(ms(pipeline[column]), column).toBe(ms(parent.end_date));
    }

    // lineage across the two pipelines: source -> staging (parent) -> marts (child)
    expect(await edgesOf(ids.child_pipeline_id)).toEqual(['dwh.staging.orders -> dwh.marts.order_items']);
    const [twoHops] = await query(
      `SELECT c.depth FROM address_lineage_closure c JOIN address s ON s.id = c.source_address_id JOIN address t ON t.id = c.target_address_id
        WHERE s.name = 'src_db.public.orders' AND t.name = 'dwh.marts.order_items'`,
    );
    expect(twoHops?.depth).toBe(2);

    const read = await api.call('GET', `/pipeline_execution/${p}`, { token: readToken });
    expect(read.status).toBe(200);
    const children = (read.body.child_executions as Array<{ id: number }>).map((c) => Number(c.id)).sort((a, b) => a - b);
    expect(children).toEqual([c1, c2, c3].sort((a, b) => a - b));
  });

  it('starts the freshness and timeliness checks, which log the stale feed and the late run', async () => {
    expect(ids, 'the success phase ran first').toBeDefined();
    const stale = await executionRow(ids.stale_execution_id);
    const feed = await pipelineRow(ids.stale_pipeline_id);
    expect(stale.end_date).toBeInstanceOf(Date);
    expect(ms(feed.last_target_insert)).toBe(ms(stale.end_date));

    const freshness = await eventually<LogRow>(`SELECT * FROM freshness_pipeline_log WHERE pipeline_id = $1`, [ids.stale_pipeline_id]);
    expect(freshness, 'a freshness_pipeline_log row for the stale feed').toBeDefined();
    expect(ms(freshness?.last_dml_timestamp)).toBe(ms(stale.end_date));
    expect(freshness).toMatchObject({ freshness_number: 1, freshness_datepart: 'hour', used_child_config: true });

    const timeliness = await eventually<Row>(`SELECT * FROM timeliness_pipeline_execution_log WHERE pipeline_execution_id = $1`, [ids.late_execution_id]);
    expect(timeliness, 'a timeliness log row for the late run').toBeDefined();
    expect(timeliness).toMatchObject({ pipeline_id: ids.stale_pipeline_id, execution_status: 'running', timely_number: 1, timely_datepart: 'minute' });
    // the parent pipeline's runs were on time and its rows fresh
    expect(await query(`SELECT 1 FROM freshness_pipeline_log WHERE pipeline_id = $1`, [pipelineId])).toEqual([]);
  });
});
