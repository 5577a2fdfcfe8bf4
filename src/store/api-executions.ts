// Executions reported through the HTTP API (etl-watcher's start/end/get). Same rows as
// Watcher's own builds: an execution_key for idempotency, a closure self row for every
// execution and one per ancestor, written in the start's transaction.
import { randomUUID } from 'node:crypto';
import { detectAnomalies, type DetectedAnomaly } from '../monitoring/anomaly.js';
import { withTransaction, type Pool } from './db.js';

export interface StartInput {
  pipelineId: number;
  parentId?: number;
  /** ISO 8601 with a zone, passed to Postgres as sent (microseconds kept); absent = now. */
  startDate?: string;
  watermark?: string;
  nextWatermark?: string;
}

export type StartResult =
  | { kind: 'started' | 'existing'; id: number }
  | { kind: 'unknown_pipeline' | 'unknown_parent' }
  | { kind: 'conflict'; id: number; fields: string[] };

/**
 * Start an execution. With a start_date, a repeat of the same (pipeline, parent, start_date)
 * is the same execution (the SDK retries POSTs on timeouts); without one, every call is new.
 */
export async function startExecution(pool: Pool, input: StartInput): Promise<StartResult> {
  const scope = `api:${input.pipelineId}:${input.parentId ?? 'root'}`;
  // One statement (one round trip, atomic without BEGIN/COMMIT): check the pipeline and the
  // parent, insert the execution, and its closure rows: the self row, then each ancestor of
  // the parent one level further down. The key's start is Postgres's own UTC rendering, so
  // every spelling of one instant matches.
  const started = await pool.query<{ id: number | null; pipeline: boolean; parent: boolean }>({
    // Named: prepared once per connection, so Postgres parses it once, not per request (its
    // parsing and planning took longer than running it).
    name: 'api-start-execution',
    text: `WITH known AS (
       SELECT EXISTS (SELECT 1 FROM pipeline WHERE id = $1) AS pipeline,
              $2::bigint IS NULL OR EXISTS (SELECT 1 FROM pipeline_execution WHERE id = $2) AS parent
     ), s AS (SELECT coalesce($3::timestamptz, now()) AS start_date),
     ins AS (
       INSERT INTO pipeline_execution (execution_key, parent_id, pipeline_id, status, start_date, date_recorded, hour_recorded, watermark, next_watermark)
       SELECT CASE WHEN $3::timestamptz IS NULL THEN $4 || ':now:' || $5
                   ELSE $4 || ':' || to_char(s.start_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END,
              $2, $1, 'running', s.start_date,
              (s.start_date AT TIME ZONE 'UTC')::date, extract(hour FROM s.start_date AT TIME ZONE 'UTC')::smallint, $6, $7
       FROM s, known WHERE known.pipeline AND known.parent
       ON CONFLICT (execution_key) DO NOTHING
       RETURNING id
     ), closure AS (
       INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
       SELECT ins.id, ins.id, 0 FROM ins
       UNION ALL
       SELECT c.parent_execution_id, ins.id, c.depth + 1 FROM ins JOIN pipeline_execution_closure c ON c.child_execution_id = $2::bigint
       ON CONFLICT DO NOTHING
     )
     SELECT (SELECT id FROM ins) AS id, known.pipeline, known.parent FROM known`,
    values: [input.pipelineId, input.parentId ?? null, input.startDate ?? null, scope, randomUUID(), input.watermark ?? null, input.nextWatermark ?? null],
  });
  const row = started.rows[0]!;
  if (!row.pipeline) return { kind: 'unknown_pipeline' };
  if (!row.parent) return { kind: 'unknown_parent' };
  if (row.id !== null) return { kind: 'started', id: row.id };

  // A repeat (same key): the same execution, unless it asks for different watermarks.
  const existing = await pool.query<{ id: number; watermark: string | null; next_watermark: string | null }>(
    `SELECT id, watermark, next_watermark FROM pipeline_execution
     WHERE execution_key = $1 || ':' || to_char($2::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    [scope, input.startDate],
  );
  const same = existing.rows[0]!;
  const fields = [
    ...(same.watermark !== (input.watermark ?? null) ? ['watermark'] : []),
    ...(same.next_watermark !== (input.nextWatermark ?? null) ? ['next_watermark'] : []),
  ];
  return fields.length ? { kind: 'conflict', id: same.id, fields } : { kind: 'existing', id: same.id };
}

export interface EndInput {
  id: number;
  /** ISO 8601 with a zone, passed to Postgres as sent. */
  endDate: string;
  completedSuccessfully: boolean;
  inserts?: number;
  updates?: number;
  softDeletes?: number;
  totalRows?: number;
  executionMetadata?: Record<string, unknown>;
}

export type EndResult =
  | { kind: 'ended'; pipelineId: number; anomalies: DetectedAnomaly[] }
  | { kind: 'unchanged' }
  | { kind: 'not_found' }
  | { kind: 'conflict'; fields: string[] }
  | { kind: 'invalid'; field: string; message: string };

/** duration_seconds is numeric(14, 3), throughput numeric(16, 4). */
const MAX_DURATION_SECONDS = 99_999_999_999.999;
const MAX_THROUGHPUT = 999_999_999_999.9999;

/**
 * End an execution: its outcome, counts, duration and throughput; on success, in the same
 * transaction, the pipeline's watermark, last DML timestamps and load_lineage, then the
 * anomaly check. An identical repeat changes nothing; a different one is a conflict.
 */
export async function endExecution(pool: Pool, input: EndInput): Promise<EndResult> {
  const metadata = input.executionMetadata === undefined ? null : JSON.stringify(input.executionMetadata);
  const counts = [input.inserts ?? null, input.updates ?? null, input.softDeletes ?? null, input.totalRows ?? null];
  // The common case in one statement (one round trip, atomic): end a running execution whose
  // end is valid and, on success, promote the pipeline's watermark and last DML times. The
  // range this execution processed is its own next_watermark when it sent one, else the
  // pipeline's (etl-watcher's only source); a missing value never erases a watermark.
  const ended = await pool.query<{ pipeline_id: number; has_rules: boolean }>({
    name: 'api-end-execution', // prepared once per connection, as the start
    text: `WITH cur AS (
       SELECT id, round(extract(epoch FROM $2::timestamptz - start_date), 3) AS duration
       FROM pipeline_execution
       WHERE id = $1 AND end_date IS NULL AND $2::timestamptz >= start_date
       FOR UPDATE
     ), valid AS (
       SELECT * FROM cur
       WHERE duration <= ${MAX_DURATION_SECONDS}
         AND ($8::bigint IS NULL OR duration = 0 OR $8::bigint / duration <= ${MAX_THROUGHPUT})
     ), e AS (
       UPDATE pipeline_execution x SET
         end_date = $2::timestamptz, status = $3::execution_status, completed_successfully = $4,
         inserts = $5, updates = $6, soft_deletes = $7, total_rows = $8,
         execution_metadata = coalesce($9::jsonb, x.execution_metadata),
         duration_seconds = valid.duration,
         throughput = CASE WHEN $8::bigint IS NULL THEN NULL WHEN valid.duration = 0 THEN 0 ELSE round($8::bigint / valid.duration, 4) END
       FROM valid WHERE x.id = valid.id
       RETURNING x.pipeline_id, x.next_watermark
     ), promoted AS (
       UPDATE pipeline p SET
         watermark = coalesce(e.next_watermark, p.next_watermark, p.watermark),
         last_target_insert = CASE WHEN $5::bigint > 0 THEN greatest(p.last_target_insert, $2::timestamptz) ELSE p.last_target_insert END,
         last_target_update = CASE WHEN $6::bigint > 0 THEN greatest(p.last_target_update, $2::timestamptz) ELSE p.last_target_update END,
         last_target_soft_delete = CASE WHEN $7::bigint > 0 THEN greatest(p.last_target_soft_delete, $2::timestamptz) ELSE p.last_target_soft_delete END,
         load_lineage = false,
         updated_at = now()
       FROM e WHERE p.id = e.pipeline_id AND $4
     )
     SELECT e.pipeline_id,
            $4 AND EXISTS (SELECT 1 FROM anomaly_detection_rule r WHERE r.pipeline_id = e.pipeline_id AND r.active) AS has_rules
     FROM e`,
    values: [input.id, input.endDate, input.completedSuccessfully ? 'success' : 'error', input.completedSuccessfully, ...counts, metadata],
  });
  const row = ended.rows[0];
  if (row) return { kind: 'ended', pipelineId: row.pipeline_id, anomalies: row.has_rules ? await checkAnomalies(pool, input.id) : [] };
  const why = await explainEndNotApplied(pool, input, metadata);
  if (why) return why;
  // It was running and its end valid a moment ago: a concurrent end got there first. Once more.
  const again = await explainEndNotApplied(pool, input, metadata);
  if (again) return again;
  throw new Error(`execution ${input.id}: its end could not be applied and nothing says why`);
}

/**
 * The anomaly check of an ended successful execution, in its own transaction. Idempotent: if
 * it fails after the end was stored, the client's retry of the same end runs it again.
 */
function checkAnomalies(pool: Pool, executionId: number): Promise<DetectedAnomaly[]> {
  return withTransaction(pool, (client) => detectAnomalies(client, executionId));
}

/** Why an end changed nothing: unknown, already ended (the same or a different end), or invalid; undefined = no reason found. */
async function explainEndNotApplied(pool: Pool, input: EndInput, metadata: string | null): Promise<EndResult | undefined> {
  const found = await pool.query<{ ended: boolean; ends_after_start: boolean; duration: number; differs: string[]; successful: boolean | null }>(
    `SELECT end_date IS NOT NULL AS ended,
            completed_successfully AS successful,
            $2::timestamptz >= start_date AS ends_after_start,
            round(extract(epoch FROM $2::timestamptz - start_date), 3) AS duration,
            array_remove(ARRAY[
              CASE WHEN end_date IS DISTINCT FROM $2::timestamptz THEN 'end_date' END,
              CASE WHEN completed_successfully IS DISTINCT FROM $3 THEN 'completed_successfully' END,
              CASE WHEN inserts IS DISTINCT FROM $4::bigint THEN 'inserts' END,
              CASE WHEN updates IS DISTINCT FROM $5::bigint THEN 'updates' END,
              CASE WHEN soft_deletes IS DISTINCT FROM $6::bigint THEN 'soft_deletes' END,
              CASE WHEN total_rows IS DISTINCT FROM $7::bigint THEN 'total_rows' END,
              CASE WHEN $8::jsonb IS NOT NULL AND execution_metadata IS DISTINCT FROM $8::jsonb THEN 'execution_metadata' END
            ], NULL) AS differs
     FROM pipeline_execution WHERE id = $1`,
    [input.id, input.endDate, input.completedSuccessfully, input.inserts ?? null, input.updates ?? null, input.softDeletes ?? null, input.totalRows ?? null, metadata],
  );
  const current = found.rows[0];
  if (!current) return { kind: 'not_found' };
  if (current.ended) {
    if (current.differs.length) return { kind: 'conflict', fields: current.differs };
    // A repeat of the stored end: run the (idempotent) anomaly check again in case it failed the first time.
    if (current.successful) await checkAnomalies(pool, input.id);
    return { kind: 'unchanged' };
  }
  if (!current.ends_after_start) return { kind: 'invalid', field: 'end_date', message: 'must not be before the execution\'s start_date' };
  if (current.duration > MAX_DURATION_SECONDS) return { kind: 'invalid', field: 'end_date', message: 'the execution would last more than 99,999,999,999 seconds' };
  if (input.totalRows !== undefined && current.duration > 0 && input.totalRows / current.duration > MAX_THROUGHPUT) {
    return { kind: 'invalid', field: 'total_rows', message: 'throughput (total_rows per second) would exceed 999,999,999,999' };
  }
  return undefined;
}

export interface ExecutionView {
  id: number;
  parent_id: number | null;
  pipeline_id: number;
  status: string;
  start_date: string;
  end_date: string | null;
  duration_seconds: number | null;
  completed_successfully: boolean | null;
  inserts: number | null;
  updates: number | null;
  soft_deletes: number | null;
  total_rows: number | null;
  throughput: number | null;
  watermark: string | null;
  next_watermark: string | null;
  execution_metadata: Record<string, unknown> | null;
  anomaly_flags: Record<string, unknown> | null;
}

const VIEW_COLUMNS = `e.id, e.parent_id, e.pipeline_id, e.status::text AS status, e.start_date, e.end_date, e.duration_seconds, e.completed_successfully,
  e.inserts, e.updates, e.soft_deletes, e.total_rows, e.throughput, e.watermark, e.next_watermark, e.execution_metadata, e.anomaly_flags`;

type ViewRow = Omit<ExecutionView, 'start_date' | 'end_date'> & { start_date: Date; end_date: Date | null };

const toView = (r: ViewRow): ExecutionView => ({ ...r, start_date: r.start_date.toISOString(), end_date: r.end_date?.toISOString() ?? null });

/** One execution and its direct children (depth 1 in the closure), or undefined. */
export async function getExecution(pool: Pool, id: number): Promise<(ExecutionView & { child_executions: ExecutionView[] }) | undefined> {
  const [self, children] = await Promise.all([
    pool.query<ViewRow>(`SELECT ${VIEW_COLUMNS} FROM pipeline_execution e WHERE e.id = $1`, [id]),
    pool.query<ViewRow>(
      `SELECT ${VIEW_COLUMNS} FROM pipeline_execution_closure c JOIN pipeline_execution e ON e.id = c.child_execution_id
       WHERE c.parent_execution_id = $1 AND c.depth = 1 ORDER BY e.id`,
      [id],
    ),
  ]);
  const row = self.rows[0];
  if (!row) return undefined;
  return { ...toView(row), child_executions: children.rows.map(toView) };
}
