// Exact timeliness on the real stack: a build and a slow node with a threshold of 1 minute (the
// smallest datepart) alert at the moment they run past it, while they still run, through a JSON
// webhook on 127.0.0.1; once each, even after the 15-minute check finds the same executions; and
// they are logged when they end. A slow node without a threshold alerts nothing. The node sleeps
// SLEEP_SECONDS (a real pre-hook pg_sleep) so its end comes a few seconds after its due moment.
// A worker of this file runs the builds on its own task queue with a notifier for the receiver.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBuild, waitForBuild } from '../../src/client.js';
import { CHECK_WORKFLOW_TYPES, type CheckSummary } from '../../src/contracts/checks.js';
import { nodeStateQuery } from '../../src/contracts/messages.js';
import { alertWorkflowId, nodeWorkflowId } from '../../src/contracts/names.js';
import { createNotifier, loadNotifierConfig, type AlertPayloadV1 } from '../../src/monitoring/notifier.js';
import { BUILD_PIPELINE_TYPE, buildExecutionKey, nodeExecutionKey } from '../../src/recording/records.js';
import { patchPipeline } from '../../src/store/catalog.js';
import { createPool, withTransaction, type Pool } from '../../src/store/db.js';
import { syncPipelines } from '../../src/store/pipelines.js';
import { startOwnWorker, type OwnWorker } from '../support/own-worker.js';
import { Receiver, type Received } from '../support/receiver.js';
import { makeShopSlow, SLOW_TIMED, SLOW_UNTIMED } from '../support/slow-shop.js';
import { copyShopProject, stack, uniqueName } from '../support/stack.js';

const SLOW = SLOW_TIMED;
const UNTIMED = SLOW_UNTIMED;
/** Past the 1-minute threshold by a few seconds: the alert must come while the node still runs. */
const SLEEP_SECONDS = 68;
/** From the due moment to the receiver, at most (the bench measures it: bench/alert-latency.ts). */
const LATENCY_BOUND_MS = 5_000;

let pool: Pool;
let own: OwnWorker | undefined;
let client: Client;
const taskQueue = uniqueName('timeliness');
const receiver = new Receiver();
let projectDir: string;

beforeAll(async () => {
  projectDir = makeShopSlow(copyShopProject());
  await receiver.listen();
  pool = createPool(stack().databaseUrl);
  own = await startOwnWorker(taskQueue, {
    dbtEnv: { ...process.env, ...stack().dbtEnv },
    dbtBin: stack().dbtBin,
    store: pool,
    notifier: createNotifier(loadNotifierConfig({ WATCHER_ALERT_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks/timeliness` })),
  });
  client = own.client;
});

afterAll(async () => {
  await own?.stop();
  await pool?.end();
  await receiver.close();
});

const payload = (r: Received) => JSON.parse(r.body) as AlertPayloadV1;
const delivered = (key: string) => receiver.accepted().filter((r) => payload(r).idempotency_key === key);

/** Bounded wait for the receiver to accept the alert with this key. */
async function alertArrives(key: string, timeoutMs: number): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = delivered(key)[0];
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`no alert ${key} within ${timeoutMs} ms; received: ${receiver.requests.map((r) => payload(r).idempotency_key).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timelinessCheck(): Promise<CheckSummary> {
  return client.workflow.execute(CHECK_WORKFLOW_TYPES.timeliness, { taskQueue, workflowId: uniqueName('check-timeliness'), args: [{ lookbackMinutes: 60 }] });
}

describe('exact timeliness', () => {
  it('alerts a build and a node at the moment they run past their threshold, once, and logs them when they end', async () => {
    // The build's pipeline, as a build syncs it, then given a threshold through the API's PATCH.
    const pipeline = uniqueName('exact_build');
    await withTransaction(pool, (c) => syncPipelines(c, [{ name: pipeline, type: BUILD_PIPELINE_TYPE, config: {} }]));
    await patchPipeline(pool, { name: pipeline }, { timeliness_number: 1, timeliness_datepart: 'minute' });

    const buildId = uniqueName('b').replace(/_/g, '-');
    const { handle } = await startBuild(
      client,
      { projectDir, buildId, pipeline, nodeRetries: 0, threads: 4, select: [`+int_customer_orders`, 'slow_untimed'], vars: { schema: uniqueName('t'), shop_sleep_seconds: SLEEP_SECONDS } },
      { taskQueue },
    );
    const buildKey = buildExecutionKey(handle.workflowId, (await handle.describe()).runId);
    const rootAlertKey = `timeliness:${buildKey}`;
    const nodeAlertKey = `timeliness:${nodeExecutionKey(buildKey, SLOW)}`;

    // The build's timer (from the workflow's start) fires first.
    const rootAlert = await alertArrives(rootAlertKey, 90_000);
    expect(payload(rootAlert)).toMatchObject({ kind: 'timeliness_late', details: { pipeline, status: 'running', threshold: '1 minute', threshold_from: 'pipeline', execution_key: buildKey } });
    const rootLatency = rootAlert.at - Date.parse(payload(rootAlert).details.due_by as string);
    expect(rootLatency).toBeGreaterThanOrEqual(0);
    expect(rootLatency).toBeLessThan(LATENCY_BOUND_MS);
    // The check, while the build runs, finds the same execution (recorded at start) under the same key: not delivered again.
    const during = await timelinessCheck();
    expect(during.alertKeys).toContain(rootAlertKey);

    const nodeAlert = await alertArrives(nodeAlertKey, 60_000);
    // Still running: the consumer has no result yet.
    const state = await client.workflow.getHandle(nodeWorkflowId(buildId, SLOW)).query(nodeStateQuery);
    expect(state.status).toBe('running');
    const body = payload(nodeAlert);
    expect(body).toMatchObject({
      kind: 'timeliness_late',
      level: 'warning',
      title: `Timeliness: ${SLOW} is running late`,
      details: { pipeline: SLOW, status: 'running', threshold: '1 minute', threshold_from: 'pipeline', execution_key: nodeExecutionKey(buildKey, SLOW), execution_id: null },
    });
    const latency = nodeAlert.at - Date.parse(body.details.due_by as string);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(LATENCY_BOUND_MS);

    await waitForBuild(handle);
    const rows = await pool.query<{ execution_key: string; end_date: Date; execution_status: string | null; completed_successfully: boolean }>(
      `SELECT e.execution_key, e.end_date, e.completed_successfully, l.execution_status
       FROM pipeline_execution e LEFT JOIN timeliness_pipeline_execution_log l ON l.pipeline_execution_id = e.id
       WHERE e.execution_key = ANY($1::text[])`,
      [[buildKey, nodeExecutionKey(buildKey, SLOW), nodeExecutionKey(buildKey, UNTIMED)]],
    );
    const byKey = new Map(rows.rows.map((r) => [r.execution_key, r]));
    const node = byKey.get(nodeExecutionKey(buildKey, SLOW))!;
    expect(node.completed_successfully).toBe(true);
    expect(node.end_date.getTime()).toBeGreaterThan(nodeAlert.at); // alerted while it ran
    // Logged when it ended; the build's row is the check's (it logged it running first): one row each.
    expect(node.execution_status).toBe('completed');
    expect(byKey.get(buildKey)!.execution_status).toBe('running');
    const untimed = byKey.get(nodeExecutionKey(buildKey, UNTIMED))!;
    expect(untimed.completed_successfully).toBe(true);
    expect(untimed.end_date.getTime() - nodeAlert.at).toBeGreaterThan(0); // ran past 1 minute too
    expect(untimed.execution_status).toBeNull();

    // The check afterwards finds nothing new for them.
    const after = await timelinessCheck();
    expect(after.alertKeys).not.toContain(rootAlertKey);
    expect(after.alertKeys).not.toContain(nodeAlertKey);

    // Every delivery child has ended; each execution's alert reached the receiver exactly once.
    for (const key of [rootAlertKey, nodeAlertKey]) await client.workflow.getHandle(alertWorkflowId(key)).result();
    const mine = receiver.accepted().map((r) => payload(r).idempotency_key).filter((k) => k.startsWith(`timeliness:${buildKey}`));
    expect(mine.sort()).toEqual([rootAlertKey, nodeAlertKey].sort());
  });
});
