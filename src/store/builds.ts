// Reads behind Watcher's own API resources: builds (root executions of `dbtBuild`) with their
// node counts, executions of any pipeline (dbt nodes and SDK pipelines alike), watermarks.
import { isBuildTrigger, type BuildTrigger } from '../contracts/trigger.js';
import type { ExecutionStatus } from '../recording/records.js';
import { BUILD_PIPELINE_TYPE } from '../recording/records.js';
import type { Pool } from './db.js';
import type { ExecutionRow } from './queries.js';

export interface BuildRow {
  id: number;
  build_id: string;
  run_id: string;
  pipeline: string;
  status: string;
  start_date: Date;
  end_date: Date | null;
  duration_seconds: number | null;
  total_rows: number | null;
  execution_metadata: Record<string, unknown> | null;
  /** The dbt target it was asked for; null for the profile's default target. */
  target: string | null;
  /** What started it (see triggerOfRecord): as recorded, so any text; null when unknown. */
  trigger: string | null;
  /** The Watcher schedule that started it (its name). */
  schedule: string | null;
  /** Status -> number of the build's node executions (depth 1). */
  node_counts: Record<string, number>;
}

export interface BuildFilters {
  status?: ExecutionStatus;
  /** The build's pipeline name, or the dbt project's name. */
  project?: string;
  /** The dbt target named at start (exactly). */
  target?: string;
  trigger?: BuildTrigger;
  /** The Watcher schedule's name. */
  schedule?: string;
  /** start_date >= from */
  from?: Date;
  /** start_date < to */
  to?: Date;
  limit: number;
  offset: number;
}

/**
 * A recorded build's trigger: its root's `trigger`, or `schedule` for a build that a schedule
 * started before triggers were recorded (its root names the schedule). TRIGGER_SQL is the same
 * rule in SQL, for listing and filtering in one query.
 */
export function triggerOfRecord(metadata: Record<string, unknown> | null | undefined): BuildTrigger | null {
  const trigger = metadata?.trigger;
  if (isBuildTrigger(trigger)) return trigger;
  return typeof metadata?.schedule === 'string' ? 'schedule' : null;
}
const TRIGGER_SQL = `COALESCE(e.execution_metadata->>'trigger', CASE WHEN e.execution_metadata->>'schedule' IS NOT NULL THEN 'schedule' END)`;

/** Build roots are recorded as `build:watcher/<buildId>:<runId>` (see recording/records.ts). */
const BUILD_KEY = '^build:watcher/(.+):([^:]+)$';

/** Builds, newest first. */
export async function listBuilds(pool: Pool, f: BuildFilters): Promise<BuildRow[]> {
  const r = await pool.query<BuildRow>(
    `SELECT e.id, substring(e.execution_key from '${BUILD_KEY}') AS build_id,
            substring(e.execution_key from '^build:watcher/.+:([^:]+)$') AS run_id,
            p.name AS pipeline, e.status::text AS status, e.start_date, e.end_date, e.duration_seconds, e.total_rows, e.execution_metadata,
            e.execution_metadata->>'target' AS target, ${TRIGGER_SQL} AS trigger, e.execution_metadata->>'schedule' AS schedule,
            COALESCE((SELECT jsonb_object_agg(s.status, s.n) FROM (
               SELECT n.status::text AS status, count(*)::int AS n
               FROM pipeline_execution_closure c JOIN pipeline_execution n ON n.id = c.child_execution_id
               WHERE c.parent_execution_id = e.id AND c.depth = 1 GROUP BY n.status) s), '{}'::jsonb) AS node_counts
     FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id JOIN pipeline_type t ON t.id = p.pipeline_type_id
     WHERE t.name = $1 AND e.parent_id IS NULL AND e.execution_key ~ '${BUILD_KEY}'
       AND ($2::execution_status IS NULL OR e.status = $2::execution_status)
       AND ($3::text IS NULL OR p.name = $3 OR e.execution_metadata->>'project' = $3)
       AND ($4::timestamptz IS NULL OR e.start_date >= $4)
       AND ($5::timestamptz IS NULL OR e.start_date < $5)
       AND ($6::text IS NULL OR e.execution_metadata->>'target' = $6)
       AND ($7::text IS NULL OR ${TRIGGER_SQL} = $7)
       AND ($8::text IS NULL OR e.execution_metadata->>'schedule' = $8)
     ORDER BY e.start_date DESC, e.id DESC
     LIMIT $9 OFFSET $10`,
    [BUILD_PIPELINE_TYPE, f.status ?? null, f.project ?? null, f.from ?? null, f.to ?? null, f.target ?? null, f.trigger ?? null, f.schedule ?? null, f.limit, f.offset],
  );
  return r.rows;
}

export interface ExecutionFilters {
  /** Exact pipeline name, e.g. a dbt unique_id `model.shop.fct_orders`. */
  pipeline?: string;
  status?: ExecutionStatus;
  /** Only executions below this build's root (nodes and their reruns). */
  buildRootId?: number;
  limit: number;
  offset: number;
}

export type ListedExecution = Pick<
  ExecutionRow,
  'id' | 'parent_id' | 'pipeline' | 'pipeline_type' | 'status' | 'start_date' | 'end_date' | 'duration_seconds' | 'total_rows' | 'execution_metadata'
>;

/** Executions of every pipeline but build roots (those are `listBuilds`), newest first. */
export async function listExecutions(pool: Pool, f: ExecutionFilters): Promise<ListedExecution[]> {
  const r = await pool.query<ListedExecution>(
    `SELECT e.id, e.parent_id, p.name AS pipeline, t.name AS pipeline_type, e.status::text AS status,
            e.start_date, e.end_date, e.duration_seconds, e.total_rows, e.execution_metadata
     FROM pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id JOIN pipeline_type t ON t.id = p.pipeline_type_id
     WHERE t.name <> $1
       AND ($2::text IS NULL OR p.name = $2)
       AND ($3::execution_status IS NULL OR e.status = $3::execution_status)
       AND ($4::bigint IS NULL OR EXISTS (
             SELECT 1 FROM pipeline_execution_closure c WHERE c.parent_execution_id = $4 AND c.child_execution_id = e.id AND c.depth > 0))
     ORDER BY e.start_date DESC, e.id DESC
     LIMIT $5 OFFSET $6`,
    [BUILD_PIPELINE_TYPE, f.pipeline ?? null, f.status ?? null, f.buildRootId ?? null, f.limit, f.offset],
  );
  return r.rows;
}

export interface WatermarkRow {
  name: string;
  pipeline_type: string;
  watermark: string | null;
  next_watermark: string | null;
  updated_at: Date | null;
}

/** Pipelines and their watermarks: the one named, else every pipeline that has one. */
export async function listWatermarks(pool: Pool, f: { name?: string; limit: number; offset: number }): Promise<WatermarkRow[]> {
  const r = await pool.query<WatermarkRow>(
    `SELECT p.name, t.name AS pipeline_type, p.watermark, p.next_watermark, p.updated_at
     FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id
     WHERE CASE WHEN $1::text IS NULL THEN p.watermark IS NOT NULL OR p.next_watermark IS NOT NULL ELSE p.name = $1 END
     ORDER BY p.name
     LIMIT $2 OFFSET $3`,
    [f.name ?? null, f.limit, f.offset],
  );
  return r.rows;
}

export async function addressExists(pool: Pool, name: string): Promise<boolean> {
  const r = await pool.query('SELECT 1 FROM address WHERE name = $1', [name]);
  return r.rows.length > 0;
}
