// Every build of examples/shop recorded end to end in the real metadata database: one root
// execution, one child per node with its status and rows, closure queries, settings as code,
// lineage from the manifest, and watermarks.
import type { Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../src/store/db.js';
import { ancestorsOf, buildExecution, childrenOf, currentWatermark, descendantsOf, upstreamAddresses, type ExecutionRow } from '../../src/store/queries.js';
import { connectTestClient, readBuildRunResults, runShopBuild, SHOP_PROJECT, stack, uniqueName } from '../support/stack.js';

let client: Client;
let close: () => Promise<void>;
let pool: Pool;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
  pool = createPool(stack().databaseUrl);
});
afterAll(async () => {
  await pool.end();
  await close();
});

const csvRows = (seed: string) => readFileSync(path.join(SHOP_PROJECT, 'seeds', `${seed}.csv`), 'utf8').trim().split('\n').length - 1;

describe('a build of examples/shop, recorded', () => {
  let buildId: string;
  let schema: string;
  let root: ExecutionRow;
  let children: ExecutionRow[];
  beforeAll(async () => {
    schema = uniqueName('t');
    const build = await runShopBuild(client, { vars: { schema } });
    buildId = build.buildId;
    expect(build.result.ok).toBe(true);
    expect(build.result.progress!.recordingFailures).toBeUndefined();
    root = (await buildExecution(pool, buildId))!;
    children = await childrenOf(pool, root.id);
  });

  it('is one root execution with one child per model, seed and snapshot', () => {
    expect(root).toMatchObject({ parent_id: null, status: 'success', completed_successfully: true, pipeline: 'dbt:shop:default:all', pipeline_type: 'dbt_build' });
    expect(root.end_date!.getTime()).toBeGreaterThanOrEqual(root.start_date.getTime());
    expect(children).toHaveLength(15);
    expect(new Set(children.map((c) => c.pipeline)).size).toBe(15);
    for (const c of children) {
      expect(c.status, c.pipeline).toBe('success');
      expect(c.parent_id).toBe(root.id);
      expect(c.pipeline_type).toBe(`dbt_${c.pipeline.split('.')[0]}`);
    }
  });

  it("records dbt's rows and details per node", () => {
    const byName = new Map(children.map((c) => [c.pipeline, c]));
    for (const seed of ['raw_customers', 'raw_orders', 'raw_payments', 'raw_products']) {
      expect(byName.get(`seed.shop.${seed}`)!.total_rows, seed).toBe(csvRows(seed));
    }
    const fct = byName.get('model.shop.fct_orders')!;
    expect(fct.total_rows).toBe(300);
    expect(fct.execution_metadata).toMatchObject({
      unique_id: 'model.shop.fct_orders',
      relation: `shop.${schema}.fct_orders`,
      materialization: 'incremental',
      attempt: 1,
      invocation_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      thread: expect.stringMatching(/Thread/),
    });
    expect((fct.execution_metadata!.tests as unknown[]).length).toBeGreaterThan(3);
    // A view reports no row count (Postgres says -1): unknown, not zero.
    expect(byName.get('model.shop.stg_orders')!.total_rows).toBeNull();
    // `active: false` from meta.watcher is in the record.
    expect(byName.get('model.shop.daily_revenue')!.execution_metadata).toMatchObject({ active: false });
  });

  it('answers the closure queries: children, descendants, ancestors', async () => {
    const descendants = await descendantsOf(pool, root.id);
    expect(descendants.map((d) => d.id).sort()).toEqual(children.map((c) => c.id).sort());
    expect(descendants.every((d) => d.depth === 1)).toBe(true);
    const child = children[0]!;
    expect((await ancestorsOf(pool, child.id)).map((a) => [a.id, a.depth])).toEqual([[root.id, 1]]);
    const self = await pool.query('SELECT depth FROM pipeline_execution_closure WHERE parent_execution_id = $1 AND child_execution_id = $1', [root.id]);
    expect(self.rows).toEqual([{ depth: 0 }]);
  });

  it('syncs settings as code from meta.watcher', async () => {
    const rows = await pool.query(
      `SELECT p.name, t.name AS type, p.active, p.freshness_number, p.freshness_datepart, p.timeliness_number, p.timeliness_datepart, p.pipeline_metadata
       FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id WHERE p.name = ANY($1)`,
      [['model.shop.fct_orders', 'model.shop.daily_revenue', 'seed.shop.raw_orders']],
    );
    const by = new Map(rows.rows.map((r) => [r.name, r]));
    expect(by.get('model.shop.fct_orders')).toMatchObject({
      type: 'dbt_model', active: true, freshness_number: 1, freshness_datepart: 'day', timeliness_number: 30, timeliness_datepart: 'minute',
      pipeline_metadata: { owner: 'analytics', tier: 'gold' },
    });
    expect(by.get('model.shop.daily_revenue')).toMatchObject({ active: false });
    expect(by.get('seed.shop.raw_orders')).toMatchObject({ type: 'dbt_seed', active: true, freshness_number: null });
  });

  it('records lineage from the manifest, through the ephemeral model', async () => {
    const up = await upstreamAddresses(pool, `shop.${schema}.fct_orders`);
    const names = up.map((r) => [r.address.replace(`shop.${schema}.`, ''), r.depth]);
    // int_order_payments is ephemeral: fct_orders reads stg_payments directly.
    expect(names).toEqual(expect.arrayContaining([['stg_orders', 1], ['stg_payments', 1], ['stg_products', 1], ['raw_payments', 2], ['raw_orders', 2]]));
    expect(names.some(([n]) => n === 'int_order_payments')).toBe(false);
  });

  it('writes no pipeline config when the same build runs again', async () => {
    const snapshot = async () =>
      (await pool.query<{ name: string; input_hash: string; updated_at: Date | null; xmin: string }>(
        "SELECT name, input_hash, updated_at, lineage_hash FROM pipeline WHERE name LIKE 'model.shop.%' OR name LIKE 'seed.shop.%' OR name LIKE 'snapshot.shop.%' ORDER BY name",
      )).rows;
    const before = await snapshot();
    const again = await runShopBuild(client, { vars: { schema } });
    expect(again.result.ok).toBe(true);
    expect(await snapshot()).toEqual(before);
    const secondRoot = (await buildExecution(pool, again.buildId))!;
    expect(secondRoot.id).not.toBe(root.id);
    expect(await childrenOf(pool, secondRoot.id)).toHaveLength(15);
  });
});

describe('a failed build, recorded', () => {
  it('records the error, the skipped nodes, and the root as error', async () => {
    const { buildId } = await runShopBuild(client, { vars: { shop_break_model: true } });
    const root = (await buildExecution(pool, buildId))!;
    expect(root).toMatchObject({ status: 'error', completed_successfully: false });
    const children = new Map((await childrenOf(pool, root.id)).map((c) => [c.pipeline, c]));
    expect(children.size).toBe(15);
    expect(children.get('model.shop.stg_payments')).toMatchObject({ status: 'error', completed_successfully: false });
    expect(String(children.get('model.shop.stg_payments')!.execution_metadata!.message)).toContain('invalid input syntax');
    expect(children.get('model.shop.fct_orders')!.status).toBe('skipped');
    expect(children.get('model.shop.stg_orders')!.status).toBe('success');
  });
});

describe('watermarks', () => {
  it('hands dbt the range (watermark, next] and promotes next only when the build succeeds', async () => {
    const pipeline = `wm-${uniqueName('p')}`;
    const schema = uniqueName('t');
    const first = await runShopBuild(client, { pipeline, nextWatermark: '2026-01-01', vars: { schema } });
    expect(first.result.ok).toBe(true);
    expect(await currentWatermark(pool, pipeline)).toBe('2026-01-01');

    const failed = await runShopBuild(client, { pipeline, nextWatermark: '2026-01-02', vars: { schema, shop_break_model: true } });
    expect(failed.result.ok).toBe(false);
    expect(await currentWatermark(pool, pipeline)).toBe('2026-01-01');

    const third = await runShopBuild(client, { pipeline, nextWatermark: '2026-01-03', vars: { schema } });
    expect(third.result.ok).toBe(true);
    expect(await currentWatermark(pool, pipeline)).toBe('2026-01-03');
    // dbt saw the range as vars.
    const args = readBuildRunResults(third.buildId).args as { vars?: Record<string, unknown> };
    expect(args.vars).toMatchObject({ watcher_watermark: '2026-01-01', watcher_next_watermark: '2026-01-03' });
    const root = (await buildExecution(pool, third.buildId))!;
    const row = (await pool.query('SELECT watermark, next_watermark FROM pipeline_execution WHERE id = $1', [root.id])).rows[0];
    expect(row).toEqual({ watermark: '2026-01-01', next_watermark: '2026-01-03' });
  });
});
