// What each check's finding says as an Alert (the contract in ./alerts.ts). Pure: the keys are
// the events' identities, so they must not depend on when or how often a check runs, only on
// what it found (the notifier sends each key once).
import { describePeriod, type SourceFreshnessResult } from '../contracts/source-freshness.js';
import type { Alert, AlertLevel } from './alerts.js';
import type { FailingPipeline } from './failure-rate.js';
import type { FreshnessAlert } from './freshness.js';
import type { RecentAnomaly } from './recent-anomalies.js';
import type { LateFinding } from './timeliness.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function freshnessAlert(f: FreshnessAlert, occurredAt: string): Alert {
  return {
    kind: 'freshness_stale',
    level: 'warning',
    title: `Freshness: ${f.pipeline_name} is stale`,
    message: `${f.pipeline_name} last wrote at ${f.last_dml_timestamp}; with a threshold of ${plural(f.freshness_number, f.freshness_datepart)} it was due by ${f.due_by}.`,
    details: {
      pipeline_id: f.pipeline_id,
      pipeline: f.pipeline_name,
      last_dml: f.last_dml_timestamp,
      due_by: f.due_by,
      threshold: plural(f.freshness_number, f.freshness_datepart),
      threshold_from: f.used_child_config ? 'pipeline' : 'pipeline type',
    },
    idempotencyKey: `freshness:${f.pipeline_id}:${f.last_dml_timestamp}`,
    occurredAt,
  };
}

/**
 * A stale dbt source a build's `dbt source freshness` found: once per (source, max_loaded_at),
 * however many builds see it. `skipped`: the nodes it kept out of that build (skip-stale).
 */
export function sourceFreshnessAlert(r: SourceFreshnessResult, build: { buildId: string; skipped: readonly string[] }, occurredAt: string): Alert {
  const threshold = r.errorAfter ? describePeriod(r.errorAfter) : null;
  const left = build.skipped.length ? ` Build ${build.buildId} left out ${plural(build.skipped.length, 'node')} that read only stale sources.` : '';
  return {
    kind: 'freshness_stale',
    level: 'warning',
    title: `Source freshness: ${r.uniqueId} is stale`,
    message: `${r.uniqueId} was last loaded at ${r.maxLoadedAt ?? 'no time (no rows)'}${threshold ? `; dbt's error_after is ${threshold}` : ''}.${left}`,
    details: {
      source: r.uniqueId,
      max_loaded_at: r.maxLoadedAt ?? null,
      snapshotted_at: r.snapshottedAt ?? null,
      age_seconds: r.ageSeconds ?? null,
      error_after: threshold,
      build_id: build.buildId,
      skipped_nodes: build.skipped.length ? build.skipped.join(', ') : null,
    },
    idempotencyKey: `source_freshness:${r.uniqueId}:${r.maxLoadedAt ?? 'none'}`,
    occurredAt,
  };
}

/**
 * A late execution, found by the check or by its workflow's timer (no ids yet: a running node is
 * recorded when it ends). Keyed by the execution's natural key, so the timer's alert and the
 * check's later finding of the same execution are one event, delivered once.
 */
export function timelinessAlert(t: LateFinding, occurredAt: string): Alert {
  const running = t.execution_status === 'running';
  const which = t.pipeline_execution_id !== undefined ? `Execution ${t.pipeline_execution_id} of ${t.pipeline_name}` : t.pipeline_name;
  return {
    kind: 'timeliness_late',
    level: 'warning',
    title: `Timeliness: ${t.pipeline_name} ${running ? 'is running late' : 'finished late'}`,
    message: `${which} started at ${t.start_date} and ${running ? 'is still running' : 'ended'} after ${Math.round(t.duration_seconds)} s; it was due within ${plural(t.timely_number, t.timely_datepart)} (by ${t.due_by}).`,
    details: {
      pipeline_id: t.pipeline_id ?? null,
      pipeline: t.pipeline_name,
      execution_id: t.pipeline_execution_id ?? null,
      execution_key: t.execution_key,
      status: t.execution_status,
      start_date: t.start_date,
      due_by: t.due_by,
      duration_seconds: t.duration_seconds,
      threshold: plural(t.timely_number, t.timely_datepart),
      threshold_from: t.used_child_config ? 'pipeline' : 'pipeline type',
    },
    idempotencyKey: `timeliness:${t.execution_key}`,
    occurredAt,
  };
}

export function failureRateAlert(f: FailingPipeline, occurredAt: string): Alert {
  // Half or more failing is no longer a flaky pipeline: a broken one.
  const level: AlertLevel = f.failure_percent >= 50 ? 'error' : 'warning';
  return {
    kind: 'failure_rate',
    level,
    title: `Failure rate: ${f.pipeline_name} failed ${f.failure_percent}% of its executions`,
    message: `${f.failed_executions} of ${f.total_executions} executions of ${f.pipeline_name} that started since ${f.window_start} failed (more than ${f.threshold_percent}%).`,
    details: {
      pipeline_id: f.pipeline_id,
      pipeline: f.pipeline_name,
      failed_executions: f.failed_executions,
      total_executions: f.total_executions,
      failure_percent: f.failure_percent,
      threshold_percent: f.threshold_percent,
      window_start: f.window_start,
      window_end: f.window_end,
      last_failure: f.last_failure,
    },
    idempotencyKey: `failure_rate:${f.pipeline_id}:${f.bucket_end}`,
    occurredAt,
  };
}

export function anomalyAlert(a: RecentAnomaly, occurredAt: string): Alert {
  return {
    kind: 'anomaly',
    level: 'warning',
    title: `Anomaly: ${a.pipeline_name} ${a.metric} ${a.value > a.band_max ? 'above' : 'below'} its usual range`,
    message: `Execution ${a.pipeline_execution_id} of ${a.pipeline_name} had ${a.metric} = ${a.value}, outside [${round(a.band_min)}, ${round(a.band_max)}] (mean ${round(a.mean)}, z = ${round(a.z_score)}, threshold ${a.z_threshold}).`,
    details: {
      pipeline_id: a.pipeline_id,
      pipeline: a.pipeline_name,
      execution_id: a.pipeline_execution_id,
      rule_id: a.rule_id,
      metric: a.metric,
      value: a.value,
      mean: round(a.mean),
      band_min: round(a.band_min),
      band_max: round(a.band_max),
      z_score: round(a.z_score),
      detected_at: a.detected_at,
    },
    idempotencyKey: `anomaly:${a.pipeline_execution_id}:${a.rule_id}`,
    occurredAt,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
