// Reading Watcher's metadata: a typed API over the closure tables (also behind `watcher runs`).
import type { Pool } from './db.js';

export interface ExecutionRow {
  id: number;
  parent_id: number | null;
  pipeline: string;
  pipeline_type: string;
  execution_key: string;
  status: string;
  start_date: Date;
  end_date: Date | null;
  duration_seconds: number | null;
  completed_successfully: boolean | null;
  total_rows: number | null;
  execution_metadata: Record<string, unknown> | null;
}

const EXECUTION_COLUMNS = `e.id, e.parent_id, p.name AS pipeline, t.name AS pipeline_type, e.execution_key, e.status::text AS status,
  e.start_date, e.end_date, e.duration_seconds, e.completed_successfully, e.total_rows, e.execution_metadata`;
const EXECUTION_FROM = 'pipeline_execution e JOIN pipeline p ON p.id = e.pipeline_id JOIN pipeline_type t ON t.id = p.pipeline_type_id';

export async function recentExecutions(pool: Pool, pipelineName: string, limit = 20): Promise<ExecutionRow[]> {
  const r = await pool.query<ExecutionRow>(
    `SELECT ${EXECUTION_COLUMNS} FROM ${EXECUTION_FROM} WHERE p.name = $1 ORDER BY e.start_date DESC, e.id DESC LIMIT $2`,
    [pipelineName, limit],
  );
  return r.rows;
}

export async function executionByKey(pool: Pool, key: string): Promise<ExecutionRow | undefined> {
  const r = await pool.query<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM ${EXECUTION_FROM} WHERE e.execution_key = $1`, [key]);
  return r.rows[0];
}

/** The root execution of a build, by build ID (latest run of its producer). */
export async function buildExecution(pool: Pool, buildId: string): Promise<ExecutionRow | undefined> {
  const r = await pool.query<ExecutionRow>(
    `SELECT ${EXECUTION_COLUMNS} FROM ${EXECUTION_FROM} WHERE e.execution_key LIKE $1 AND e.parent_id IS NULL ORDER BY e.id DESC LIMIT 1`,
    [`build:watcher/${buildId.replace(/[\\%_]/g, (c) => `\\${c}`)}:%`],
  );
  return r.rows[0];
}

/** Children (depth 1) of an execution. */
export async function childrenOf(pool: Pool, executionId: number): Promise<ExecutionRow[]> {
  const r = await pool.query<ExecutionRow>(
    `SELECT ${EXECUTION_COLUMNS} FROM pipeline_execution_closure c JOIN ${EXECUTION_FROM} ON e.id = c.child_execution_id
     WHERE c.parent_execution_id = $1 AND c.depth = 1 ORDER BY e.start_date, e.id`,
    [executionId],
  );
  return r.rows;
}

/** Every execution below one (depth > 0), with its depth. */
export async function descendantsOf(pool: Pool, executionId: number): Promise<Array<ExecutionRow & { depth: number }>> {
  const r = await pool.query<ExecutionRow & { depth: number }>(
    `SELECT ${EXECUTION_COLUMNS}, c.depth FROM pipeline_execution_closure c JOIN ${EXECUTION_FROM} ON e.id = c.child_execution_id
     WHERE c.parent_execution_id = $1 AND c.depth > 0 ORDER BY c.depth, e.start_date, e.id`,
    [executionId],
  );
  return r.rows;
}

/** Every execution above one (depth > 0), nearest first. */
export async function ancestorsOf(pool: Pool, executionId: number): Promise<Array<ExecutionRow & { depth: number }>> {
  const r = await pool.query<ExecutionRow & { depth: number }>(
    `SELECT ${EXECUTION_COLUMNS}, c.depth FROM pipeline_execution_closure c JOIN ${EXECUTION_FROM} ON e.id = c.parent_execution_id
     WHERE c.child_execution_id = $1 AND c.depth > 0 ORDER BY c.depth`,
    [executionId],
  );
  return r.rows;
}

export interface LastSuccess {
  pipeline: string;
  execution_id: number;
  end_date: Date;
}

/** The last successful execution of each pipeline (optionally only those named). */
export async function lastSuccessPerPipeline(pool: Pool, pipelineNames?: string[]): Promise<LastSuccess[]> {
  const r = await pool.query<LastSuccess>(
    `SELECT p.name AS pipeline, l.id AS execution_id, l.end_date
     FROM pipeline p
     CROSS JOIN LATERAL (
       SELECT e.id, e.end_date FROM pipeline_execution e
       WHERE e.pipeline_id = p.id AND e.completed_successfully
       ORDER BY e.end_date DESC LIMIT 1
     ) l
     WHERE $1::text[] IS NULL OR p.name = ANY($1::text[])
     ORDER BY p.name`,
    [pipelineNames ?? null],
  );
  return r.rows;
}

export interface LastExecution {
  pipeline_id: number;
  execution_id: number;
  status: string;
  start_date: Date;
  end_date: Date | null;
}

/** The latest execution (by start) of each pipeline named by id; pipelines never run are left out. */
export async function lastExecutionPerPipeline(pool: Pool, pipelineIds: readonly number[]): Promise<LastExecution[]> {
  if (pipelineIds.length === 0) return [];
  const r = await pool.query<LastExecution>(
    `SELECT p.id AS pipeline_id, l.id AS execution_id, l.status, l.start_date, l.end_date
     FROM unnest($1::int[]) AS p(id)
     CROSS JOIN LATERAL (
       SELECT e.id, e.status::text AS status, e.start_date, e.end_date FROM pipeline_execution e
       WHERE e.pipeline_id = p.id
       ORDER BY e.start_date DESC, e.id DESC LIMIT 1
     ) l`,
    [pipelineIds],
  );
  return r.rows;
}

export interface LineageRow {
  address: string;
  depth: number;
  path: string[];
}

async function lineage(pool: Pool, name: string, direction: 'upstream' | 'downstream'): Promise<LineageRow[]> {
  const [from, to] = direction === 'upstream' ? ['target_address_id', 'source_address_id'] : ['source_address_id', 'target_address_id'];
  const r = await pool.query<LineageRow>(
    `SELECT other.name AS address, c.depth,
            (SELECT array_agg(a.name ORDER BY x.ord) FROM unnest(c.lineage_path) WITH ORDINALITY AS x(id, ord) JOIN address a ON a.id = x.id) AS path
     FROM address me
     JOIN address_lineage_closure c ON c.${from} = me.id AND c.depth > 0
     JOIN address other ON other.id = c.${to}
     WHERE me.name = $1
     ORDER BY c.depth, other.name`,
    [name],
  );
  return r.rows;
}

export const upstreamAddresses = (pool: Pool, name: string) => lineage(pool, name, 'upstream');
export const downstreamAddresses = (pool: Pool, name: string) => lineage(pool, name, 'downstream');

/** A pipeline's current watermark, readable before a run. */
export async function currentWatermark(pool: Pool, pipelineName: string): Promise<string | null | undefined> {
  const r = await pool.query<{ watermark: string | null }>('SELECT watermark FROM pipeline WHERE name = $1', [pipelineName]);
  return r.rows.length ? r.rows[0]!.watermark : undefined;
}
