// A failed node's consumer is retried by Temporal; the retry does not wait for the build: it
// re-runs its one node (with the build's flags) once its upstream consumers ended, then its
// downstream consumers do the same.
import { WorkflowContinuedAsNewError, type Client } from '@temporalio/client';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { nodeWorkflowId } from '../../src/contracts/names.js';
import { createPool } from '../../src/store/db.js';
import { ancestorsOf, buildExecution, childrenOf } from '../../src/store/queries.js';
import { connectTestClient, consumerEnd, copyShopProject, stack, uniqueName, waitForWorkflow } from '../support/stack.js';

let client: Client;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ client, close } = await connectTestClient());
});
afterAll(async () => close());

const isTest = (id: string) => id.startsWith('test.') || id.startsWith('unit_test.');

describe('retry fallback', () => {
  it('re-runs exactly the failed node after its cause is fixed, then each skipped node alone', async () => {
    const projectDir = copyShopProject();
    try {
      const model = path.join(projectDir, 'models', 'staging', 'stg_payments.sql');
      const original = readFileSync(model, 'utf8');
      writeFileSync(model, "-- broken on purpose by the test\nselect no_such_column from {{ ref('raw_payments') }}\n");

      const buildId = uniqueName('retry').replace(/_/g, '-');
      const { handle } = await startBuild(
        client,
        { projectDir, buildId, nodeRetries: 1, nodeRetryDelaySeconds: 8, vars: { schema: uniqueName('t') } },
        { taskQueue: stack().taskQueue },
      );

      // Wait for the first run of the broken node's consumer to fail, then fix the cause.
      const consumerId = nodeWorkflowId(buildId, 'model.shop.stg_payments');
      const { runId } = await waitForWorkflow(client, consumerId);
      const firstRun = client.workflow.getHandle(consumerId, runId, { followRuns: false });
      // A run that failed and is being retried ends with a link to its next run.
      await expect(firstRun.result()).rejects.toBeInstanceOf(WorkflowContinuedAsNewError);
      writeFileSync(model, original);

      const result = await waitForBuild(handle);
      expect(result.error).toBeUndefined();
      expect(result.ok).toBe(true);

      const fixed = await consumerEnd(client, buildId, 'model.shop.stg_payments');
      expect(fixed.closeStatus).toBe('COMPLETED');
      expect(fixed.outcome!.attempt).toBe(2);
      expect(fixed.outcome!.status).toBe('success');
      // The rerun ran this node and its tests: no other model, seed or snapshot.
      expect(fixed.outcome!.rerun!.nodesRun.filter((id) => !isTest(id))).toEqual(['model.shop.stg_payments']);
      expect(fixed.outcome!.tests.length).toBeGreaterThan(0);

      // The nodes dbt skipped because of it ran again, each alone, after it.
      for (const id of ['model.shop.int_customer_orders', 'model.shop.fct_orders', 'model.shop.daily_revenue']) {
        const end = await consumerEnd(client, buildId, id);
        expect(end.closeStatus, id).toBe('COMPLETED');
        expect(end.outcome!.attempt, id).toBe(2);
        expect(end.outcome!.rerun!.nodesRun.filter((n) => !isTest(n)), id).toEqual([id]);
      }
      // Nodes that succeeded in the build were not re-run.
      const untouched = await consumerEnd(client, buildId, 'model.shop.stg_orders');
      expect(untouched.outcome!.attempt).toBe(1);
      expect(untouched.outcome!.rerun).toBeUndefined();

      // Recorded three deep: the build, the node's execution in it (error), the rerun (success).
      const pool = createPool(stack().databaseUrl);
      try {
        const root = (await buildExecution(pool, buildId))!;
        expect(root.status).toBe('success');
        const node = (await childrenOf(pool, root.id)).find((c) => c.pipeline === 'model.shop.stg_payments')!;
        expect(node.status).toBe('error');
        const reruns = await childrenOf(pool, node.id);
        expect(reruns).toHaveLength(1);
        expect(reruns[0]).toMatchObject({ status: 'success', pipeline: 'model.shop.stg_payments' });
        expect(reruns[0]!.execution_metadata).toMatchObject({ attempt: 2 });
        expect((await ancestorsOf(pool, reruns[0]!.id)).map((a) => [a.id, a.depth])).toEqual([[node.id, 1], [root.id, 2]]);
      } finally {
        await pool.end();
      }
    } finally {
      rmSync(projectDir, { recursive: true, force: true });
    }
  });

  it('fails a retried node as UpstreamFailed without running it when its upstream stays broken', async () => {
    const projectDir = copyShopProject();
    try {
      writeFileSync(path.join(projectDir, 'models', 'staging', 'stg_payments.sql'), "select no_such_column from {{ ref('raw_payments') }}\n");
      const buildId = uniqueName('upfail').replace(/_/g, '-');
      const { handle } = await startBuild(
        client,
        { projectDir, buildId, nodeRetries: 1, nodeRetryDelaySeconds: 1, select: ['stg_payments+'], vars: { schema: uniqueName('t') } },
        { taskQueue: stack().taskQueue },
      );
      const result = await waitForBuild(handle);
      expect(result.ok).toBe(false);
      const broken = await consumerEnd(client, buildId, 'model.shop.stg_payments');
      expect(broken.failureType).toBe('NodeError');
      expect(broken.outcome!.attempt).toBe(2); // re-ran once, failed again
      const downstream = await consumerEnd(client, buildId, 'model.shop.fct_orders');
      expect(downstream.closeStatus).toBe('FAILED');
      expect(downstream.failureType).toBe('UpstreamFailed');
      expect(downstream.message).toContain('model.shop.stg_payments');
    } finally {
      rmSync(projectDir, { recursive: true, force: true });
    }
  });
});
