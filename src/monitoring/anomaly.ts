// Anomaly detection after a successful end: per active rule of the pipeline, compare the
// execution's metric with a baseline of the pipeline's successful executions that started in
// the same UTC hour and ended within the rule's lookback (the current one and those already
// flagged for the metric left out). Anomaly when the value is outside
// [max(0, mean - z*sd), mean + z*sd] (sample standard deviation).
import type { PoolClient } from '../store/db.js';

export const ANOMALY_METRICS = ['duration_seconds', 'inserts', 'updates', 'soft_deletes', 'total_rows', 'throughput'] as const;
export type AnomalyMetric = (typeof ANOMALY_METRICS)[number];

export interface BaselineStats {
  count: number;
  mean: number;
  /** Sample standard deviation (n - 1); 0 with fewer than two values. */
  sd: number;
}

export function baselineStats(values: readonly number[]): BaselineStats {
  const count = values.length;
  if (count === 0) return { count, mean: 0, sd: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / count;
  if (count < 2) return { count, mean, sd: 0 };
  const squares = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { count, mean, sd: Math.sqrt(squares / (count - 1)) };
}

export interface Band {
  min: number;
  max: number;
}

/** The normal band: mean ± z·sd, its lower end clamped at 0 (no metric is negative). */
export function anomalyBand(stats: BaselineStats, z: number): Band {
  return { min: Math.max(0, stats.mean - z * stats.sd), max: stats.mean + z * stats.sd };
}

export interface RuleSettings {
  zThreshold: number;
  minimumExecutions: number;
}

export type AnomalyDecision =
  | { kind: 'skip'; reason: 'no_value' | 'too_few_executions' | 'no_variance'; stats?: BaselineStats }
  | { kind: 'normal' | 'anomaly'; value: number; zScore: number; stats: BaselineStats; band: Band };

export function decideAnomaly(value: number | null, baseline: readonly number[], rule: RuleSettings): AnomalyDecision {
  if (value === null) return { kind: 'skip', reason: 'no_value' };
  const stats = baselineStats(baseline);
  if (stats.count < rule.minimumExecutions) return { kind: 'skip', reason: 'too_few_executions', stats };
  if (stats.sd === 0) return { kind: 'skip', reason: 'no_variance', stats };
  const band = anomalyBand(stats, rule.zThreshold);
  const zScore = (value - stats.mean) / stats.sd;
  return { kind: value < band.min || value > band.max ? 'anomaly' : 'normal', value, zScore, stats, band };
}

interface ExecutionMetrics {
  id: number;
  end_date: Date;
  anomaly_flags: Record<string, unknown> | null;
  duration_seconds: number | null;
  inserts: number | null;
  updates: number | null;
  soft_deletes: number | null;
  total_rows: number | null;
  throughput: number | null;
}

interface RuleRow {
  id: number;
  metric_field: AnomalyMetric;
  z_threshold: number;
  lookback_days: number;
  minimum_executions: number;
}

export interface DetectedAnomaly {
  rule_id: number;
  metric: AnomalyMetric;
  value: number;
  z_score: number;
  band: Band;
}

const DAY_MS = 86_400_000;

/**
 * Check a just-ended successful execution against its pipeline's active rules, in the
 * caller's transaction. Writes a result row per anomaly (idempotent on (execution, rule)) and
 * sets anomaly_flags {metric: true}. Returns the anomalies found.
 */
export async function detectAnomalies(client: PoolClient, executionId: number, now = new Date()): Promise<DetectedAnomaly[]> {
  const rules = await client.query<RuleRow>(
    `SELECT r.id, r.metric_field, r.z_threshold, r.lookback_days, r.minimum_executions
     FROM anomaly_detection_rule r JOIN pipeline_execution e ON e.pipeline_id = r.pipeline_id
     WHERE e.id = $1 AND r.active`,
    [executionId],
  );
  if (rules.rows.length === 0) return [];

  const longest = Math.max(...rules.rows.map((r) => r.lookback_days));
  // One read for every rule: the same-hour successful executions of the longest lookback.
  const history = await client.query<ExecutionMetrics & { current: boolean }>(
    `SELECT b.id, b.end_date, b.anomaly_flags, b.duration_seconds, b.inserts, b.updates, b.soft_deletes, b.total_rows, b.throughput, b.id = e.id AS current
     FROM pipeline_execution e
     JOIN pipeline_execution b ON b.pipeline_id = e.pipeline_id AND b.hour_recorded = e.hour_recorded
     WHERE e.id = $1 AND b.completed_successfully AND b.end_date IS NOT NULL
       AND (b.id = e.id OR b.end_date >= $2::timestamptz - make_interval(days => $3))`,
    [executionId, now, longest],
  );
  const current = history.rows.find((r) => r.current);
  if (!current) return [];
  const others = history.rows.filter((r) => !r.current);

  const found: DetectedAnomaly[] = [];
  for (const rule of rules.rows) {
    const since = now.getTime() - rule.lookback_days * DAY_MS;
    const baseline = others
      .filter((r) => r.end_date.getTime() >= since && r.anomaly_flags?.[rule.metric_field] !== true && r[rule.metric_field] !== null)
      .map((r) => Number(r[rule.metric_field]));
    const decision = decideAnomaly(current[rule.metric_field], baseline, { zThreshold: rule.z_threshold, minimumExecutions: rule.minimum_executions });
    if (decision.kind !== 'anomaly') continue;
    await client.query(
      `INSERT INTO anomaly_detection_result (pipeline_execution_id, rule_id, violation_value, z_score, historical_mean, std_deviation_value,
                                             z_threshold, threshold_min_value, threshold_max_value, context)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (pipeline_execution_id, rule_id) DO NOTHING`,
      [
        executionId, rule.id, decision.value, decision.zScore, decision.stats.mean, decision.stats.sd, rule.z_threshold, decision.band.min, decision.band.max,
        JSON.stringify({
          metric: rule.metric_field,
          execution_count: decision.stats.count,
          lookback_days: rule.lookback_days,
          minimum_executions: rule.minimum_executions,
          baseline_since: new Date(since).toISOString(),
        }),
      ],
    );
    found.push({ rule_id: rule.id, metric: rule.metric_field, value: decision.value, z_score: decision.zScore, band: decision.band });
  }
  if (found.length) {
    await client.query(`UPDATE pipeline_execution SET anomaly_flags = coalesce(anomaly_flags, '{}'::jsonb) || $2::jsonb WHERE id = $1`, [
      executionId,
      JSON.stringify(Object.fromEntries(found.map((f) => [f.metric, true]))),
    ]);
  }
  return found;
}
