// Log cleanup (etl-watcher's POST /log_cleanup): delete executions started before a cutoff,
// with their closure rows, timeliness logs and anomaly results, and old freshness logs; in
// batches, each its own committed transaction, so a large cleanup never holds long locks.
// Also the alert ledger's settled rows (delivered, or refused with a 4xx) last tried before the
// cutoff: the events they name are that old, so no check finds them again.
// An execution tree is deleted whole or not at all: never while any of its executions is
// still running or started after the cutoff.
import { withTransaction, type Pool } from './db.js';

export interface CleanupCounts {
  freshness_pipeline_log: number;
  timeliness_pipeline_execution_log: number;
  anomaly_detection_result: number;
  pipeline_execution_closure: number;
  pipeline_execution: number;
  alert_delivery: number;
}

export async function cleanupLogs(pool: Pool, options: { retentionDays: number; batchSize: number; now?: Date }): Promise<{ cutoff: Date; deleted: CleanupCounts }> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.retentionDays * 86_400_000);
  const deleted: CleanupCounts = { freshness_pipeline_log: 0, timeliness_pipeline_execution_log: 0, anomaly_detection_result: 0, pipeline_execution_closure: 0, pipeline_execution: 0, alert_delivery: 0 };

  // Freshness logs, except the one for a pipeline's current last DML (deleting it would alert again).
  for (;;) {
    const batch = await pool.query(
      `DELETE FROM freshness_pipeline_log WHERE id IN (
         SELECT l.id FROM freshness_pipeline_log l JOIN pipeline p ON p.id = l.pipeline_id
         WHERE l.evaluation_timestamp < $1
           AND l.last_dml_timestamp IS DISTINCT FROM greatest(p.last_target_insert, p.last_target_update, p.last_target_soft_delete)
         ORDER BY l.id LIMIT $2)`,
      [cutoff, options.batchSize],
    );
    deleted.freshness_pipeline_log += batch.rowCount ?? 0;
    if ((batch.rowCount ?? 0) < options.batchSize) break;
  }

  for (;;) {
    const ids = await withTransaction(pool, async (client) => {
      // Old ended executions none of whose trees (through any ancestor) has a running or recent member.
      const batch = await client.query<{ id: number }>(
        `SELECT e.id FROM pipeline_execution e
         WHERE e.start_date < $1 AND e.end_date IS NOT NULL
           AND NOT EXISTS (
             SELECT 1 FROM pipeline_execution_closure up
             JOIN pipeline_execution_closure down ON down.parent_execution_id = up.parent_execution_id
             JOIN pipeline_execution m ON m.id = down.child_execution_id
             WHERE up.child_execution_id = e.id AND (m.end_date IS NULL OR m.start_date >= $1))
         ORDER BY e.id LIMIT $2
         FOR UPDATE OF e SKIP LOCKED`,
        [cutoff, options.batchSize],
      );
      const batchIds = batch.rows.map((r) => r.id);
      if (batchIds.length === 0) return batchIds;
      const count = async (sql: string) => (await client.query(sql, [batchIds])).rowCount ?? 0;
      deleted.timeliness_pipeline_execution_log += await count('DELETE FROM timeliness_pipeline_execution_log WHERE pipeline_execution_id = ANY($1::bigint[])');
      deleted.anomaly_detection_result += await count('DELETE FROM anomaly_detection_result WHERE pipeline_execution_id = ANY($1::bigint[])');
      deleted.pipeline_execution_closure += await count(
        'DELETE FROM pipeline_execution_closure WHERE child_execution_id = ANY($1::bigint[]) OR parent_execution_id = ANY($1::bigint[])',
      );
      deleted.pipeline_execution += await count('DELETE FROM pipeline_execution WHERE id = ANY($1::bigint[])');
      return batchIds;
    });
    if (ids.length < options.batchSize) break;
  }

  // Pending rows (sending, retrying) stay whatever their age: their alert is still on its way.
  for (;;) {
    const batch = await pool.query(
      `DELETE FROM alert_delivery WHERE (channel, idempotency_key) IN (
         SELECT channel, idempotency_key FROM alert_delivery
         WHERE status IN ('delivered', 'failed') AND last_attempt_at < $1
         ORDER BY last_attempt_at LIMIT $2)`,
      [cutoff, options.batchSize],
    );
    deleted.alert_delivery += batch.rowCount ?? 0;
    if ((batch.rowCount ?? 0) < options.batchSize) break;
  }
  return { cutoff, deleted };
}
