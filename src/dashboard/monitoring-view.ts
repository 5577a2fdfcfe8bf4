// What the pipeline page and the health board show of the API's answers: a metric's points over
// time with the anomalous ones apart, states as words and colours, thresholds as text. Pure:
// no DOM, unit-tested.
import type { HealthBoardData, PipelinePageData } from '../server/routes/dashboard-data.js';

export type { HealthBoardData, PipelinePageData };
export type PipelineExecution = PipelinePageData['executions'][number];
export type FreshnessView = PipelinePageData['freshness'];
export type TimelinessView = PipelinePageData['timeliness'];

export const METRICS = ['duration_seconds', 'total_rows', 'throughput'] as const;
export type ChartMetric = (typeof METRICS)[number];

export const METRIC_TITLES: Record<ChartMetric, string> = {
  duration_seconds: 'Duration (s)',
  total_rows: 'Rows',
  throughput: 'Throughput (rows/s)',
};

export interface MetricPoint {
  /** Start time, ms since the epoch. */
  t: number;
  value: number;
  executionId: number;
  status: string;
}

export interface MetricSeries {
  /** Every execution with a value for the metric, oldest first. */
  points: MetricPoint[];
  /** The points whose execution is flagged anomalous for this metric. */
  anomalies: MetricPoint[];
}

export function metricSeries(executions: readonly PipelineExecution[], metric: ChartMetric): MetricSeries {
  const points: MetricPoint[] = [];
  const anomalies: MetricPoint[] = [];
  for (const e of executions) {
    const value = e[metric];
    if (value === null) continue;
    const point = { t: Date.parse(e.start_date), value, executionId: e.id, status: e.status };
    points.push(point);
    if (e.anomalous.includes(metric)) anomalies.push(point);
  }
  points.sort((a, b) => a.t - b.t || a.executionId - b.executionId);
  anomalies.sort((a, b) => a.t - b.t || a.executionId - b.executionId);
  return { points, anomalies };
}

/** A state's words and colour (a badge), the same on both pages. */
export const STATE_LABELS: Record<FreshnessView['state'] | TimelinessView['state'], { text: string; colour: string; hint: string }> = {
  fresh: { text: 'fresh', colour: '#2e7d32', hint: 'wrote rows within its threshold' },
  stale: { text: 'stale', colour: '#c62828', hint: 'no rows written within its threshold' },
  never_written: { text: 'never written', colour: '#757575', hint: 'no successful run has written rows yet' },
  no_threshold: { text: 'no threshold', colour: '#90a4ae', hint: 'set one in meta.watcher (dbt) or with PATCH /pipeline/{id}' },
  muted: { text: 'muted', colour: '#6d4c41', hint: 'muted on the pipeline or its type' },
  on_time: { text: 'on time', colour: '#2e7d32', hint: 'its latest run ended (or is running) within its threshold' },
  late: { text: 'late', colour: '#c62828', hint: 'its latest run ended past its threshold' },
  running_late: { text: 'running late', colour: '#ad1457', hint: 'its latest run is still running past its threshold' },
  last_failed: { text: 'last run failed', colour: '#ed6c02', hint: 'timeliness is not judged on a failed run' },
  no_executions: { text: 'no runs', colour: '#757575', hint: 'it has never run' },
};

export function thresholdText(t: FreshnessView['threshold']): string {
  if (!t) return 'none';
  return `${t.number} ${t.datepart}${t.number === 1 ? '' : 's'}${t.from === 'pipeline_type' ? ' (from its type)' : ''}`;
}

export function configText(c: { number: number; datepart: string } | null): string {
  return c ? `${c.number} ${c.datepart}${c.number === 1 ? '' : 's'}` : 'not set';
}

/** Failure-rate rows: the worst first; a type above this percentage is shown as failing. */
export const FAILING_PERCENT = 20;
