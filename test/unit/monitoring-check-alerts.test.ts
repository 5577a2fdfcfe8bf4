import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, ALERT_LEVELS } from '../../src/monitoring/alerts.js';
import { anomalyAlert, failureRateAlert, freshnessAlert, timelinessAlert } from '../../src/monitoring/check-alerts.js';
import { checkScheduleDefinitions } from '../../src/monitoring/check-schedules.js';

const at = '2026-12-02T12:00:00.000Z';

const stale = {
  pipeline_id: 7,
  pipeline_name: 'model.shop.orders',
  last_dml_timestamp: '2026-12-02T09:00:00.000Z',
  due_by: '2026-12-02T10:00:00.000Z',
  freshness_number: 1,
  freshness_datepart: 'hour' as const,
  used_child_config: true,
};
const EXECUTION_KEY = 'build:watcher/b1:run-1/node:model.shop.orders';
const late = {
  pipeline_execution_id: 42,
  pipeline_id: 7,
  execution_key: EXECUTION_KEY,
  pipeline_name: 'model.shop.orders',
  execution_status: 'running' as const,
  start_date: '2026-12-02T11:00:00.000Z',
  due_by: '2026-12-02T11:30:00.000Z',
  duration_seconds: 3600,
  seconds_threshold: 1800,
  timely_number: 30,
  timely_datepart: 'minute' as const,
  used_child_config: false,
};
const failing = {
  pipeline_id: 9,
  pipeline_name: 'build.shop',
  total_executions: 4,
  failed_executions: 3,
  failure_percent: 75,
  threshold_percent: 20,
  window_start: '2026-12-01T12:00:00.000Z',
  window_end: at,
  bucket_end: '2026-12-03T00:00:00.000Z',
  last_failure: '2026-12-02T11:00:00.000Z',
};
const anomaly = {
  pipeline_execution_id: 42,
  rule_id: 3,
  pipeline_id: 7,
  pipeline_name: 'model.shop.orders',
  metric: 'total_rows' as const,
  value: 5000,
  z_score: 12.5,
  mean: 1000,
  band_min: 40,
  band_max: 1960,
  z_threshold: 3,
  detected_at: at,
};

describe('check findings as alerts', () => {
  it('keys name the event, not the run: freshness per DML value, timeliness per execution, failure rate per window, anomaly per result', () => {
    expect(freshnessAlert(stale, at).idempotencyKey).toBe('freshness:7:2026-12-02T09:00:00.000Z');
    expect(timelinessAlert(late, at).idempotencyKey).toBe(`timeliness:${EXECUTION_KEY}`);
    expect(failureRateAlert(failing, at).idempotencyKey).toBe('failure_rate:9:2026-12-03T00:00:00.000Z');
    expect(anomalyAlert(anomaly, at).idempotencyKey).toBe('anomaly:42:3');
    // a later run of the check: same event, same key
    expect(freshnessAlert(stale, '2026-12-02T13:00:00.000Z').idempotencyKey).toBe(freshnessAlert(stale, at).idempotencyKey);
  });

  it('kinds, levels and titles', () => {
    const alerts = [freshnessAlert(stale, at), timelinessAlert(late, at), failureRateAlert(failing, at), anomalyAlert(anomaly, at)];
    expect(alerts.map((a) => a.kind)).toEqual(['freshness_stale', 'timeliness_late', 'failure_rate', 'anomaly']);
    for (const a of alerts) {
      expect(ALERT_KINDS).toContain(a.kind);
      expect(ALERT_LEVELS).toContain(a.level);
      expect(a.occurredAt).toBe(at);
      expect(a.title).not.toContain('\n');
    }
    expect(alerts.map((a) => a.title)).toEqual([
      'Freshness: model.shop.orders is stale',
      'Timeliness: model.shop.orders is running late',
      'Failure rate: build.shop failed 75% of its executions',
      'Anomaly: model.shop.orders total_rows above its usual range',
    ]);
    expect(alerts.map((a) => a.level)).toEqual(['warning', 'warning', 'error', 'warning']);
    expect(failureRateAlert({ ...failing, failure_percent: 25 }, at).level).toBe('warning');
    expect(timelinessAlert({ ...late, execution_status: 'completed' }, at).title).toBe('Timeliness: model.shop.orders finished late');
    expect(anomalyAlert({ ...anomaly, value: 1 }, at).title).toContain('below');
  });

  it('details are flat facts a channel can list', () => {
    const details = freshnessAlert(stale, at).details;
    expect(details).toMatchObject({ pipeline_id: 7, pipeline: 'model.shop.orders', threshold: '1 hour', threshold_from: 'pipeline' });
    expect(timelinessAlert(late, at).details).toMatchObject({ execution_id: 42, threshold: '30 minutes', threshold_from: 'pipeline type' });
    expect(timelinessAlert(late, at).details).toMatchObject({ execution_key: EXECUTION_KEY, pipeline_id: 7 });
    for (const value of Object.values(failureRateAlert(failing, at).details)) expect(['string', 'number', 'boolean'].includes(typeof value) || value === null).toBe(true);
  });
});

describe('a timer\'s timeliness alert', () => {
  it('is the same event as the check\'s finding of that execution: one key, whoever finds it first', () => {
    const { pipeline_execution_id: _id, pipeline_id: _pid, ...fromTimer } = late;
    const timer = timelinessAlert(fromTimer, at);
    expect(timer.idempotencyKey).toBe(timelinessAlert(late, '2026-12-02T12:15:00.000Z').idempotencyKey);
    expect(timer.details).toMatchObject({ execution_id: null, pipeline_id: null, execution_key: EXECUTION_KEY, status: 'running' });
    expect(timer.message).toBe(
      'model.shop.orders started at 2026-12-02T11:00:00.000Z and is still running after 3600 s; it was due within 30 minutes (by 2026-12-02T11:30:00.000Z).',
    );
    expect(timelinessAlert(late, at).message).toMatch(/^Execution 42 of model\.shop\.orders started/);
  });
});

describe('check schedules', () => {
  it('five schedules with their specs; log cleanup keeps at least 90 days', () => {
    const defs = checkScheduleDefinitions({ taskQueue: 'q' });
    expect(defs.map((d) => [d.name, d.cron, d.workflowType])).toEqual([
      ['freshness', '0 * * * *', 'freshnessCheck'],
      ['timeliness', '*/15 * * * *', 'timelinessCheck'],
      ['failure-rate', '*/15 * * * *', 'failureRateCheck'],
      ['anomalies', '*/15 * * * *', 'anomalyAlerts'],
      ['log-cleanup', '30 3 * * *', 'logCleanup'],
    ]);
    expect(defs.find((d) => d.name === 'log-cleanup')?.args).toEqual({ retentionDays: 90, batchSize: 10_000 });
    expect(defs.find((d) => d.name === 'timeliness')?.args).toEqual({ lookbackMinutes: 60 });
    expect(checkScheduleDefinitions({ taskQueue: 'q', retentionDays: 365 }).find((d) => d.name === 'log-cleanup')?.args).toMatchObject({ retentionDays: 365 });
    expect(() => checkScheduleDefinitions({ taskQueue: 'q', retentionDays: 30 })).toThrow(/retentionDays/);
  });
});
