// The dashboard's data: the health board (every pipeline's freshness and timeliness state, the
// open anomalies, recent alerts, failure rate per pipeline type over 30 days) and one
// pipeline's page (executions over time with anomalies marked, its states, config, watermark).
// States are the checks' own decisions (monitoring/pipeline-health.ts); nothing is logged.
import { z } from 'zod';
import { CONTROL_CHARS } from '../../contracts/validation.js';
import { ANOMALY_METRICS } from '../../monitoring/anomaly.js';
import { DATEPARTS, type Datepart } from '../../monitoring/thresholds.js';
import {
  alertSubject,
  FRESHNESS_STATES,
  freshnessOf,
  needsAttention,
  TIMELINESS_STATES,
  timelinessOf,
} from '../../monitoring/pipeline-health.js';
import { anomaliesOfExecutions, recentAnomalies, type RecentAnomaly } from '../../monitoring/recent-anomalies.js';
import {
  anomalyRulesOf,
  checkInputOf,
  executionsOverTime,
  lateExecutionCount,
  pipelineStates,
  recentAlerts,
  subjectPipelines,
  type PipelineStateRow,
} from '../../store/dashboard.js';
import { failureRateByType } from '../../store/reporting.js';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { errorResponses, jsonObject } from '../schemas.js';

const TAGS = ['dashboard'];
const DAY_MS = 86_400_000;
/** The failure-rate table's range: the last 30 UTC days, today included. */
const FAILURE_RATE_DAYS = 30;
/** Alerts the board lists: the ledger's events of the last week. */
const RECENT_ALERT_DAYS = 7;
const RECENT_ALERTS = 50;
const isoDate = z.iso.datetime({ offset: true });

const Threshold = z.object({ number: z.number().int(), datepart: z.enum(DATEPARTS), from: z.enum(['pipeline', 'pipeline_type']) });
const Freshness = z.object({ state: z.enum(FRESHNESS_STATES), last_dml: isoDate.nullable(), due_by: isoDate.nullable(), threshold: Threshold.nullable() });
const Timeliness = z.object({ state: z.enum(TIMELINESS_STATES), due_by: isoDate.nullable(), threshold: Threshold.nullable() });
const LastExecution = z.object({ id: z.number().int(), status: z.string(), start_date: isoDate, end_date: isoDate.nullable() });

const Anomaly = z.object({
  pipeline_execution_id: z.number().int(),
  rule_id: z.number().int(),
  pipeline_name: z.string(),
  metric: z.enum(ANOMALY_METRICS),
  value: z.number(),
  z_score: z.number(),
  mean: z.number(),
  band_min: z.number(),
  band_max: z.number(),
  z_threshold: z.number(),
  detected_at: isoDate,
});

const HealthPipeline = z.object({
  name: z.string(),
  pipeline_type: z.string(),
  active: z.boolean(),
  owner: z.string().nullable(),
  freshness: Freshness,
  timeliness: Timeliness,
  last_execution: LastExecution.nullable(),
  open_anomalies: z.number().int(),
  needs_attention: z.boolean(),
});

const Alert = z.object({
  idempotency_key: z.string(),
  kind: z.string(),
  status: z.enum(['delivered', 'failed', 'pending']),
  channels: z.array(z.string()),
  attempts: z.number().int(),
  first_attempt_at: isoDate,
  last_attempt_at: isoDate,
  last_error: z.string().nullable(),
  pipeline: z.string().nullable().describe('The pipeline the alert is about, when its key names one'),
  build_id: z.string().nullable(),
});

const TypeFailureRate = z.object({
  pipeline_type_name: z.string(),
  pipelines: z.number().int(),
  total_executions: z.number().int(),
  failed_executions: z.number().int(),
  error_percentage: z.number(),
});

const HealthBoard = z.object({
  generated_at: isoDate,
  total_pipelines: z.number().int().describe('Every pipeline; `pipelines` lists up to `limit` of them, those needing attention first'),
  counts: z.object({ stale: z.number().int(), late: z.number().int(), open_anomalies: z.number().int(), needs_attention: z.number().int() }),
  pipelines: z.array(HealthPipeline),
  open_anomalies: z.array(Anomaly).describe('Anomaly results of the last 24 h whose flag is still set (what the anomaly check alerts)'),
  recent_alerts: z.array(Alert).describe(`The alert ledger's events of the last ${RECENT_ALERT_DAYS} days, newest first`),
  failure_rate: z.object({ date_from: z.string(), date_to: z.string(), types: z.array(TypeFailureRate) }),
});

const Execution = z.object({
  id: z.number().int(),
  status: z.string(),
  start_date: isoDate,
  end_date: isoDate.nullable(),
  duration_seconds: z.number().nullable(),
  total_rows: z.number().nullable(),
  throughput: z.number().nullable(),
  anomalous: z.array(z.string()).describe('The metrics flagged anomalous on this execution'),
});

const OwnAndType = z.object({ number: z.number().int(), datepart: z.enum(DATEPARTS) }).nullable();
const CheckConfig = z.object({ pipeline: OwnAndType, pipeline_type: OwnAndType, muted_on_pipeline: z.boolean(), muted_on_type: z.boolean() });

const PipelinePage = z.object({
  generated_at: isoDate,
  name: z.string(),
  pipeline_type: z.string(),
  active: z.boolean(),
  owner: z.string().nullable(),
  metadata: jsonObject.nullable(),
  watermark: z.string().nullable(),
  next_watermark: z.string().nullable(),
  created_at: isoDate,
  updated_at: isoDate.nullable(),
  config: z.object({
    freshness: CheckConfig,
    timeliness: CheckConfig,
    anomaly_rules: z.array(
      z.object({ id: z.number().int(), metric: z.string(), z_threshold: z.number(), lookback_days: z.number().int(), minimum_executions: z.number().int(), active: z.boolean() }),
    ),
  }),
  freshness: Freshness,
  timeliness: Timeliness,
  late_executions_30d: z.number().int(),
  total_executions: z.number().int(),
  executions: z.array(Execution).describe('The latest `limit` executions, oldest first'),
  anomalies: z.array(Anomaly).describe('Flagged anomaly results of the listed executions'),
});

/** A pipeline name exactly as stored (dbt unique_ids keep their case). */
const pipelineName = z.string().min(1).max(512).refine((s) => !CONTROL_CHARS.test(s), 'must not contain control characters');

const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const iso = (d: Date | null) => d?.toISOString() ?? null;

function lastExecution(row: PipelineStateRow): z.infer<typeof LastExecution> | null {
  if (row.latest_id === null || row.latest_start === null) return null;
  return { id: row.latest_id, status: row.latest_status ?? 'running', start_date: row.latest_start.toISOString(), end_date: iso(row.latest_end) };
}

type Setting = [number | null, Datepart | null];

function checkConfig(own: Setting, type: Setting, mutes: [boolean, boolean]): z.infer<typeof CheckConfig> {
  const pair = ([n, d]: Setting) => (n !== null && d !== null ? { number: n, datepart: d } : null);
  return { pipeline: pair(own), pipeline_type: pair(type), muted_on_pipeline: mutes[0], muted_on_type: mutes[1] };
}

export function dashboardDataRoutes(app: Api, deps: ServerDeps): void {
  const { pool } = deps;

  app.get('/dashboard/health', {
    schema: {
      summary: "The health board: every pipeline's freshness and timeliness state, open anomalies, recent alerts, failure rate per pipeline type over 30 days",
      tags: TAGS,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(5000).default(1000) }).strict(),
      response: { 200: HealthBoard, ...errorResponses },
    },
  }, async (request) => {
    const now = new Date();
    const [states, anomalies, alerts, types] = await Promise.all([
      pipelineStates(pool, { limit: 100_000 }),
      recentAnomalies(pool, undefined, now),
      recentAlerts(pool, new Date(now.getTime() - RECENT_ALERT_DAYS * DAY_MS), RECENT_ALERTS),
      failureRateByType(pool, { dateFrom: isoDay(new Date(now.getTime() - (FAILURE_RATE_DAYS - 1) * DAY_MS)), dateTo: isoDay(now) }),
    ]);
    const anomaliesPer = new Map<number, number>();
    for (const a of anomalies) anomaliesPer.set(a.pipeline_id, (anomaliesPer.get(a.pipeline_id) ?? 0) + 1);
    const pipelines = states.map((row) => {
      const input = checkInputOf(row);
      const p = {
        name: row.name,
        pipeline_type: row.pipeline_type,
        active: row.active,
        owner: row.owner,
        freshness: freshnessOf(input, now),
        timeliness: timelinessOf(input, now),
        last_execution: lastExecution(row),
        open_anomalies: anomaliesPer.get(row.id) ?? 0,
      };
      return { ...p, needs_attention: needsAttention(p) };
    });
    // Those needing attention first, then by name (the store's order).
    const ordered = [...pipelines.filter((p) => p.needs_attention), ...pipelines.filter((p) => !p.needs_attention)];

    const subjects = alerts.map((a) => alertSubject(a.idempotency_key));
    const names = await subjectPipelines(pool, subjects);
    return {
      generated_at: now.toISOString(),
      total_pipelines: pipelines.length,
      counts: {
        stale: pipelines.filter((p) => p.freshness.state === 'stale').length,
        late: pipelines.filter((p) => p.timeliness.state === 'late' || p.timeliness.state === 'running_late').length,
        open_anomalies: anomalies.length,
        needs_attention: ordered.filter((p) => p.needs_attention).length,
      },
      pipelines: ordered.slice(0, request.query.limit),
      open_anomalies: [...anomalies].reverse().slice(0, 200),
      recent_alerts: alerts.map((a, i) => {
        const s = subjects[i]!;
        const pipeline = 'pipelineId' in s ? names.byPipelineId.get(s.pipelineId)
          : 'executionId' in s ? names.byExecutionId.get(s.executionId)
          : 'executionKey' in s ? names.byExecutionKey.get(s.executionKey)
          : 'pipelineName' in s ? s.pipelineName
          : undefined;
        return {
          ...a,
          first_attempt_at: a.first_attempt_at.toISOString(),
          last_attempt_at: a.last_attempt_at.toISOString(),
          pipeline: pipeline ?? null,
          build_id: 'buildId' in s ? s.buildId : null,
        };
      }),
      failure_rate: {
        date_from: isoDay(new Date(now.getTime() - (FAILURE_RATE_DAYS - 1) * DAY_MS)),
        date_to: isoDay(now),
        types,
      },
    };
  });

  app.get('/dashboard/pipelines/:name', {
    schema: {
      summary: "One pipeline's page: its executions over time (duration, rows, throughput, anomalies marked), freshness and timeliness state, config and watermark",
      tags: TAGS,
      params: z.object({ name: pipelineName }),
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) }).strict(),
      response: { 200: PipelinePage, ...errorResponses },
    },
  }, async (request) => {
    const { name } = request.params;
    const now = new Date();
    const row = (await pipelineStates(pool, { name, limit: 1 }))[0];
    if (!row) {
      throw new ApiError(404, 'not_found', `pipeline "${name}" not found: no pipeline of that name is recorded (a dbt node's pipeline is named by its unique_id, e.g. model.shop.fct_orders)`);
    }
    const [{ executions, total }, rules, late] = await Promise.all([
      executionsOverTime(pool, row.id, request.query.limit),
      anomalyRulesOf(pool, row.id),
      lateExecutionCount(pool, row.id, new Date(now.getTime() - 30 * DAY_MS)),
    ]);
    const anomalies: RecentAnomaly[] = await anomaliesOfExecutions(pool, executions.map((e) => e.id));
    const input = checkInputOf(row);
    return {
      generated_at: now.toISOString(),
      name: row.name,
      pipeline_type: row.pipeline_type,
      active: row.active,
      owner: row.owner,
      metadata: row.pipeline_metadata,
      watermark: row.watermark,
      next_watermark: row.next_watermark,
      created_at: row.created_at.toISOString(),
      updated_at: iso(row.updated_at),
      config: {
        freshness: checkConfig([row.own_freshness_number, row.own_freshness_datepart], [row.type_freshness_number, row.type_freshness_datepart], [row.pipeline_mute_freshness, row.type_mute_freshness]),
        timeliness: checkConfig([row.own_timeliness_number, row.own_timeliness_datepart], [row.type_timeliness_number, row.type_timeliness_datepart], [row.pipeline_mute_timeliness, row.type_mute_timeliness]),
        anomaly_rules: rules,
      },
      freshness: freshnessOf(input, now),
      timeliness: timelinessOf(input, now),
      late_executions_30d: late,
      total_executions: total,
      executions: executions.map((e) => ({
        id: e.id,
        status: e.status,
        start_date: e.start_date.toISOString(),
        end_date: iso(e.end_date),
        duration_seconds: e.duration_seconds,
        total_rows: e.total_rows,
        throughput: e.throughput,
        anomalous: Object.entries(e.anomaly_flags ?? {}).filter(([, flagged]) => flagged === true).map(([metric]) => metric).sort(),
      })),
      anomalies,
    };
  });
}

export type HealthBoardData = z.infer<typeof HealthBoard>;
export type PipelinePageData = z.infer<typeof PipelinePage>;
