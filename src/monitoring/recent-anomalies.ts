// The anomalies detection recorded lately (detectAnomalies writes them when an execution ends),
// for the anomaly alert check. Nothing marks a result as alerted: the check reads a lookback
// wider than its schedule's period (so a late or skipped run misses none) and the alert's key
// `anomaly:<execution_id>:<rule_id>` makes the notifier send each result once.
import type { Pool } from '../store/db.js';
import { DEFAULT_ANOMALY_LOOKBACK_MINUTES } from '../contracts/checks.js';
import type { AnomalyMetric } from './anomaly.js';

export interface RecentAnomaly {
  pipeline_execution_id: number;
  rule_id: number;
  pipeline_id: number;
  pipeline_name: string;
  metric: AnomalyMetric;
  value: number;
  z_score: number;
  mean: number;
  band_min: number;
  band_max: number;
  z_threshold: number;
  detected_at: string;
}

interface Row extends Omit<RecentAnomaly, 'detected_at'> {
  detected_at: Date;
}

// Every anomaly result whose flag is still set (an unflagged one is not alerted), with what its alert says.
const FLAGGED_RESULTS = `
  SELECT r.pipeline_execution_id, r.rule_id, p.id AS pipeline_id, p.name AS pipeline_name, ru.metric_field::text AS metric,
         r.violation_value AS value, r.z_score, r.historical_mean AS mean, r.threshold_min_value AS band_min,
         r.threshold_max_value AS band_max, r.z_threshold, r.detected_at
  FROM anomaly_detection_result r
  JOIN anomaly_detection_rule ru ON ru.id = r.rule_id
  JOIN pipeline_execution e ON e.id = r.pipeline_execution_id
  JOIN pipeline p ON p.id = e.pipeline_id
  WHERE (e.anomaly_flags ->> ru.metric_field::text) = 'true'`;

async function flaggedResults(pool: Pool, where: string, params: unknown[]): Promise<RecentAnomaly[]> {
  const rows = await pool.query<Row>(`${FLAGGED_RESULTS} AND ${where} ORDER BY r.detected_at, r.pipeline_execution_id, r.rule_id`, params);
  return rows.rows.map((r) => ({ ...r, detected_at: r.detected_at.toISOString() }));
}

/** Results detected in the last `lookbackMinutes` whose flag is still set (an unflagged one is not alerted). */
export function recentAnomalies(pool: Pool, lookbackMinutes = DEFAULT_ANOMALY_LOOKBACK_MINUTES, now = new Date()): Promise<RecentAnomaly[]> {
  return flaggedResults(pool, 'r.detected_at >= $1::timestamptz - make_interval(mins => $2) AND r.detected_at <= $1', [now, lookbackMinutes]);
}

/** The flagged results of these executions (a build's, see build-anomalies.ts). */
export function anomaliesOfExecutions(pool: Pool, executionIds: readonly number[]): Promise<RecentAnomaly[]> {
  if (executionIds.length === 0) return Promise.resolve([]);
  return flaggedResults(pool, 'r.pipeline_execution_id = ANY($1::bigint[])', [executionIds]);
}
