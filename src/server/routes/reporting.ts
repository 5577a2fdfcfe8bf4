// Reporting data: etl-watcher's daily pipeline report (filters, pagination) and the address
// lineage graph around one address (its UI's lineage page), as JSON.
import { z } from 'zod';
import { dailyPipelineMetrics, lineageGraph } from '../../store/reporting.js';
import type { Api } from '../app.js';
import type { ServerDeps } from '../deps.js';
import { invalid, notFound } from '../errors.js';
import { errorResponses, lowerName } from '../schemas.js';

/** A calendar day; year 0000 is refused (Postgres has no year zero). */
const day = z.iso.date().refine((s) => !s.startsWith('0000'), { message: 'year must be 0001 or later' });

const DailyRow = z.object({
  date: z.string(),
  pipeline_type_name: z.string(),
  pipeline_name: z.string(),
  pipeline_id: z.number().int(),
  total_executions: z.number().int(),
  failed_executions: z.number().int(),
  error_percentage: z.number(),
  daily_inserts: z.number(),
  daily_updates: z.number(),
  daily_soft_deletes: z.number(),
  daily_total_rows: z.number(),
  average_duration_seconds: z.number().nullable(),
  daily_throughput: z.number(),
});

const Node = z.object({
  id: z.number().int(),
  name: z.string(),
  address_type_name: z.string(),
  address_type_group_name: z.string(),
  database_name: z.string().nullable(),
  schema_name: z.string().nullable(),
  table_name: z.string().nullable(),
  upstream_depth: z.number().int().nullable(),
  downstream_depth: z.number().int().nullable(),
});

const Edge = z.object({
  source_address_id: z.number().int(),
  target_address_id: z.number().int(),
  pipeline_id: z.number().int(),
  pipeline_name: z.string(),
});

export function reportingRoutes(app: Api, deps: ServerDeps): void {
  app.get('/reporting/daily-pipeline-metrics', {
    schema: {
      summary: 'Daily metrics per pipeline (UTC days of the executions\' start); default: the last 30 complete days',
      tags: ['etl-watcher', 'reporting'],
      querystring: z.object({
        pipeline_type_name: lowerName().optional(),
        pipeline_name: lowerName(512).optional(),
        date_from: day.optional(),
        date_to: day.optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
        offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
      }).strict(),
      response: {
        200: z.object({ date_from: z.string(), date_to: z.string(), total: z.number().int(), limit: z.number().int(), offset: z.number().int(), data: z.array(DailyRow) }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const q = request.query;
    if (q.date_from && q.date_to && q.date_from > q.date_to) throw invalid('date_from', 'must not be after date_to');
    return dailyPipelineMetrics(deps.pool, {
      pipelineTypeName: q.pipeline_type_name,
      pipelineName: q.pipeline_name,
      dateFrom: q.date_from,
      dateTo: q.date_to,
      limit: q.limit,
      offset: q.offset,
    });
  });

  app.get('/lineage-graph', {
    schema: {
      summary: 'The address lineage graph around one address: nodes within depth hops upstream, downstream or both, and the edges between them',
      tags: ['etl-watcher', 'reporting'],
      querystring: z.object({
        address: z.string().trim().min(1).max(1024),
        direction: z.enum(['upstream', 'downstream', 'both']).default('both'),
        depth: z.coerce.number().int().min(1).max(10).default(2),
      }).strict(),
      response: {
        200: z.object({ address: z.string(), direction: z.enum(['upstream', 'downstream', 'both']), depth: z.number().int(), nodes: z.array(Node), edges: z.array(Edge) }),
        ...errorResponses,
      },
    },
  }, async (request) => {
    const { address, direction, depth } = request.query;
    const graph = await lineageGraph(deps.pool, address, direction, depth);
    if (!graph) throw notFound(`address: "${address}"`);
    return graph;
  });
}
