// Anomaly detection after a build is recorded: the build's root execution and each of its
// successful node (and rerun) executions, found through the closure of the build's execution key,
// are checked against their pipelines' active rules (etl-watcher's detection, ./anomaly.ts), then
// every flagged result of the build is returned for its alert (the same alert and key as the
// anomalyAlerts check: `anomaly:<execution id>:<rule id>`, so it is sent once whoever sends it).
import { withTransaction, type Pool } from '../store/db.js';
import { detectAnomalies } from './anomaly.js';
import { anomaliesOfExecutions, type RecentAnomaly } from './recent-anomalies.js';

export interface BuildAnomalies {
  /** Successful executions of the build whose pipeline has an active rule. */
  checked: number;
  /** Of those, executions detection ran on now (the others had run before: flags set). */
  detected: number;
  anomalies: RecentAnomaly[];
}

/**
 * Idempotent: an execution whose flags are set (detection found something, or someone unflagged
 * it) is not detected again, and what is returned is read back from the results, so a retry after
 * a partial run returns every anomaly of the build once. `now` is the moment judged (fixed by the
 * caller's workflow, so every attempt judges the same baseline).
 */
export async function detectBuildAnomalies(pool: Pool, buildExecutionKey: string, now: Date, progress?: () => void): Promise<BuildAnomalies> {
  const candidates = await pool.query<{ id: number; flagged: boolean }>(
    `SELECT e.id, e.anomaly_flags IS NOT NULL AS flagged
     FROM pipeline_execution root
     JOIN pipeline_execution_closure c ON c.parent_execution_id = root.id
     JOIN pipeline_execution e ON e.id = c.child_execution_id
     WHERE root.execution_key = $1 AND e.completed_successfully
       AND EXISTS (SELECT 1 FROM anomaly_detection_rule ru WHERE ru.pipeline_id = e.pipeline_id AND ru.active)
     ORDER BY e.id`,
    [buildExecutionKey],
  );
  let detected = 0;
  for (const c of candidates.rows) {
    if (c.flagged) continue;
    await withTransaction(pool, (client) => detectAnomalies(client, c.id, now));
    detected++;
    progress?.();
  }
  const anomalies = await anomaliesOfExecutions(pool, candidates.rows.map((c) => c.id));
  return { checked: candidates.rows.length, detected, anomalies };
}
