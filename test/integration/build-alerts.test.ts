// After a build (real Temporal, dbt, Postgres and two HTTP receivers on 127.0.0.1): a failed
// build's alerts (one build_failed, one node_failed per failed node) reach Slack and the JSON
// webhook once, a green one sends none, and anomaly detection runs on the build's recorded node
// executions and alerts what it flags once, with the anomalyAlerts check's key. This file's worker
// runs the builds on its own task queue, with its own metadata database (so the baselines and
// ledger here are this file's alone) and a notifier that posts to the receivers.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { startBuild, waitForBuild, type BuildResult } from '../../src/client.js';
import { CHECK_WORKFLOW_TYPES, type CheckSummary } from '../../src/contracts/checks.js';
import { BUILD_ALERTS_WORKFLOW_TYPE, buildAlertsWorkflowId } from '../../src/contracts/names.js';
import type { BuildAlertsInput } from '../../src/monitoring/build-alerts.js';
import { ALERT_SCHEMA_V1, createNotifier, loadNotifierConfig, type AlertPayloadV1 } from '../../src/monitoring/notifier.js';
import { buildExecutionKey, nodeExecutionKey, type ExecutionRecord } from '../../src/recording/records.js';
import { withTransaction } from '../../src/store/db.js';
import { recordExecutions } from '../../src/store/executions.js';
import type { BuildAlertsSummary } from '../../workflows/build-alerts.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startOwnWorker, type OwnWorker } from '../support/own-worker.js';
import { Receiver } from '../support/receiver.js';
import { copyShopProject, stack, uniqueName } from '../support/stack.js';

const SLACK_TOKEN = 'T0BUILD/B0BUILD/buildS3cr3tTok3n';
const JSON_TOKEN = 'buildJsonS3cr3tTok3n';
const SECRETS = ['S3cr3tTok3n', 'T0BUILD', 'B0BUILD'];
const DAY = 86_400_000;
const HOUR = 3_600_000;

// A copy of the example whose stg_customers fails on demand (var break_customers): with
// shop_test_outcome=fail it gives a failing model and a failing test in one build.
const PROJECT = copyShopProject();
const STG_CUSTOMERS = path.join(PROJECT, 'models', 'staging', 'stg_customers.sql');
writeFileSync(
  STG_CUSTOMERS,
  readFileSync(STG_CUSTOMERS, 'utf8').replace(
    'signup_date\n',
    "signup_date\n{%- if shop_flag('break_customers') %}\n    , 'break_customers'::integer as broken_on_purpose\n{%- endif %}\n",
  ),
);

const slack = new Receiver();
const json = new Receiver();
const taskQueue = uniqueName('build_alerts');
let db: TestDatabase;
let own: OwnWorker;
let client: Client;

beforeAll(async () => {
  db = await createTestDatabase('build_alerts');
  await slack.listen();
  await json.listen();
  const notifier = createNotifier(
    loadNotifierConfig({
      WATCHER_SLACK_WEBHOOK_URL: `http://127.0.0.1:${slack.port}/services/${SLACK_TOKEN}`,
      WATCHER_ALERT_WEBHOOK_URL: `http://127.0.0.1:${json.port}/hooks/${JSON_TOKEN}`,
    }),
  );
  own = await startOwnWorker(taskQueue, { dbtEnv: { ...process.env, ...stack().dbtEnv }, dbtBin: stack().dbtBin, store: db.pool, uiUrl: stack().uiUrl, notifier });
  client = own.client;
});

afterAll(async () => {
  await own?.stop();
  await db?.drop();
  await slack.close();
  await json.close();
});

interface Built {
  buildId: string;
  workflowId: string;
  runId: string;
  result: BuildResult;
  alerts: WorkflowHandle;
  summary: BuildAlertsSummary;
}

/** Bounded: reject after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A build of this file's project on this file's worker, then its post-build workflow to its end. */
async function build(vars: Record<string, unknown> = {}): Promise<Built> {
  const buildId = uniqueName('ba').replace(/_/g, '-');
  const { handle } = await startBuild(client, { projectDir: PROJECT, buildId, nodeRetries: 0, vars: { schema: uniqueName('t'), ...vars } }, { taskQueue });
  const result = await within(waitForBuild(handle), 170_000, `build ${buildId}`);
  const { runId } = await handle.describe();
  // The build started it before it closed: it exists now.
  const alerts = client.workflow.getHandle(buildAlertsWorkflowId(buildId, runId));
  const summary = (await within(alerts.result(), 60_000, 'the post-build workflow')) as BuildAlertsSummary;
  return { buildId, workflowId: handle.workflowId, runId, result, alerts, summary };
}

function payloads(): AlertPayloadV1[] {
  return json.accepted().map((r) => JSON.parse(r.body) as AlertPayloadV1);
}

const FAILED = {
  'model.shop.stg_customers': { status: 'error', says: 'invalid input syntax for type integer: "break_customers"' },
  'model.shop.fct_orders': { status: 'fail', says: 'Got 1 result, configured to fail if != 0' },
  'model.shop.stg_payments': { status: 'fail', says: 'Got 1 result, configured to fail if != 0' },
} as const;

describe('a failed build', () => {
  let failed: Built;
  let slackBefore: number;
  let jsonBefore: number;

  beforeAll(async () => {
    slackBefore = slack.requests.length;
    jsonBefore = json.requests.length;
    failed = await build({ break_customers: true, shop_test_outcome: 'fail' });
  });

  it('posts one Slack message and one watcher.alert/v1 build_failed naming the failed nodes, their status and dbt messages, with the UI link', () => {
    expect(failed.result.ok).toBe(false);
    const buildKey = `build_failed:${failed.workflowId}:${failed.runId}`;
    expect([...failed.summary.alertKeys].sort()).toEqual([buildKey, ...Object.keys(FAILED).map((u) => `node_failed:${failed.workflowId}:${failed.runId}:${u}`).sort()].sort());
    expect(failed.summary.alertErrors).toBeUndefined();

    // Slack: one message for the whole batch, listing every failed node and dbt's messages.
    const slackNew = slack.requests.slice(slackBefore);
    expect(slackNew).toHaveLength(1);
    expect(slackNew[0]!.status).toBe(200);
    const text = (JSON.parse(slackNew[0]!.body) as { text: string }).text;
    expect(text).toContain(`Build failed: shop (target default), build ${failed.buildId}`);
    for (const [uid, f] of Object.entries(FAILED)) {
      expect(text).toContain(`${uid} (${f.status})`);
      expect(text).toContain(f.says);
    }
    expect(text).toContain(`${stack().uiUrl}/namespaces/${stack().namespace}/workflows/${encodeURIComponent(failed.workflowId)}/${failed.runId}/history`);

    // The JSON webhook: exactly one build_failed, and one node_failed per failed node.
    const mine = payloads().filter((p) => p.details.build_id === failed.buildId);
    expect(json.requests.slice(jsonBefore).every((r) => r.status === 200)).toBe(true);
    const builds = mine.filter((p) => p.kind === 'build_failed');
    expect(builds).toHaveLength(1);
    const b = builds[0]!;
    expect(b).toMatchObject({
      schema: ALERT_SCHEMA_V1,
      level: 'error',
      idempotency_key: buildKey,
      details: { build_id: failed.buildId, project: 'shop', target: 'default', failed_nodes: 3, workflow_id: failed.workflowId, run_id: failed.runId },
      links: { temporal_ui: `${stack().uiUrl}/namespaces/${stack().namespace}/workflows/${encodeURIComponent(failed.workflowId)}/${failed.runId}/history` },
    });
    for (const [uid, f] of Object.entries(FAILED)) {
      expect(b.message).toContain(`- ${uid} (${f.status}): `);
      expect(b.message).toContain(f.says);
    }
    expect(b.message).toMatch(/failed: 3 nodes of \d+ failed \(\d+ skipped/);

    const nodes = mine.filter((p) => p.kind === 'node_failed');
    expect(nodes.map((p) => p.details.unique_id).sort()).toEqual(Object.keys(FAILED).sort());
    for (const p of nodes) {
      const uid = p.details.unique_id as keyof typeof FAILED;
      expect(p.details.status).toBe(FAILED[uid].status);
      expect(p.message).toContain(FAILED[uid].says);
      expect(p.details.rerun).toMatch(new RegExp(`^dbt build --select \\S*${uid.split('.').pop()!}\\S*$`));
      expect(p.message).toContain(`Rerun it: ${p.details.rerun as string}`);
      expect(p.links.temporal_ui).toBe(`${stack().uiUrl}/namespaces/${stack().namespace}/workflows/${encodeURIComponent(`watcher/${failed.buildId}/${uid}`)}`);
    }
    // A skipped node did not fail itself: no alert of its own.
    expect(nodes.map((p) => p.details.unique_id)).not.toContain('model.shop.dim_customers');
  });

  it('a second delivery attempt sends nothing new, and no webhook URL reaches a history', async () => {
    const history = await failed.alerts.fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const input = defaultPayloadConverter.fromPayload<BuildAlertsInput>(started.input!.payloads![0]!);
    const slackCount = slack.requests.length;
    const jsonCount = json.requests.length;
    const again = await within(
      client.workflow.execute<(i: BuildAlertsInput) => Promise<BuildAlertsSummary>>(BUILD_ALERTS_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('build-alerts-again'), args: [input] }),
      60_000,
      'the second attempt',
    );
    expect(again.alertKeys).toEqual(failed.summary.alertKeys);
    expect(slack.requests.length).toBe(slackCount);
    expect(json.requests.length).toBe(jsonCount);
    const delivered = await db.pool.query<{ channel: string; n: number }>(
      `SELECT channel, count(*)::int AS n FROM alert_delivery WHERE idempotency_key = ANY($1::text[]) AND status = 'delivered' GROUP BY channel ORDER BY channel`,
      [failed.summary.alertKeys],
    );
    expect(delivered.rows).toEqual([{ channel: 'slack', n: 4 }, { channel: 'webhook', n: 4 }]);
    const texts = [JSON.stringify(history.events), JSON.stringify((await client.workflow.getHandle(failed.workflowId).fetchHistory()).events)];
    for (const t of texts) for (const s of SECRETS) expect(t).not.toContain(s);
  });
});

describe('a green build', () => {
  const NODE = 'model.shop.dim_customers';
  let green: Built;
  let ruleId: number;
  let slackBefore: number;
  let jsonBefore: number;

  beforeAll(async () => {
    // A baseline for dim_customers (100 rows a build) of 6 days at about 12 rows, in this hour and
    // the next (whichever hour the node starts in), with a rule set by the user: total_rows, 5 executions.
    // The failed build above never builds dim_customers (its upstream is broken there).
    const now = Date.now();
    const records: ExecutionRecord[] = [];
    for (const hour of [0, 1]) {
      for (let day = 1; day <= 6; day++) {
        const start = new Date(now + hour * HOUR - day * DAY);
        records.push({
          key: uniqueName(`baseline_${hour}_${day}`),
          pipeline: { name: NODE, type: 'dbt_model' },
          status: 'success',
          startDate: start.toISOString(),
          endDate: new Date(start.getTime() + 2000).toISOString(),
          totalRows: 10 + day,
        });
      }
    }
    await withTransaction(db.pool, (c) => recordExecutions(c, records));
    const rule = await db.pool.query<{ id: number }>(
      // A user's setting (the failed build above may have created the default rule already: changed, as through the API).
      `INSERT INTO anomaly_detection_rule (pipeline_id, metric_field, minimum_executions) SELECT id, 'total_rows', 5 FROM pipeline WHERE name = $1
       ON CONFLICT (pipeline_id, metric_field) DO UPDATE SET minimum_executions = 5 RETURNING id`,
      [NODE],
    );
    ruleId = rule.rows[0]!.id;
    slackBefore = slack.requests.length;
    jsonBefore = json.requests.length;
    green = await build();
  });

  it('sends no build_failed or node_failed', () => {
    expect(green.result.ok).toBe(true);
    expect(green.summary.alertKeys.filter((k) => !k.startsWith('anomaly:'))).toEqual([]);
    expect(payloads().filter((p) => p.details.build_id === green.buildId)).toEqual([]);
  });

  it("gives the node pipelines the default anomaly rules and leaves the user's rule as it was", async () => {
    const rules = await db.pool.query<{ name: string; metric_field: string; z_threshold: number; lookback_days: number; minimum_executions: number }>(
      `SELECT p.name, r.metric_field::text, r.z_threshold, r.lookback_days, r.minimum_executions
       FROM anomaly_detection_rule r JOIN pipeline p ON p.id = r.pipeline_id WHERE p.name = ANY($1::text[]) ORDER BY p.name, r.metric_field`,
      [[NODE, 'model.shop.stg_orders']],
    );
    expect(rules.rows).toEqual([
      { name: NODE, metric_field: 'duration_seconds', z_threshold: 3, lookback_days: 30, minimum_executions: 30 },
      { name: NODE, metric_field: 'total_rows', z_threshold: 3, lookback_days: 30, minimum_executions: 5 },
      { name: NODE, metric_field: 'throughput', z_threshold: 3, lookback_days: 30, minimum_executions: 30 },
      { name: 'model.shop.stg_orders', metric_field: 'duration_seconds', z_threshold: 3, lookback_days: 30, minimum_executions: 30 },
      { name: 'model.shop.stg_orders', metric_field: 'total_rows', z_threshold: 3, lookback_days: 30, minimum_executions: 30 },
      { name: 'model.shop.stg_orders', metric_field: 'throughput', z_threshold: 3, lookback_days: 30, minimum_executions: 30 },
    ]);
    // The build's own pipeline gets none by default.
    const buildRules = await db.pool.query(`SELECT 1 FROM anomaly_detection_rule r JOIN pipeline p ON p.id = r.pipeline_id WHERE p.name LIKE 'dbt:shop:%'`);
    expect(buildRules.rowCount).toBe(0);
  });

  it('flags the node whose total_rows is out of band, records the result, and alerts it once; the anomalyAlerts check sends nothing new for it', async () => {
    const key = nodeExecutionKey(buildExecutionKey(green.workflowId, green.runId), NODE);
    const exec = await db.pool.query<{ id: number; total_rows: number; duration_seconds: number | null; throughput: number | null; anomaly_flags: Record<string, boolean> | null }>(
      'SELECT id, total_rows, duration_seconds, throughput, anomaly_flags FROM pipeline_execution WHERE execution_key = $1',
      [key],
    );
    const e = exec.rows[0]!;
    expect(e).toMatchObject({ total_rows: 100, anomaly_flags: { total_rows: true } });
    expect(e.duration_seconds).not.toBeNull();
    expect(e.throughput).not.toBeNull();
    const results = await db.pool.query<{ rule_id: number; violation_value: number; z_threshold: number }>(
      'SELECT rule_id, violation_value, z_threshold FROM anomaly_detection_result WHERE pipeline_execution_id = $1',
      [e.id],
    );
    expect(results.rows).toEqual([{ rule_id: ruleId, violation_value: 100, z_threshold: 3 }]);

    const alertKey = `anomaly:${e.id}:${ruleId}`;
    expect(green.summary).toMatchObject({ alertKeys: [alertKey], anomalies: 1 });
    expect(green.summary.anomalyChecked).toBeGreaterThan(1);
    const anomalies = payloads().filter((p) => p.idempotency_key === alertKey);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ kind: 'anomaly', title: `Anomaly: ${NODE} total_rows above its usual range`, details: { execution_id: e.id, metric: 'total_rows', value: 100 } });
    const slackNew = slack.requests.slice(slackBefore);
    expect(slackNew).toHaveLength(1);
    expect(slackNew[0]!.body).toContain(`Anomaly: ${NODE} total_rows above its usual range`);
    expect(json.requests.slice(jsonBefore)).toHaveLength(1);

    // The 15-minute check finds it too (the same key), and the notifier sends it nowhere again.
    const slackCount = slack.requests.length;
    const jsonCount = json.requests.length;
    const check = await within(
      client.workflow.execute<(a: Record<string, unknown>) => Promise<CheckSummary>>(CHECK_WORKFLOW_TYPES.anomalies, { taskQueue, workflowId: uniqueName('check-anomalies'), args: [{}] }),
      60_000,
      'the anomalyAlerts check',
    );
    expect(check.alertKeys).toContain(alertKey);
    expect(slack.requests.length).toBe(slackCount);
    expect(json.requests.length).toBe(jsonCount);
  });
});

describe('WATCHER_DBT_DEFAULT_ANOMALY_RULES=false', () => {
  it('a build start syncs its node pipelines without creating rules', async () => {
    const activities = createActivities({ client, dbtBin: stack().dbtBin, dbtEnv: {}, signalConcurrency: 1, stopGraceMs: 0, heartbeatIntervalMs: 1000, store: db.pool, dbtDefaultAnomalyRules: false });
    const node = `model.shop.${uniqueName('no_rules')}`;
    const started = await activities.recordBuildStart({
      root: { key: uniqueName('build:no-rules'), pipeline: { name: uniqueName('dbt:shop:no-rules'), type: 'dbt_build' }, status: 'running', startDate: new Date().toISOString() },
      nodePipelines: [{ name: node, type: 'dbt_model' }],
      lineage: { addresses: {}, pipelines: [] },
    });
    expect(started.recorded).toBe(true);
    const rules = await db.pool.query('SELECT 1 FROM anomaly_detection_rule r JOIN pipeline p ON p.id = r.pipeline_id WHERE p.name = $1', [node]);
    expect(rules.rowCount).toBe(0);
  });
});
