// Reporting reads: daily metrics per pipeline (etl-watcher's daily_pipeline_report) and the
// address lineage graph around one address. Plain queries over the indexed tables.
import type { Pool } from './db.js';

export interface DailyMetricsFilter {
  pipelineTypeName?: string;
  pipelineName?: string;
  /** YYYY-MM-DD, UTC days of the executions' start; default: the last 30 complete days. */
  dateFrom?: string;
  dateTo?: string;
  limit: number;
  offset: number;
}

export interface DailyMetricsRow {
  date: string;
  pipeline_type_name: string;
  pipeline_name: string;
  pipeline_id: number;
  total_executions: number;
  failed_executions: number;
  error_percentage: number;
  daily_inserts: number;
  daily_updates: number;
  daily_soft_deletes: number;
  daily_total_rows: number;
  average_duration_seconds: number | null;
  daily_throughput: number;
}

export interface DailyMetricsPage {
  date_from: string;
  date_to: string;
  total: number;
  limit: number;
  offset: number;
  data: DailyMetricsRow[];
}

// The executions of the filter: by UTC start day, pipeline type and pipeline name ($1..$4).
const DAILY_SCOPE = `FROM pipeline_execution e
       JOIN pipeline p ON p.id = e.pipeline_id
       JOIN pipeline_type t ON t.id = p.pipeline_type_id
       WHERE e.date_recorded BETWEEN $3::date AND $4::date
         AND ($1::text IS NULL OR lower(t.name) = $1)
         AND ($2::text IS NULL OR lower(p.name) = $2)`;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export async function dailyPipelineMetrics(pool: Pool, filter: DailyMetricsFilter, now = new Date()): Promise<DailyMetricsPage> {
  const day = 86_400_000;
  const dateFrom = filter.dateFrom ?? isoDay(new Date(now.getTime() - 30 * day));
  const dateTo = filter.dateTo ?? isoDay(new Date(now.getTime() - day));
  const scope = [filter.pipelineTypeName ?? null, filter.pipelineName ?? null, dateFrom, dateTo];
  const page = await pool.query<DailyMetricsRow & { total: number }>(
    `WITH days AS (
       SELECT e.date_recorded, t.name AS pipeline_type_name, p.name AS pipeline_name, p.id AS pipeline_id,
              count(*) AS total_executions,
              count(*) FILTER (WHERE e.completed_successfully = false) AS failed_executions,
              coalesce(sum(e.inserts), 0) AS daily_inserts,
              coalesce(sum(e.updates), 0) AS daily_updates,
              coalesce(sum(e.soft_deletes), 0) AS daily_soft_deletes,
              coalesce(sum(e.total_rows), 0) AS daily_total_rows,
              round(avg(e.duration_seconds), 3) AS average_duration_seconds,
              coalesce(round(sum(e.total_rows) / nullif(sum(e.duration_seconds) FILTER (WHERE e.total_rows IS NOT NULL), 0), 4), 0) AS daily_throughput
       ${DAILY_SCOPE}
       GROUP BY e.date_recorded, t.name, p.name, p.id
     )
     SELECT to_char(d.date_recorded, 'YYYY-MM-DD') AS date, d.pipeline_type_name, d.pipeline_name, d.pipeline_id,
            d.total_executions, d.failed_executions, round(100.0 * d.failed_executions / d.total_executions, 2) AS error_percentage,
            d.daily_inserts, d.daily_updates, d.daily_soft_deletes, d.daily_total_rows, d.average_duration_seconds, d.daily_throughput,
            count(*) OVER () AS total
     FROM days d
     ORDER BY d.date_recorded DESC, d.pipeline_type_name, d.pipeline_name
     LIMIT $5 OFFSET $6`,
    [...scope, filter.limit, filter.offset],
  );
  // A page past the end has no row to carry the total: count alone.
  const total = page.rows[0]?.total
    ?? (filter.offset > 0 ? (await pool.query<{ total: number }>(`SELECT count(DISTINCT (e.date_recorded, e.pipeline_id)) AS total ${DAILY_SCOPE}`, scope)).rows[0]!.total : 0);
  return {
    date_from: dateFrom,
    date_to: dateTo,
    total,
    limit: filter.limit,
    offset: filter.offset,
    data: page.rows.map(({ total: _total, ...row }) => row),
  };
}

export type LineageDirection = 'upstream' | 'downstream' | 'both';

export interface LineageNode {
  id: number;
  name: string;
  address_type_name: string;
  address_type_group_name: string;
  database_name: string | null;
  schema_name: string | null;
  table_name: string | null;
  /** Hops from the centre going upstream / downstream; null when not reached that way. 0 for the centre. */
  upstream_depth: number | null;
  downstream_depth: number | null;
}

export interface LineageEdge {
  source_address_id: number;
  target_address_id: number;
  pipeline_id: number;
  pipeline_name: string;
}

export interface LineageGraph {
  address: string;
  direction: LineageDirection;
  depth: number;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

/**
 * The addresses within `depth` hops of one address, and the lineage edges between them; undefined for an unknown address.
 * `limit` keeps the nearest that many addresses (the centre first); none by default.
 */
export async function lineageGraph(pool: Pool, address: string, direction: LineageDirection, depth: number, limit?: number): Promise<LineageGraph | undefined> {
  const nodes = await pool.query<LineageNode>(
    `WITH center AS (
       SELECT id FROM address WHERE name = $1 OR lower(name) = lower($1) ORDER BY name = $1 DESC LIMIT 1
     ), reached AS (
       SELECT center.id, 0 AS up, 0 AS down FROM center
       UNION ALL
       SELECT c.source_address_id, c.depth, NULL FROM center JOIN address_lineage_closure c ON c.target_address_id = center.id
       WHERE $2 IN ('upstream', 'both') AND c.depth BETWEEN 1 AND $3
       UNION ALL
       SELECT c.target_address_id, NULL, c.depth FROM center JOIN address_lineage_closure c ON c.source_address_id = center.id
       WHERE $2 IN ('downstream', 'both') AND c.depth BETWEEN 1 AND $3
     )
     SELECT a.id, a.name, ty.name AS address_type_name, ty.group_name AS address_type_group_name, a.database_name, a.schema_name, a.table_name,
            min(r.up) AS upstream_depth, min(r.down) AS downstream_depth
     FROM reached r JOIN address a ON a.id = r.id JOIN address_type ty ON ty.id = a.address_type_id
     GROUP BY a.id, ty.name, ty.group_name
     ORDER BY coalesce(min(r.up), min(r.down)), a.name
     LIMIT $4`,
    [address, direction, depth, limit ?? null],
  );
  if (nodes.rows.length === 0) return undefined;
  const edges = await lineageEdgesAmong(pool, nodes.rows.map((n) => n.id));
  return { address: nodes.rows.find((n) => n.upstream_depth === 0)!.name, direction, depth, nodes: nodes.rows, edges };
}

/** The lineage edges whose both ends are among these addresses. */
export async function lineageEdgesAmong(pool: Pool, addressIds: readonly number[]): Promise<LineageEdge[]> {
  const edges = await pool.query<LineageEdge>(
    `SELECT l.source_address_id, l.target_address_id, l.pipeline_id, p.name AS pipeline_name
     FROM address_lineage l JOIN pipeline p ON p.id = l.pipeline_id
     WHERE l.source_address_id = ANY($1::int[]) AND l.target_address_id = ANY($1::int[])
     ORDER BY l.source_address_id, l.target_address_id, p.name`,
    [addressIds],
  );
  return edges.rows;
}

export interface TypeFailureRate {
  pipeline_type_name: string;
  pipelines: number;
  total_executions: number;
  failed_executions: number;
  error_percentage: number;
}

/**
 * The daily report's error percentage per pipeline type over a range of UTC days (the same
 * executions as dailyPipelineMetrics: by start day; failed = completed_successfully false).
 */
export async function failureRateByType(pool: Pool, range: { dateFrom: string; dateTo: string }): Promise<TypeFailureRate[]> {
  const r = await pool.query<TypeFailureRate>(
    `SELECT t.name AS pipeline_type_name, count(DISTINCT p.id)::int AS pipelines, count(*)::int AS total_executions,
            count(*) FILTER (WHERE e.completed_successfully = false)::int AS failed_executions,
            round(100.0 * count(*) FILTER (WHERE e.completed_successfully = false) / count(*), 2) AS error_percentage
     ${DAILY_SCOPE}
     GROUP BY t.name
     ORDER BY error_percentage DESC, t.name`,
    [null, null, range.dateFrom, range.dateTo],
  );
  return r.rows;
}
