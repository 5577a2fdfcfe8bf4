// Failure rate: "more than N% of a pipeline's executions failed in the last window" (the rule
// behind etl-watcher's daily report's error percentage, as an alert). Counts the executions
// that started inside the window and have ended (a running one has no outcome yet); a pipeline
// with fewer than `minExecutions` of them is not judged, so one failure out of two is no alarm.
// Nothing is logged: the alert's key names the pipeline and the window bucket, so the notifier
// sends one alert per pipeline per bucket however often the check runs.
import type { Pool } from '../store/db.js';

export interface FailureRateRule {
  /** Failing when the failed share is strictly above this percentage (0 to 100). */
  thresholdPercent: number;
  windowMinutes: number;
  minExecutions: number;
}

export const DEFAULT_FAILURE_RATE_RULE: FailureRateRule = { thresholdPercent: 20, windowMinutes: 24 * 60, minExecutions: 5 };

export interface ExecutionCounts {
  total: number;
  failed: number;
}

export type FailureRateDecision =
  | { kind: 'skip'; reason: 'too_few_executions' }
  | { kind: 'ok' | 'failing'; percent: number };

export function decideFailureRate(counts: ExecutionCounts, rule: FailureRateRule): FailureRateDecision {
  if (counts.total === 0 || counts.total < rule.minExecutions) return { kind: 'skip', reason: 'too_few_executions' };
  const percent = (100 * counts.failed) / counts.total;
  return { kind: percent > rule.thresholdPercent ? 'failing' : 'ok', percent };
}

/**
 * The end of the fixed window bucket `now` falls in (buckets of `windowMinutes` from the Unix
 * epoch, so 24 h buckets are UTC days). It names a failure-rate alert: a pipeline that keeps
 * failing is alerted again once per window, not on every run of the check.
 */
export function windowBucketEnd(now: Date, windowMinutes: number): Date {
  const ms = windowMinutes * 60_000;
  return new Date(Math.floor(now.getTime() / ms) * ms + ms);
}

export interface FailingPipeline {
  pipeline_id: number;
  pipeline_name: string;
  total_executions: number;
  failed_executions: number;
  failure_percent: number;
  threshold_percent: number;
  window_start: string;
  window_end: string;
  /** The alert's bucket (see windowBucketEnd). */
  bucket_end: string;
  last_failure: string | null;
}

export interface FailureRateReport {
  evaluated: number;
  skipped: number;
  failing: FailingPipeline[];
}

interface CountRow {
  pipeline_id: number;
  pipeline_name: string;
  total: number;
  failed: number;
  last_failure: Date | null;
}

/** Every active pipeline's ended executions of the window, judged by the rule. */
export async function runFailureRateCheck(pool: Pool, rule: FailureRateRule = DEFAULT_FAILURE_RATE_RULE, now = new Date()): Promise<FailureRateReport> {
  const windowStart = new Date(now.getTime() - rule.windowMinutes * 60_000);
  const rows = await pool.query<CountRow>(
    `SELECT p.id AS pipeline_id, p.name AS pipeline_name, count(*)::int AS total,
            count(*) FILTER (WHERE NOT e.completed_successfully)::int AS failed,
            max(e.end_date) FILTER (WHERE NOT e.completed_successfully) AS last_failure
     FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id
     WHERE e.start_date >= $1 AND e.start_date <= $2 AND e.end_date IS NOT NULL AND p.active
     GROUP BY p.id, p.name`,
    [windowStart, now],
  );
  let skipped = 0;
  const failing: FailingPipeline[] = [];
  const bucketEnd = windowBucketEnd(now, rule.windowMinutes).toISOString();
  for (const row of rows.rows) {
    const decision = decideFailureRate(row, rule);
    if (decision.kind === 'skip') skipped++;
    if (decision.kind !== 'failing') continue;
    failing.push({
      pipeline_id: row.pipeline_id,
      pipeline_name: row.pipeline_name,
      total_executions: row.total,
      failed_executions: row.failed,
      failure_percent: Math.round(decision.percent * 100) / 100,
      threshold_percent: rule.thresholdPercent,
      window_start: windowStart.toISOString(),
      window_end: now.toISOString(),
      bucket_end: bucketEnd,
      last_failure: row.last_failure?.toISOString() ?? null,
    });
  }
  failing.sort((a, b) => b.failure_percent - a.failure_percent || a.pipeline_name.localeCompare(b.pipeline_name));
  return { evaluated: rows.rows.length - skipped, skipped, failing };
}
