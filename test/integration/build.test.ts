// End to end on the real stack: one dbt build, one consumer per model/seed/snapshot, each
// ending with its node's status, equal to what dbt wrote in run_results.json.
import type { Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildProgress } from '../../src/contracts/messages.js';
import { normalizeDbtStatus } from '../../src/contracts/status.js';
import {
  connectTestClient,
  consumerEnd,
  listBuildWorkflows,
  readBuildRunResults,
  runShopBuild,
  SHOP_PROJECT,
  type ConsumerEnd,
} from '../support/stack.js';

const SEEDS = ['seed.shop.raw_customers', 'seed.shop.raw_orders', 'seed.shop.raw_payments', 'seed.shop.raw_products'];
const STAGING = ['model.shop.stg_customers', 'model.shop.stg_orders', 'model.shop.stg_payments', 'model.shop.stg_products'];
const DOWNSTREAM_OF_STG_PAYMENTS = [
  'model.shop.int_order_payments',
  'model.shop.int_customer_orders',
  'model.shop.fct_orders',
  'model.shop.dim_customers',
  'model.shop.customer_lifetime_value',
  'model.shop.daily_revenue',
];
const ALL_CONSUMERS = [...SEEDS, ...STAGING, ...DOWNSTREAM_OF_STG_PAYMENTS, 'snapshot.shop.customers_snapshot'];
const SINGULAR_TEST = 'test.shop.assert_order_totals_match_payments';

let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

async function endsOf(buildId: string): Promise<Map<string, ConsumerEnd>> {
  const ends = await Promise.all(ALL_CONSUMERS.map(async (id) => [id, await consumerEnd(client, buildId, id)] as const));
  return new Map(ends);
}

/**
 * Every consumer's node and test statuses equal dbt's run_results.json. One known exception:
 * when fail-fast strikes, dbt lists as "Skipping due to fail_fast" every node without a
 * result yet, even one already dispatched to a thread that then finishes it (dbt logs its
 * NodeFinished, the relation is built). Watcher reports what dbt logged; at most `threads`
 * nodes (those in flight) may differ that way.
 */
function expectEqualToRunResults(buildId: string, ends: Map<string, ConsumerEnd>, options: { failFastThreads?: number } = {}) {
  const runResults = readBuildRunResults(buildId);
  const byId = new Map(runResults.results.map((r) => [r.unique_id, r]));
  let compared = 0;
  const finishedAsFailFastStruck: string[] = [];
  for (const [id, end] of ends) {
    const outcome = end.outcome!;
    expect(outcome, `${id} has an outcome`).toBeDefined();
    const rr = byId.get(id);
    if (rr) {
      const dbtSays = normalizeDbtStatus(rr.status, rr.message);
      if (options.failFastThreads && dbtSays === 'not_run' && outcome.node.status === 'success' && outcome.node.executionTimeSeconds !== undefined) {
        finishedAsFailFastStruck.push(id);
      } else {
        expect(outcome.node.status, id).toBe(dbtSays);
      }
      compared++;
    } else {
      // dbt leaves ephemeral models out of run_results.json; they still get a NodeFinished event.
      expect(outcome.node.materialized, `${id} is missing from run_results.json`).toBe('ephemeral');
    }
    for (const test of outcome.tests) {
      const trr = byId.get(test.uniqueId);
      expect(trr, `${test.uniqueId} in run_results.json`).toBeDefined();
      expect(test.status, test.uniqueId).toBe(normalizeDbtStatus(trr!.status, trr!.message));
    }
  }
  // All but the ephemeral model (which run_results.json lists only when fail-fast skipped it).
  expect(compared).toBeGreaterThanOrEqual(ALL_CONSUMERS.length - 1);
  expect(finishedAsFailFastStruck.length, finishedAsFailFastStruck.join(', ')).toBeLessThanOrEqual(options.failFastThreads ?? 0);
}

describe('a green build', () => {
  let buildId: string;
  let progress: BuildProgress;
  let ends: Map<string, ConsumerEnd>;
  beforeAll(async () => {
    const build = await runShopBuild(client);
    buildId = build.buildId;
    expect(build.result.error).toBeUndefined();
    expect(build.result.ok).toBe(true);
    progress = build.result.progress!;
    ends = await endsOf(buildId);
  });

  it('has one Completed consumer per model, seed and snapshot', async () => {
    expect(progress.nodes.map((n) => n.uniqueId).sort()).toEqual([...ALL_CONSUMERS].sort());
    for (const [id, end] of ends) {
      expect(end.closeStatus, id).toBe('COMPLETED');
      expect(end.outcome?.status, id).toBe('success');
    }
    // Visible in Temporal: the producer plus one workflow per node, found by WatcherBuildId.
    const listed = await listBuildWorkflows(client, buildId, ALL_CONSUMERS.length + 1);
    expect(listed.filter((w) => w.type === 'dbtNode')).toHaveLength(ALL_CONSUMERS.length);
    for (const wf of listed.filter((w) => w.type === 'dbtNode')) {
      expect(wf.status.name).toBe('COMPLETED');
      expect(wf.workflowId).toMatch(new RegExp(`^watcher/${buildId}/`));
    }
  });

  it('starts every consumer before dbt runs, so every node is in the UI before dbt starts', async () => {
    const history = await client.workflow.getHandle(`watcher/${buildId}`).fetchHistory();
    const scheduled = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBuild');
    expect(scheduled, 'the build scheduled runBuild').toBeDefined();
    const dbtScheduledMs = Number(scheduled!.eventTime!.seconds) * 1000 + Math.floor((scheduled!.eventTime!.nanos ?? 0) / 1e6);
    const consumers = (await listBuildWorkflows(client, buildId, ALL_CONSUMERS.length + 1)).filter((w) => w.type === 'dbtNode');
    expect(consumers).toHaveLength(ALL_CONSUMERS.length);
    const startedAfter = consumers.filter((w) => w.startTime.getTime() > dbtScheduledMs).map((w) => w.workflowId);
    expect(startedAfter, 'consumers started after runBuild was scheduled').toEqual([]);
  });

  it("gives each consumer its node's status, equal to run_results.json", () => {
    expectEqualToRunResults(buildId, ends);
  });

  it("reports dbt's row counts and lists each model's tests", () => {
    for (const seed of SEEDS) {
      const csv = readFileSync(path.join(SHOP_PROJECT, 'seeds', `${seed.split('.')[2]}.csv`), 'utf8').trim().split('\n');
      expect(ends.get(seed)!.outcome!.node.rowsAffected, seed).toBe(csv.length - 1);
    }
    const fct = ends.get('model.shop.fct_orders')!.outcome!;
    const testIds = fct.tests.map((t) => t.uniqueId);
    expect(testIds).toContain(SINGULAR_TEST);
    expect(testIds.some((t) => t.startsWith('test.shop.relationships_fct_orders_customer_id'))).toBe(true);
    expect(fct.tests.every((t) => t.status === 'pass')).toBe(true);
    // A test with two parents belongs to both.
    expect(ends.get('model.shop.dim_customers')!.outcome!.tests.map((t) => t.uniqueId).some((t) => t.startsWith('test.shop.relationships_'))).toBe(true);
    expect(ends.get('model.shop.stg_payments')!.outcome!.tests.map((t) => t.uniqueId)).toContain(SINGULAR_TEST);
  });

  it('completes the ephemeral model from its NodeFinished event', () => {
    const eph = ends.get('model.shop.int_order_payments')!;
    expect(eph.closeStatus).toBe('COMPLETED');
    expect(eph.outcome!.node.materialized).toBe('ephemeral');
    expect(eph.outcome!.node.source).toBe('event');
  });
});

describe('a model error', () => {
  let buildId: string;
  let ends: Map<string, ConsumerEnd>;
  let progress: BuildProgress;
  beforeAll(async () => {
    const build = await runShopBuild(client, { vars: { shop_break_model: true } });
    buildId = build.buildId;
    expect(build.result.ok).toBe(false);
    progress = build.result.progress!;
    ends = await endsOf(buildId);
  });

  it('fails the broken model with NodeError and quotes the database', () => {
    const broken = ends.get('model.shop.stg_payments')!;
    expect(broken.closeStatus).toBe('FAILED');
    expect(broken.failureType).toBe('NodeError');
    expect(broken.outcome!.status).toBe('error');
    expect(broken.message).toContain('invalid input syntax');
  });

  it('fails every downstream consumer as skipped, and completes the unrelated ones', () => {
    for (const id of DOWNSTREAM_OF_STG_PAYMENTS) {
      const end = ends.get(id)!;
      expect(end.closeStatus, id).toBe('FAILED');
      expect(end.failureType, id).toBe('NodeSkipped');
      expect(end.outcome!.status, id).toBe('skipped');
    }
    for (const id of [...SEEDS, 'model.shop.stg_customers', 'model.shop.stg_orders', 'model.shop.stg_products', 'snapshot.shop.customers_snapshot']) {
      expect(ends.get(id)!.closeStatus, id).toBe('COMPLETED');
    }
    expect(progress.counts).toEqual({ success: 8, error: 1, skipped: 6 });
  });

  it('matches run_results.json', () => {
    expectEqualToRunResults(buildId, ends);
  });
});

describe('a failing test', () => {
  it('fails every parent of the test with TestFailed and skips their children', async () => {
    const { buildId, result } = await runShopBuild(client, { vars: { shop_test_outcome: 'fail' } });
    expect(result.ok).toBe(false);
    const ends = await endsOf(buildId);
    for (const parent of ['model.shop.fct_orders', 'model.shop.stg_payments']) {
      const end = ends.get(parent)!;
      expect(end.closeStatus, parent).toBe('FAILED');
      expect(end.failureType, parent).toBe('TestFailed');
      expect(end.outcome!.status).toBe('fail');
      expect(end.outcome!.node.status).toBe('success');
      expect(end.outcome!.tests.find((t) => t.uniqueId === SINGULAR_TEST)?.status).toBe('fail');
    }
    for (const child of ['model.shop.customer_lifetime_value', 'model.shop.daily_revenue']) {
      expect(ends.get(child)!.failureType, child).toBe('NodeSkipped');
    }
    expect(ends.get('model.shop.dim_customers')!.closeStatus).toBe('COMPLETED');
    expectEqualToRunResults(buildId, ends);
  });
});

describe('a warning test', () => {
  it('completes the parents with status warn, listing the tests', async () => {
    const { buildId, result } = await runShopBuild(client, { vars: { shop_test_outcome: 'warn' } });
    expect(result.ok).toBe(true);
    expect(result.progress!.counts).toEqual({ success: 13, warn: 2 });
    const ends = await endsOf(buildId);
    const fct = ends.get('model.shop.fct_orders')!;
    expect(fct.closeStatus).toBe('COMPLETED');
    expect(fct.outcome!.status).toBe('warn');
    expect(fct.outcome!.tests.find((t) => t.uniqueId === SINGULAR_TEST)?.status).toBe('warn');
    expect(fct.outcome!.tests.length).toBeGreaterThan(1);
    expectEqualToRunResults(buildId, ends);
  });
});

describe('fail-fast', () => {
  it('tells every consumer dbt never ran that it was not run', async () => {
    const { buildId, result } = await runShopBuild(client, { failFast: true, threads: 1, vars: { shop_break_model: true } });
    expect(result.ok).toBe(false);
    const ends = await endsOf(buildId);
    const notRun = [...ends].filter(([, e]) => e.outcome?.status === 'not_run');
    expect(notRun.length).toBeGreaterThan(0);
    for (const [id, end] of notRun) {
      expect(end.closeStatus, id).toBe('FAILED');
      expect(end.failureType, id).toBe('NodeNotRun');
    }
    expect(ends.get('model.shop.stg_payments')!.failureType).toBe('NodeError');
    expectEqualToRunResults(buildId, ends, { failFastThreads: 1 });
  });
});
