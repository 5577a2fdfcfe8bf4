// Recording executions: batched (a few statements per batch, not a round trip per node),
// idempotent (natural keys: the same record twice is one row), with a closure row for every
// execution (a self row at depth 0, roots included) and one per ancestor.
import { isPassingNodeStatus } from '../contracts/status.js';
import type { ExecutionRecord } from '../recording/records.js';
import type { PoolClient } from './db.js';
import { syncPipelines } from './pipelines.js';

export class ParentNotRecordedError extends Error {
  constructor(readonly keys: string[]) {
    super(`parent executions not recorded yet: ${keys.slice(0, 5).join(', ')}`);
    this.name = 'ParentNotRecordedError';
  }
}

/** Parents before children: records of a batch may nest (build, node, rerun). */
function generations(records: ExecutionRecord[]): ExecutionRecord[][] {
  const keys = new Set(records.map((r) => r.key));
  const placed = new Set<string>();
  const out: ExecutionRecord[][] = [];
  let left = records;
  while (left.length) {
    const ready = left.filter((r) => !r.parentKey || !keys.has(r.parentKey) || placed.has(r.parentKey));
    if (ready.length === 0) throw new Error('execution records form a cycle');
    ready.forEach((r) => placed.add(r.key));
    out.push(ready);
    left = left.filter((r) => !placed.has(r.key));
  }
  return out;
}

export interface RecordResult {
  /** execution_key -> id */
  ids: Map<string, number>;
  /** Rows inserted or changed. */
  written: number;
}

/** Record executions in the caller's transaction. Re-recording identical data writes nothing. */
export async function recordExecutions(client: PoolClient, records: ExecutionRecord[]): Promise<RecordResult> {
  const unique = [...new Map(records.map((r) => [r.key, r])).values()];
  if (unique.length === 0) return { ids: new Map(), written: 0 };
  const pipelines = await syncPipelines(
    client,
    [...new Map(unique.map((r) => [r.pipeline.name, r.pipeline])).values()].map((p) => ({ name: p.name, type: p.type })),
  );

  const ids = new Map<string, number>();
  let written = 0;
  for (const generation of generations(unique)) {
    const parentKeys = [...new Set(generation.map((r) => r.parentKey).filter((k): k is string => !!k && !ids.has(k)))];
    if (parentKeys.length) {
      const parents = await client.query<{ id: number; execution_key: string }>('SELECT id, execution_key FROM pipeline_execution WHERE execution_key = ANY($1::text[])', [parentKeys]);
      parents.rows.forEach((p) => ids.set(p.execution_key, p.id));
      const missing = parentKeys.filter((k) => !ids.has(k));
      if (missing.length) throw new ParentNotRecordedError(missing);
    }
    const result = await client.query<{ id: number; execution_key: string; parent_id: number | null; inserted: boolean }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::execution_status[], $5::timestamptz[], $6::timestamptz[],
                              $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::jsonb[])
           AS i(execution_key, parent_id, pipeline_id, status, start_date, end_date, inserts, updates, soft_deletes, total_rows, watermark, next_watermark, execution_metadata)
       )
       INSERT INTO pipeline_execution AS e (execution_key, parent_id, pipeline_id, status, start_date, date_recorded, hour_recorded, end_date,
                                            duration_seconds, completed_successfully, inserts, updates, soft_deletes, total_rows,
                                            throughput, watermark, next_watermark, execution_metadata)
       SELECT i.execution_key, i.parent_id, i.pipeline_id, i.status, i.start_date,
              (i.start_date AT TIME ZONE 'UTC')::date, extract(hour FROM i.start_date AT TIME ZONE 'UTC')::smallint, i.end_date,
              extract(epoch FROM i.end_date - i.start_date),
              CASE WHEN i.end_date IS NULL THEN NULL ELSE i.status IN ('success', 'warn') END,
              i.inserts, i.updates, i.soft_deletes, i.total_rows,
              CASE WHEN i.end_date IS NULL OR i.total_rows IS NULL THEN NULL
                   WHEN i.end_date = i.start_date THEN 0
                   ELSE round(i.total_rows / extract(epoch FROM i.end_date - i.start_date), 4) END,
              i.watermark, i.next_watermark, i.execution_metadata
       FROM input i
       ON CONFLICT (execution_key) DO UPDATE SET
         status = EXCLUDED.status, end_date = EXCLUDED.end_date, duration_seconds = EXCLUDED.duration_seconds,
         completed_successfully = EXCLUDED.completed_successfully, inserts = EXCLUDED.inserts, updates = EXCLUDED.updates,
         soft_deletes = EXCLUDED.soft_deletes, total_rows = EXCLUDED.total_rows, throughput = EXCLUDED.throughput,
         execution_metadata = coalesce(e.execution_metadata, '{}'::jsonb) || coalesce(EXCLUDED.execution_metadata, '{}'::jsonb)
       -- an ended execution never goes back to running, and identical data writes nothing
       WHERE e.end_date IS NULL AND EXCLUDED.end_date IS NOT NULL
          OR (e.end_date IS NOT NULL AND EXCLUDED.end_date IS NOT NULL AND (e.status, e.end_date, e.total_rows) IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.end_date, EXCLUDED.total_rows))
       RETURNING e.id, e.execution_key, e.parent_id, (e.xmax = 0) AS inserted`,
      [
        generation.map((r) => r.key),
        generation.map((r) => (r.parentKey ? ids.get(r.parentKey)! : null)),
        generation.map((r) => pipelines.ids.get(r.pipeline.name)!),
        generation.map((r) => r.status),
        generation.map((r) => r.startDate),
        generation.map((r) => r.endDate ?? null),
        generation.map((r) => r.inserts ?? null),
        generation.map((r) => r.updates ?? null),
        generation.map((r) => r.softDeletes ?? null),
        generation.map((r) => r.totalRows ?? null),
        generation.map((r) => r.watermark ?? null),
        generation.map((r) => r.nextWatermark ?? null),
        generation.map((r) => (r.metadata ? JSON.stringify(r.metadata) : null)),
      ],
    );
    written += result.rowCount ?? 0;
    const inserted = result.rows.filter((r) => r.inserted);
    if (inserted.length) {
      // Closure: a self row, then every ancestor of the parent one level further down.
      await client.query(
        `INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
         SELECT x.id, x.id, 0 FROM unnest($1::bigint[]) AS x(id)
         UNION ALL
         SELECT c.parent_execution_id, x.id, c.depth + 1
         FROM unnest($1::bigint[], $2::bigint[]) AS x(id, parent_id)
         JOIN pipeline_execution_closure c ON c.child_execution_id = x.parent_id
         ON CONFLICT DO NOTHING`,
        [inserted.map((r) => r.id), inserted.map((r) => r.parent_id)],
      );
    }
    const known = await client.query<{ id: number; execution_key: string }>('SELECT id, execution_key FROM pipeline_execution WHERE execution_key = ANY($1::text[])', [
      generation.filter((r) => !result.rows.some((x) => x.execution_key === r.key)).map((r) => r.key),
    ]);
    for (const r of [...result.rows, ...known.rows]) ids.set(r.execution_key, r.id);
  }

  await applyPipelineEffects(client, unique, pipelines.ids);
  return { ids, written };
}

/**
 * On a successful end, in the same transaction: each last_target_* where its count > 0, and
 * the watermark promotion for records that ask for it. Never on a failure. A build promotes
 * the range it processed: the next_watermark on its own execution (recorded at its start),
 * never the pipeline's shared next_watermark, which a later or queued build may have set.
 */
async function applyPipelineEffects(client: PoolClient, records: ExecutionRecord[], pipelineIds: Map<string, number>): Promise<void> {
  const ended = records.filter((r) => r.endDate && isPassingNodeStatus(r.status));
  if (ended.length === 0) return;
  await client.query(
    `UPDATE pipeline p SET
       last_target_insert = greatest(p.last_target_insert, u.insert_at),
       last_target_update = greatest(p.last_target_update, u.update_at),
       last_target_soft_delete = greatest(p.last_target_soft_delete, u.delete_at),
       watermark = coalesce(u.promote_to, p.watermark)
     FROM (SELECT t.pipeline_id,
                  max(t.end_date) FILTER (WHERE t.inserts > 0) AS insert_at,
                  max(t.end_date) FILTER (WHERE t.updates > 0) AS update_at,
                  max(t.end_date) FILTER (WHERE t.soft_deletes > 0) AS delete_at,
                  max(own.next_watermark) FILTER (WHERE t.promote) AS promote_to
           FROM unnest($1::int[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bool[], $7::text[])
             AS t(pipeline_id, end_date, inserts, updates, soft_deletes, promote, execution_key)
           LEFT JOIN pipeline_execution own ON own.execution_key = t.execution_key
           GROUP BY t.pipeline_id) u
     WHERE p.id = u.pipeline_id
       AND ((u.insert_at IS NOT NULL AND p.last_target_insert IS DISTINCT FROM greatest(p.last_target_insert, u.insert_at))
         OR (u.update_at IS NOT NULL AND p.last_target_update IS DISTINCT FROM greatest(p.last_target_update, u.update_at))
         OR (u.delete_at IS NOT NULL AND p.last_target_soft_delete IS DISTINCT FROM greatest(p.last_target_soft_delete, u.delete_at))
         OR (u.promote_to IS NOT NULL AND p.watermark IS DISTINCT FROM u.promote_to))`,
    [
      ended.map((r) => pipelineIds.get(r.pipeline.name)!),
      ended.map((r) => r.endDate!),
      ended.map((r) => r.inserts ?? 0),
      ended.map((r) => r.updates ?? 0),
      ended.map((r) => r.softDeletes ?? 0),
      ended.map((r) => r.promoteWatermark === true),
      ended.map((r) => r.key),
    ],
  );
}

/**
 * Ends what a build that closed without recording its end left `running`: its root and every
 * execution under it still open, with the workflow's close time and `status`. Executions that
 * ended keep their result. Returns how many rows it ended (0 when already reconciled).
 */
export async function endAbandonedBuild(client: PoolClient, buildKey: string, status: 'canceled' | 'error', endDate: Date, reason: string): Promise<number> {
  const result = await client.query(
    `UPDATE pipeline_execution e SET
       status = $2::execution_status,
       end_date = greatest($3::timestamptz, e.start_date),
       duration_seconds = extract(epoch FROM greatest($3::timestamptz, e.start_date) - e.start_date),
       completed_successfully = false,
       execution_metadata = coalesce(e.execution_metadata, '{}'::jsonb) || jsonb_build_object('ended_by', 'reconciliation', 'reason', $4::text)
     FROM pipeline_execution root
     JOIN pipeline_execution_closure c ON c.parent_execution_id = root.id
     WHERE root.execution_key = $1 AND e.id = c.child_execution_id AND e.end_date IS NULL`,
    [buildKey, status, endDate.toISOString(), reason],
  );
  return result.rowCount ?? 0;
}
