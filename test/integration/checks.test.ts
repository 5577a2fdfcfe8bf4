// The check workflows against the real stack: freshness, timeliness, failure rate and anomaly
// alerts find what the data says (times are set in the data, no sleeps), alert once per event,
// and `watcher check` prints it. A worker of this file runs the workflows on its own task queue
// with a stand-in `sendAlerts` that records its calls (the notifier's side effect, at the edge).
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { CHECK_WORKFLOW_TYPES, LOG_CLEANUP_WORKFLOW_TYPE, type CheckResult, type CheckSummary, type LogCleanupSummary } from '../../src/contracts/checks.js';
import type { Alert } from '../../src/monitoring/alerts.js';
import { deleteCheckSchedules, installCheckSchedules, listCheckSchedules } from '../../src/monitoring/check-schedules.js';
import { endExecution, startExecution } from '../../src/store/api-executions.js';
import { createPool, type Pool } from '../../src/store/db.js';
import { PROJECT_ROOT } from '../../src/toolchain.js';
import { stack, uniqueName } from '../support/stack.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(Date.now() - ms);

let pool: Pool;
let workerConnection: NativeConnection;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let activities: ReturnType<typeof createActivities>;
const taskQueue = uniqueName('checks');
const sent: Alert[][] = [];
const sentKeys = () => sent.flat().map((a) => a.idempotencyKey);

beforeAll(async () => {
  pool = createPool(stack().databaseUrl);
  workerConnection = await NativeConnection.connect({ address: stack().temporalAddress });
  connection = await Connection.connect({ address: stack().temporalAddress });
  client = new Client({ connection, namespace: stack().namespace });
  activities = createActivities({ client, dbtBin: stack().dbtBin, dbtEnv: process.env, signalConcurrency: 4, stopGraceMs: 1000, heartbeatIntervalMs: 1000, store: pool });
  worker = await Worker.create({
    connection: workerConnection,
    namespace: stack().namespace,
    taskQueue,
    workflowBundle: { codePath: stack().bundlePath },
    activities: {
      ...activities,
      sendAlerts: (alerts: Alert[]) => {
        sent.push(alerts);
        return Promise.resolve({ sent: alerts.length });
      },
    },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await workerConnection?.close();
  await connection?.close();
  await pool?.end();
});

async function runCheck(check: keyof typeof CHECK_WORKFLOW_TYPES, args: Record<string, unknown> = {}): Promise<CheckSummary> {
  return client.workflow.execute<(a: Record<string, unknown>) => Promise<CheckSummary>>(CHECK_WORKFLOW_TYPES[check], {
    taskQueue,
    workflowId: uniqueName(`check-${check}`),
    args: [args],
  });
}

async function newPipeline(o: { freshness?: [number, string]; timeliness?: [number, string]; lastInsert?: Date } = {}): Promise<{ id: number; name: string }> {
  const type = await pool.query<{ id: number }>('INSERT INTO pipeline_type (name) VALUES ($1) RETURNING id', [uniqueName('checks_type')]);
  const name = uniqueName('checks_pipeline');
  const row = await pool.query<{ id: number }>(
    `INSERT INTO pipeline (name, pipeline_type_id, freshness_number, freshness_datepart, timeliness_number, timeliness_datepart, last_target_insert)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [name, type.rows[0]!.id, o.freshness?.[0] ?? null, o.freshness?.[1] ?? null, o.timeliness?.[0] ?? null, o.timeliness?.[1] ?? null, o.lastInsert ?? null],
  );
  return { id: row.rows[0]!.id, name };
}

/** An execution through the store's own start/end (closure rows, anomaly detection included). */
async function execution(pipelineId: number, start: Date, end?: { at: Date; ok: boolean; totalRows?: number }): Promise<number> {
  const started = await startExecution(pool, { pipelineId, startDate: start.toISOString() });
  if (started.kind !== 'started') throw new Error(`start: ${started.kind}`);
  if (end) {
    const ended = await endExecution(pool, { id: started.id, endDate: end.at.toISOString(), completedSuccessfully: end.ok, totalRows: end.totalRows });
    if (ended.kind !== 'ended') throw new Error(`end: ${ended.kind}`);
  }
  return started.id;
}

/** The timeliness alert key of an execution: its natural key (the same for a build's or node's own timer). */
async function timelinessKey(executionId: number): Promise<string> {
  const r = await pool.query<{ execution_key: string }>('SELECT execution_key FROM pipeline_execution WHERE id = $1', [executionId]);
  return `timeliness:${r.rows[0]!.execution_key}`;
}

describe('freshnessCheck', () => {
  it('finds the stale pipeline, alerts it once, and finds nothing new the second time', async () => {
    const stale = await newPipeline({ freshness: [1, 'hour'], lastInsert: ago(3 * HOUR) });
    const fresh = await newPipeline({ freshness: [1, 'day'], lastInsert: ago(3 * HOUR) });

    const first = await runCheck('freshness');
    const mine = first.findings.filter((f) => f.pipeline_id === stale.id || f.pipeline_id === fresh.id);
    expect(mine).toEqual([expect.objectContaining({ pipeline_id: stale.id, pipeline_name: stale.name, freshness_number: 1, freshness_datepart: 'hour' })]);
    expect(first.found).toBeGreaterThanOrEqual(1);
    const key = `freshness:${stale.id}:${mine[0]!.last_dml_timestamp as string}`;
    expect(first.alertKeys).toContain(key);
    expect(sentKeys().filter((k) => k === key)).toHaveLength(1);
    const alert = sent.flat().find((a) => a.idempotencyKey === key)!;
    expect(alert).toMatchObject({ kind: 'freshness_stale', level: 'warning', title: `Freshness: ${stale.name} is stale` });

    const second = await runCheck('freshness');
    expect(second.findings.map((f) => f.pipeline_id)).not.toContain(stale.id);
    expect(second.found).toBeGreaterThanOrEqual(1); // still stale, but not new
    expect(sentKeys().filter((k) => k === key)).toHaveLength(1);
  });
});

describe('timelinessCheck', () => {
  it('finds a running execution past its threshold once; on-time and failed ones are not late', async () => {
    const p = await newPipeline({ timeliness: [5, 'minute'] });
    const late = await execution(p.id, ago(20 * MIN));
    const onTime = await execution(p.id, ago(30 * MIN), { at: ago(28 * MIN), ok: true });
    const failedLate = await execution(p.id, ago(40 * MIN), { at: ago(20 * MIN), ok: false });

    const first = await runCheck('timeliness', { lookbackMinutes: 60 });
    const mine = first.findings.filter((f) => f.pipeline_id === p.id);
    expect(mine).toEqual([expect.objectContaining({ pipeline_execution_id: late, execution_status: 'running', timely_number: 5, timely_datepart: 'minute' })]);
    expect(mine.map((f) => f.pipeline_execution_id)).not.toContain(onTime);
    expect(mine.map((f) => f.pipeline_execution_id)).not.toContain(failedLate);
    const key = await timelinessKey(late);
    expect(sentKeys().filter((k) => k === key)).toHaveLength(1);

    const second = await runCheck('timeliness', { lookbackMinutes: 60 });
    expect(second.findings.filter((f) => f.pipeline_id === p.id)).toEqual([]);
    expect(sentKeys().filter((k) => k === key)).toHaveLength(1);
  });

  it('a bad input fails the workflow at once, naming the field', async () => {
    const err = await runCheck('timeliness', { lookbackMinutes: 1 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidInput');
    expect(cause?.message).toContain('lookbackMinutes');
  });
});

describe('failureRateCheck', () => {
  it('alerts a pipeline that failed 3 of its 4 executions in the window, with one key per window', async () => {
    const p = await newPipeline();
    const ok = await newPipeline();
    for (const [i, success] of [true, false, false, false].entries()) await execution(p.id, ago((i + 2) * HOUR), { at: ago((i + 2) * HOUR - MIN), ok: success });
    // 1 of 5 is 20%: not more than 20%
    for (let i = 0; i < 5; i++) await execution(ok.id, ago((i + 2) * HOUR), { at: ago((i + 2) * HOUR - MIN), ok: i !== 0 });

    const summary = await runCheck('failures', { minExecutions: 4 });
    const mine = summary.findings.filter((f) => f.pipeline_id === p.id || f.pipeline_id === ok.id);
    expect(mine).toEqual([expect.objectContaining({ pipeline_id: p.id, total_executions: 4, failed_executions: 3, failure_percent: 75, threshold_percent: 20 })]);
    const key = `failure_rate:${p.id}:${mine[0]!.bucket_end as string}`;
    expect(summary.alertKeys).toContain(key);
    expect(sent.flat().find((a) => a.idempotencyKey === key)).toMatchObject({ kind: 'failure_rate', level: 'error' });

    // The default rule judges only pipelines with 5 executions or more in the window.
    const byDefault = await runCheck('failures');
    expect(byDefault.findings.map((f) => f.pipeline_id)).not.toContain(p.id);
  });
});

describe('with the real notifier (the shared worker, its default log channel)', () => {
  it('delivers each alert once, however often the check runs', async () => {
    const stale = await newPipeline({ freshness: [1, 'hour'], lastInsert: ago(2 * HOUR) });
    const failing = await newPipeline();
    for (let i = 0; i < 5; i++) await execution(failing.id, ago((i + 2) * HOUR), { at: ago((i + 2) * HOUR - MIN), ok: i === 0 });
    const onShared = (type: string) =>
      client.workflow.execute<(a: Record<string, unknown>) => Promise<CheckSummary>>(type, { taskQueue: stack().taskQueue, workflowId: uniqueName('check-shared'), args: [{}] });

    const fresh = await onShared(CHECK_WORKFLOW_TYPES.freshness);
    const key = fresh.alertKeys.find((k) => k.startsWith(`freshness:${stale.id}:`))!;
    expect(key).toBeDefined();
    // The failure-rate rule logs nothing itself: its key (pipeline, window) is what keeps it to one alert.
    const first = await onShared(CHECK_WORKFLOW_TYPES.failures);
    const second = await onShared(CHECK_WORKFLOW_TYPES.failures);
    const rateKey = first.alertKeys.find((k) => k.startsWith(`failure_rate:${failing.id}:`))!;
    expect(second.alertKeys).toContain(rateKey);

    const delivered = await pool.query<{ idempotency_key: string; status: string; attempts: number }>(
      'SELECT idempotency_key, status, attempts FROM alert_delivery WHERE idempotency_key = ANY($1::text[]) ORDER BY idempotency_key',
      [[key, rateKey]],
    );
    expect(delivered.rows.map((r) => [r.idempotency_key, r.status])).toEqual([[rateKey, 'delivered'], [key, 'delivered']].sort((a, b) => a[0]!.localeCompare(b[0]!)));
  });
});

describe('a retried check activity', () => {
  it('still returns what an earlier attempt of the same moment logged (it may have died before reporting)', async () => {
    const stale = await newPipeline({ freshness: [1, 'hour'], lastInsert: ago(3 * HOUR) });
    const p = await newPipeline({ timeliness: [5, 'minute'] });
    const late = await execution(p.id, ago(20 * MIN));
    const asOf = new Date().toISOString();
    const attempt = (n: number, check: 'freshness' | 'timeliness', at = asOf): Promise<CheckResult> =>
      new MockActivityEnvironment({ attempt: n }).run(activities.runCheck, { check }, { asOf: at }) as Promise<CheckResult>;

    const firstF = await attempt(1, 'freshness');
    const firstT = await attempt(1, 'timeliness');
    expect(firstF.findings.map((f) => f.pipeline_id)).toContain(stale.id);
    expect(firstT.findings.map((f) => f.pipeline_execution_id)).toContain(late);

    // The retry of the same moment: logged already, yet listed and alerted again, with the same keys.
    const retryF = await attempt(2, 'freshness');
    const retryT = await attempt(2, 'timeliness');
    expect(retryF.alerts.map((a) => a.idempotencyKey)).toEqual(expect.arrayContaining(firstF.alerts.map((a) => a.idempotencyKey)));
    expect(retryT.alerts.map((a) => a.idempotencyKey)).toContain(await timelinessKey(late));
    expect(retryT.findings.find((f) => f.pipeline_execution_id === late)).toMatchObject({ pipeline_id: p.id, execution_status: 'running', due_by: firstT.findings.find((f) => f.pipeline_execution_id === late)!.due_by });

    // A later run (another moment) does not repeat them.
    const later = new Date(Date.parse(asOf) + 1000).toISOString();
    expect((await attempt(1, 'freshness', later)).findings.map((f) => f.pipeline_id)).not.toContain(stale.id);
    expect((await attempt(2, 'timeliness', later)).findings.map((f) => f.pipeline_execution_id)).not.toContain(late);
  });
});

describe('anomalyAlerts', () => {
  it('alerts an anomaly detection recorded, once per result key; an unflagged one is not alerted', async () => {
    const p = await newPipeline();
    await pool.query(`INSERT INTO anomaly_detection_rule (pipeline_id, metric_field, minimum_executions) VALUES ($1, 'total_rows', 5)`, [p.id]);
    const current = ago(2 * MIN);
    for (let day = 1; day <= 6; day++) await execution(p.id, new Date(current.getTime() - day * DAY), { at: new Date(current.getTime() - day * DAY + MIN), ok: true, totalRows: 100 + day });
    const anomalous = await execution(p.id, current, { at: ago(MIN), ok: true, totalRows: 100_000 });

    const summary = await runCheck('anomalies');
    const mine = summary.findings.filter((f) => f.pipeline_id === p.id);
    expect(mine).toEqual([expect.objectContaining({ pipeline_execution_id: anomalous, metric: 'total_rows', value: 100_000 })]);
    const key = `anomaly:${anomalous}:${mine[0]!.rule_id as number}`;
    expect(sent.flat().find((a) => a.idempotencyKey === key)).toMatchObject({ kind: 'anomaly', title: `Anomaly: ${p.name} total_rows above its usual range` });

    await pool.query(`UPDATE pipeline_execution SET anomaly_flags = anomaly_flags - 'total_rows' WHERE id = $1`, [anomalous]);
    const after = await runCheck('anomalies');
    expect(after.findings.map((f) => f.pipeline_id)).not.toContain(p.id);
  });
});

/** `watcher <args>` against the test stack, on this file's task queue; no shell. */
async function watcher(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const s = stack();
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'watcher.js'), ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: s.temporalAddress, TEMPORAL_NAMESPACE: s.namespace, WATCHER_TASK_QUEUE: taskQueue, DATABASE_URL: s.databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

describe('watcher check', () => {
  it('`watcher check freshness --json` exits 1 and prints the stale pipeline', async () => {
    const stale = await newPipeline({ freshness: [1, 'minute'], lastInsert: ago(10 * MIN) });
    const { code, stdout, stderr } = await watcher(['check', 'freshness', '--json']);
    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stdout) as CheckSummary;
    expect(summary.check).toBe('freshness');
    expect(summary.findings).toContainEqual(expect.objectContaining({ pipeline_id: stale.id, pipeline_name: stale.name }));

    // Again, as a table: still stale (exit 1), but alerted before, so not listed as new.
    const again = await watcher(['check', 'freshness']);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stdout).toMatch(/freshness: \d+ evaluated, [1-9]\d* stale/);
    expect(again.stdout).not.toContain(stale.name);
  });

  it('`watcher check` with an option the check does not take fails before starting anything', async () => {
    const { code, stderr } = await watcher(['check', 'freshness', '--lookback-minutes', '30']);
    expect(code).toBe(1);
    expect(stderr).toContain('lookbackMinutes: unknown field');
  });
});

describe('logCleanup', () => {
  it('deletes in batches past the retention and refuses one below 90 days, naming the field', async () => {
    // 100 years: nothing of the shared database is that old, so other files' data stays.
    const summary = await client.workflow.execute<(a: Record<string, unknown>) => Promise<LogCleanupSummary>>(LOG_CLEANUP_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: uniqueName('check-log-cleanup'),
      args: [{ retentionDays: 36_500, batchSize: 100 }],
    });
    expect(summary).toMatchObject({ retentionDays: 36_500, deleted: { pipeline_execution: 0, freshness_pipeline_log: 0 } });
    expect(new Date(summary.cutoff).getTime()).toBeLessThan(ago(36_499 * DAY).getTime());

    const err = await client.workflow
      .execute(LOG_CLEANUP_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('check-log-cleanup'), args: [{ retentionDays: 30 }] })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toContain('retentionDays');
  });
});

describe('check schedules', () => {
  it('installing twice creates the five Schedules once, then updates them', async () => {
    try {
      const first = await installCheckSchedules(client, { taskQueue, retentionDays: 120, paused: true });
      expect(first).toEqual({ created: ['freshness', 'timeliness', 'failure-rate', 'anomalies', 'log-cleanup'], updated: [] });
      const second = await installCheckSchedules(client, { taskQueue, retentionDays: 120, paused: true });
      expect(second).toEqual({ created: [], updated: ['freshness', 'timeliness', 'failure-rate', 'anomalies', 'log-cleanup'] });
      // The command does the same (and keeps the pause: an update never changes a Schedule's state).
      const cli = await watcher(['monitor', 'install', '--retention-days', '120']);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stderr).toContain('created none; updated freshness, timeliness, failure-rate, anomalies, log-cleanup');
      expect(cli.stdout).toContain('watcher-check/log-cleanup');
      const bad = await watcher(['monitor', 'install', '--retention-days', '30']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('retentionDays');

      const views = await listCheckSchedules(client);
      expect(views.map((v) => [v.scheduleId, v.cron, v.workflowType, v.paused])).toEqual([
        ['watcher-check/freshness', '0 * * * *', 'freshnessCheck', true],
        ['watcher-check/timeliness', '*/15 * * * *', 'timelinessCheck', true],
        ['watcher-check/failure-rate', '*/15 * * * *', 'failureRateCheck', true],
        ['watcher-check/anomalies', '*/15 * * * *', 'anomalyAlerts', true],
        ['watcher-check/log-cleanup', '30 3 * * *', 'logCleanup', true],
      ]);
      expect(views.find((v) => v.name === 'log-cleanup')?.args).toEqual({ retentionDays: 120, batchSize: 10_000 });
      for (const v of views) expect(v.nextRun).toBeInstanceOf(Date);
      const d = await client.schedule.getHandle('watcher-check/timeliness').describe();
      expect(d.policies.overlap).toBe('SKIP');
      expect(d.action.type === 'startWorkflow' && d.action.taskQueue).toBe(taskQueue);
    } finally {
      await deleteCheckSchedules(client);
    }
    expect(await listCheckSchedules(client)).toEqual([]);
  });
});
