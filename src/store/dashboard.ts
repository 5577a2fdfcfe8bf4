// Reads behind the dashboard's health board and pipeline page: each pipeline's check inputs
// (thresholds, mutes, last DML, latest execution), a pipeline's executions over time, its
// anomaly rules, and the alert ledger's recent deliveries. The decisions are the checks' own
// (monitoring/pipeline-health.ts); only the reading is here.
import type { Datepart } from '../monitoring/thresholds.js';
import type { AlertSubject } from '../monitoring/pipeline-health.js';
import type { PipelineCheckInput } from '../monitoring/pipeline-health.js';
import type { Pool } from './db.js';

export interface PipelineStateRow {
  id: number;
  name: string;
  pipeline_type: string;
  active: boolean;
  owner: string | null;
  pipeline_metadata: Record<string, unknown> | null;
  watermark: string | null;
  next_watermark: string | null;
  created_at: Date;
  updated_at: Date | null;
  last_dml: Date | null;
  own_freshness_number: number | null;
  own_freshness_datepart: Datepart | null;
  type_freshness_number: number | null;
  type_freshness_datepart: Datepart | null;
  pipeline_mute_freshness: boolean;
  type_mute_freshness: boolean;
  own_timeliness_number: number | null;
  own_timeliness_datepart: Datepart | null;
  type_timeliness_number: number | null;
  type_timeliness_datepart: Datepart | null;
  pipeline_mute_timeliness: boolean;
  type_mute_timeliness: boolean;
  latest_id: number | null;
  latest_status: string | null;
  latest_start: Date | null;
  latest_end: Date | null;
  latest_success: boolean | null;
  total: number;
}

/** The pipelines (one by exact name, or all, by name) with what their checks read. */
export async function pipelineStates(pool: Pool, filter: { name?: string; limit: number }): Promise<PipelineStateRow[]> {
  const r = await pool.query<PipelineStateRow>(
    `SELECT p.id, p.name, t.name AS pipeline_type, p.active, p.pipeline_metadata->>'owner' AS owner, p.pipeline_metadata,
            p.watermark, p.next_watermark, p.created_at, p.updated_at,
            greatest(p.last_target_insert, p.last_target_update, p.last_target_soft_delete) AS last_dml,
            p.freshness_number AS own_freshness_number, p.freshness_datepart AS own_freshness_datepart,
            t.freshness_number AS type_freshness_number, t.freshness_datepart AS type_freshness_datepart,
            p.mute_freshness_check AS pipeline_mute_freshness, t.mute_freshness_check AS type_mute_freshness,
            p.timeliness_number AS own_timeliness_number, p.timeliness_datepart AS own_timeliness_datepart,
            t.timeliness_number AS type_timeliness_number, t.timeliness_datepart AS type_timeliness_datepart,
            p.mute_timeliness_check AS pipeline_mute_timeliness, t.mute_timeliness_check AS type_mute_timeliness,
            l.id AS latest_id, l.status::text AS latest_status, l.start_date AS latest_start, l.end_date AS latest_end,
            l.completed_successfully AS latest_success,
            count(*) OVER ()::int AS total
     FROM pipeline p
     JOIN pipeline_type t ON t.id = p.pipeline_type_id
     LEFT JOIN LATERAL (
       SELECT e.id, e.status, e.start_date, e.end_date, e.completed_successfully FROM pipeline_execution e
       WHERE e.pipeline_id = p.id ORDER BY e.start_date DESC, e.id DESC LIMIT 1
     ) l ON true
     WHERE $1::text IS NULL OR p.name = $1
     ORDER BY p.name
     LIMIT $2`,
    [filter.name ?? null, filter.limit],
  );
  return r.rows;
}

/** A state row as the checks' decisions take it. */
export function checkInputOf(row: PipelineStateRow): PipelineCheckInput {
  return {
    lastDml: row.last_dml,
    freshness: {
      own: { number: row.own_freshness_number, datepart: row.own_freshness_datepart },
      type: { number: row.type_freshness_number, datepart: row.type_freshness_datepart },
      muted: row.pipeline_mute_freshness || row.type_mute_freshness,
    },
    timeliness: {
      own: { number: row.own_timeliness_number, datepart: row.own_timeliness_datepart },
      type: { number: row.type_timeliness_number, datepart: row.type_timeliness_datepart },
      muted: row.pipeline_mute_timeliness || row.type_mute_timeliness,
    },
    latest:
      row.latest_start === null ? null : { startDate: row.latest_start, endDate: row.latest_end, completedSuccessfully: row.latest_success },
  };
}

export interface ExecutionPoint {
  id: number;
  status: string;
  start_date: Date;
  end_date: Date | null;
  duration_seconds: number | null;
  total_rows: number | null;
  throughput: number | null;
  anomaly_flags: Record<string, unknown> | null;
}

/** A pipeline's latest `limit` executions, oldest first (a chart's order), and how many it has. */
export async function executionsOverTime(pool: Pool, pipelineId: number, limit: number): Promise<{ executions: ExecutionPoint[]; total: number }> {
  const [rows, total] = await Promise.all([
    pool.query<ExecutionPoint>(
      `SELECT * FROM (
         SELECT e.id, e.status::text AS status, e.start_date, e.end_date, e.duration_seconds, e.total_rows, e.throughput, e.anomaly_flags
         FROM pipeline_execution e WHERE e.pipeline_id = $1 ORDER BY e.start_date DESC, e.id DESC LIMIT $2
       ) x ORDER BY x.start_date, x.id`,
      [pipelineId, limit],
    ),
    pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_execution WHERE pipeline_id = $1', [pipelineId]),
  ]);
  return { executions: rows.rows, total: total.rows[0]!.n };
}

export interface AnomalyRuleRow {
  id: number;
  metric: string;
  z_threshold: number;
  lookback_days: number;
  minimum_executions: number;
  active: boolean;
}

export async function anomalyRulesOf(pool: Pool, pipelineId: number): Promise<AnomalyRuleRow[]> {
  const r = await pool.query<AnomalyRuleRow>(
    `SELECT id, metric_field::text AS metric, z_threshold, lookback_days, minimum_executions, active
     FROM anomaly_detection_rule WHERE pipeline_id = $1 ORDER BY metric_field`,
    [pipelineId],
  );
  return r.rows;
}

/** Executions of a pipeline the timeliness check or a timer logged late since `since`. */
export async function lateExecutionCount(pool: Pool, pipelineId: number, since: Date): Promise<number> {
  const r = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM timeliness_pipeline_execution_log WHERE pipeline_id = $1 AND created_at >= $2',
    [pipelineId, since],
  );
  return r.rows[0]!.n;
}

export interface RecentAlertRow {
  idempotency_key: string;
  kind: string;
  /** delivered on every channel, failed (a 4xx) on one, or still being sent. */
  status: 'delivered' | 'failed' | 'pending';
  channels: string[];
  attempts: number;
  first_attempt_at: Date;
  last_attempt_at: Date;
  last_error: string | null;
}

/** The alert ledger's latest events (one row per idempotency key, across channels). */
export async function recentAlerts(pool: Pool, since: Date, limit: number): Promise<RecentAlertRow[]> {
  const r = await pool.query<RecentAlertRow>(
    `SELECT idempotency_key, min(kind) AS kind,
            CASE WHEN bool_and(status = 'delivered') THEN 'delivered' WHEN bool_or(status = 'failed') THEN 'failed' ELSE 'pending' END AS status,
            array_agg(channel ORDER BY channel) AS channels, sum(attempts)::int AS attempts,
            min(first_attempt_at) AS first_attempt_at, max(last_attempt_at) AS last_attempt_at,
            max(last_error) AS last_error
     FROM alert_delivery
     WHERE last_attempt_at >= $1
     GROUP BY idempotency_key
     ORDER BY max(last_attempt_at) DESC, idempotency_key
     LIMIT $2`,
    [since, limit],
  );
  return r.rows;
}

/** The pipeline names alert subjects point at (by pipeline id, execution id or execution key). */
export async function subjectPipelines(pool: Pool, subjects: readonly AlertSubject[]): Promise<{ byPipelineId: Map<number, string>; byExecutionId: Map<number, string>; byExecutionKey: Map<string, string> }> {
  const pipelineIds = subjects.flatMap((s) => ('pipelineId' in s ? [s.pipelineId] : []));
  const executionIds = subjects.flatMap((s) => ('executionId' in s ? [s.executionId] : []));
  const executionKeys = subjects.flatMap((s) => ('executionKey' in s ? [s.executionKey] : []));
  const r = await pool.query<{ kind: 'p' | 'e' | 'k'; ref: string; name: string }>(
    `SELECT 'p' AS kind, p.id::text AS ref, p.name FROM pipeline p WHERE p.id = ANY($1::int[])
     UNION ALL
     SELECT 'e', e.id::text, p.name FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id WHERE e.id = ANY($2::bigint[])
     UNION ALL
     SELECT 'k', e.execution_key, p.name FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id WHERE e.execution_key = ANY($3::text[])`,
    [pipelineIds.filter((id) => id <= 2_147_483_647), executionIds, executionKeys],
  );
  const byPipelineId = new Map<number, string>();
  const byExecutionId = new Map<number, string>();
  const byExecutionKey = new Map<string, string>();
  for (const row of r.rows) {
    if (row.kind === 'p') byPipelineId.set(Number(row.ref), row.name);
    else if (row.kind === 'e') byExecutionId.set(Number(row.ref), row.name);
    else byExecutionKey.set(row.ref, row.name);
  }
  return { byPipelineId, byExecutionId, byExecutionKey };
}
