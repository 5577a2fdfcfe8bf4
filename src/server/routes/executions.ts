// etl-watcher's execution routes (start, end, get with children) and its checks and
// maintenance (freshness, timeliness, log cleanup), run synchronously in the request.
import { z } from 'zod';
import { runFreshnessCheck } from '../../monitoring/freshness.js';
import { DATEPARTS } from '../../monitoring/thresholds.js';
import { DEFAULT_LOOKBACK_MINUTES, runTimelinessCheck } from '../../monitoring/timeliness.js';
import { endExecution, getExecution, startExecution } from '../../store/api-executions.js';
import { cleanupLogs } from '../../store/log-cleanup.js';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { ApiError, conflict, invalid, notFound } from '../errors.js';
import { count, errorResponses, id, int4Id, jsonObject, watermark } from '../schemas.js';

/**
 * An ISO 8601 instant with a zone, kept as sent so Postgres stores its microseconds. Year 0000
 * is refused: Postgres has no year zero.
 */
const instant = z.iso.datetime({ offset: true }).refine((s) => !s.startsWith('0000'), { message: 'year must be 0001 or later' });

const StartBody = z.object({
  pipeline_id: int4Id,
  start_date: instant.optional(),
  watermark: watermark.nullish(),
  next_watermark: watermark.nullish(),
  parent_id: id.nullish(),
  /** The SDK's standalone helper sends this name. */
  parent_execution_id: id.nullish(),
}).strict();

const EndBody = z.object({
  id,
  end_date: instant,
  completed_successfully: z.boolean(),
  inserts: count.nullish(),
  updates: count.nullish(),
  soft_deletes: count.nullish(),
  total_rows: count.nullish(),
  execution_metadata: jsonObject.nullish(),
}).strict();

const Execution = z.object({
  id: z.number().int(),
  parent_id: z.number().int().nullable(),
  pipeline_id: z.number().int(),
  status: z.string(),
  start_date: z.string(),
  end_date: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  completed_successfully: z.boolean().nullable(),
  inserts: z.number().int().nullable(),
  updates: z.number().int().nullable(),
  soft_deletes: z.number().int().nullable(),
  total_rows: z.number().int().nullable(),
  throughput: z.number().nullable(),
  watermark: z.string().nullable(),
  next_watermark: z.string().nullable(),
  execution_metadata: jsonObject.nullable(),
  anomaly_flags: jsonObject.nullable(),
});

const datepartOut = z.enum(DATEPARTS);

const FreshnessReport = z.object({
  status: z.literal('completed'),
  evaluated: z.number().int(),
  skipped: z.number().int(),
  stale: z.number().int(),
  new_alerts: z.array(z.object({
    pipeline_id: z.number().int(),
    pipeline_name: z.string(),
    last_dml_timestamp: z.string(),
    due_by: z.string(),
    freshness_number: z.number().int(),
    freshness_datepart: datepartOut,
    used_child_config: z.boolean(),
  })),
});

const TimelinessReport = z.object({
  status: z.literal('completed'),
  lookback_minutes: z.number().int(),
  evaluated: z.number().int(),
  late: z.number().int(),
  new_alerts: z.array(z.object({
    pipeline_execution_id: z.number().int(),
    pipeline_id: z.number().int(),
    pipeline_name: z.string(),
    execution_status: z.enum(['running', 'completed']),
    start_date: z.string(),
    due_by: z.string(),
    duration_seconds: z.number(),
    seconds_threshold: z.number().int(),
    timely_number: z.number().int(),
    timely_datepart: datepartOut,
    used_child_config: z.boolean(),
  })),
});

const CleanupCounts = z.object({
  freshness_pipeline_log: z.number().int(),
  timeliness_pipeline_execution_log: z.number().int(),
  anomaly_detection_result: z.number().int(),
  pipeline_execution_closure: z.number().int(),
  pipeline_execution: z.number().int(),
  alert_delivery: z.number().int(),
});

export function executionRoutes(app: Api, deps: ServerDeps): void {
  app.post('/start_pipeline_execution', {
    schema: {
      summary: 'Start a pipeline execution (etl-watcher); a repeat with the same pipeline, parent and start_date returns the same execution',
      tags: ['etl-watcher'],
      body: StartBody,
      response: { 200: z.object({ id: z.number().int() }), 201: z.object({ id: z.number().int() }), ...errorResponses },
    },
  }, async (request, reply) => {
    const body = request.body;
    const parentField = body.parent_id != null ? 'parent_id' : 'parent_execution_id';
    if (body.parent_id != null && body.parent_execution_id != null && body.parent_id !== body.parent_execution_id) {
      throw invalid('parent_execution_id', 'differs from parent_id; send one of them');
    }
    const result = await startExecution(deps.pool, {
      pipelineId: body.pipeline_id,
      parentId: body.parent_id ?? body.parent_execution_id ?? undefined,
      startDate: body.start_date,
      watermark: body.watermark ?? undefined,
      nextWatermark: body.next_watermark ?? undefined,
    });
    switch (result.kind) {
      case 'unknown_pipeline':
        throw new ApiError(404, 'not_found', `pipeline_id: pipeline ${body.pipeline_id} not found`, [{ field: 'pipeline_id', message: 'not found' }]);
      case 'unknown_parent':
        throw new ApiError(404, 'not_found', `${parentField}: execution ${body.parent_id ?? body.parent_execution_id} not found`, [{ field: parentField, message: 'not found' }]);
      case 'conflict':
        throw conflict(`execution ${result.id} already started with this pipeline, parent and start_date, with a different ${result.fields.join(' and ')}`);
      case 'existing':
        return reply.code(200).send({ id: result.id });
      case 'started':
        return reply.code(201).send({ id: result.id });
    }
  });

  app.post('/end_pipeline_execution', {
    schema: {
      summary: 'End a pipeline execution (etl-watcher): outcome, counts, duration, throughput; on success the watermark, last DML times and the anomaly check',
      tags: ['etl-watcher'],
      body: EndBody,
      response: { 204: z.undefined().describe('ended (or already ended with the same data); no body'), ...errorResponses },
    },
  }, async (request, reply) => {
    const body = request.body;
    const result = await endExecution(deps.pool, {
      id: body.id,
      endDate: body.end_date,
      completedSuccessfully: body.completed_successfully,
      inserts: body.inserts ?? undefined,
      updates: body.updates ?? undefined,
      softDeletes: body.soft_deletes ?? undefined,
      totalRows: body.total_rows ?? undefined,
      executionMetadata: body.execution_metadata ?? undefined,
    });
    switch (result.kind) {
      case 'not_found':
        throw new ApiError(404, 'not_found', `id: execution ${body.id} not found`, [{ field: 'id', message: 'not found' }]);
      case 'invalid':
        throw invalid(result.field, result.message);
      case 'conflict':
        throw conflict(`execution ${body.id} already ended with a different ${result.fields.join(', ')}`);
      case 'unchanged':
      case 'ended':
        return reply.code(204).send();
    }
  });

  app.get('/pipeline_execution/:id', {
    schema: {
      summary: 'One execution with its direct child executions (etl-watcher)',
      tags: ['etl-watcher'],
      params: z.object({ id }),
      response: { 200: Execution.extend({ child_executions: z.array(Execution) }), ...errorResponses },
    },
  }, async (request) => {
    const execution = await getExecution(deps.pool, request.params.id);
    if (!execution) throw notFound(`execution ${request.params.id}`);
    return execution;
  });

  app.post('/freshness', {
    schema: {
      summary: 'Run the freshness check now and answer what it found (etl-watcher queues it)',
      tags: ['etl-watcher', 'monitoring'],
      body: z.object({}).strict().nullish(),
      response: { 200: FreshnessReport, ...errorResponses },
    },
    config: { optionalBody: true }, // the SDK's trigger_freshness_check sends none
  }, async () => runFreshnessCheck(deps.pool));

  app.post('/timeliness', {
    schema: {
      summary: 'Run the timeliness check now over executions started in the lookback, and answer what it found (etl-watcher queues it)',
      tags: ['etl-watcher', 'monitoring'],
      body: z.object({ lookback_minutes: z.number().int().min(5).max(5_256_000).default(DEFAULT_LOOKBACK_MINUTES) }).strict().nullish(),
      response: { 200: TimelinessReport, ...errorResponses },
    },
    config: { optionalBody: true },
  }, async (request) => runTimelinessCheck(deps.pool, request.body?.lookback_minutes ?? DEFAULT_LOOKBACK_MINUTES));

  app.post('/log_cleanup', {
    schema: {
      summary: 'Delete executions, closure rows and check logs older than retention_days, in committed batches; running trees are kept',
      tags: ['etl-watcher', 'maintenance'],
      body: z.object({
        retention_days: z.number().int().min(90).max(36_500),
        batch_size: z.number().int().min(1).max(100_000).default(10_000),
      }).strict(),
      response: { 200: z.object({ retention_days: z.number().int(), cutoff: z.string(), deleted: CleanupCounts }), ...errorResponses },
    },
    config: { scope: 'admin' },
  }, async (request) => {
    const { retention_days: retentionDays, batch_size: batchSize } = request.body;
    const result = await cleanupLogs(deps.pool, { retentionDays, batchSize });
    return { retention_days: retentionDays, cutoff: result.cutoff.toISOString(), deleted: result.deleted };
  });
}
