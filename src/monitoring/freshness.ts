// Freshness: has a pipeline written to its targets recently enough? last_dml is the latest of
// its last_target_* timestamps (set at successful ends with a count > 0); stale when
// last_dml + N datepart < now. Each stale (pipeline, last_dml) is logged once, so each stale
// DML value alerts once. Notifying is not done here: the new findings are returned.
import type { Pool } from '../store/db.js';
import { addDatepart, resolveThreshold, type CheckConfig, type Datepart, type Threshold } from './thresholds.js';

export interface FreshnessCandidate {
  /** Latest of last_target_insert/update/soft_delete; null when the pipeline never wrote. */
  lastDml: Date | null;
  own: CheckConfig;
  type: CheckConfig;
  /** mute_freshness_check on the pipeline or on its type. */
  muted: boolean;
}

export interface FreshnessEvaluation {
  kind: 'fresh' | 'stale';
  lastDml: Date;
  dueBy: Date;
  threshold: Threshold;
}

export type FreshnessDecision = { kind: 'skip'; reason: 'muted' | 'no_dml' | 'no_threshold' } | FreshnessEvaluation;

export function decideFreshness(c: FreshnessCandidate, now: Date): FreshnessDecision {
  if (c.muted) return { kind: 'skip', reason: 'muted' };
  if (!c.lastDml) return { kind: 'skip', reason: 'no_dml' };
  const threshold = resolveThreshold(c.own, c.type);
  if (!threshold) return { kind: 'skip', reason: 'no_threshold' };
  const dueBy = addDatepart(c.lastDml, threshold.number, threshold.datepart);
  return { kind: dueBy < now ? 'stale' : 'fresh', lastDml: c.lastDml, dueBy, threshold };
}

export interface FreshnessAlert {
  pipeline_id: number;
  pipeline_name: string;
  last_dml_timestamp: string;
  due_by: string;
  freshness_number: number;
  freshness_datepart: Datepart;
  used_child_config: boolean;
}

export interface FreshnessReport {
  status: 'completed';
  evaluated: number;
  skipped: number;
  stale: number;
  /** Stale DML values logged by this run (never logged before): what a notifier alerts on. */
  new_alerts: FreshnessAlert[];
}

interface CandidateRow {
  id: number;
  name: string;
  last_dml: Date | null;
  /** last_dml as Postgres text, so the log keeps its exact microseconds. */
  last_dml_text: string | null;
  own_number: number | null;
  own_datepart: Datepart | null;
  type_number: number | null;
  type_datepart: Datepart | null;
  muted: boolean;
}

/** Every pipeline's freshness inputs, or only those of the pipelines with these ids. */
function freshnessCandidates(pool: Pool, pipelineIds?: readonly number[]) {
  return pool.query<CandidateRow>(
    `SELECT p.id, p.name,
            greatest(p.last_target_insert, p.last_target_update, p.last_target_soft_delete) AS last_dml,
            greatest(p.last_target_insert, p.last_target_update, p.last_target_soft_delete)::text AS last_dml_text,
            p.freshness_number AS own_number, p.freshness_datepart AS own_datepart,
            t.freshness_number AS type_number, t.freshness_datepart AS type_datepart,
            (p.mute_freshness_check OR t.mute_freshness_check) AS muted
     FROM pipeline p JOIN pipeline_type t ON t.id = p.pipeline_type_id
     WHERE $1::int[] IS NULL OR p.id = ANY($1::int[])`,
    [pipelineIds ?? null],
  );
}

function decideCandidate(row: CandidateRow, now: Date): FreshnessDecision {
  return decideFreshness(
    { lastDml: row.last_dml, own: { number: row.own_number, datepart: row.own_datepart }, type: { number: row.type_number, datepart: row.type_datepart }, muted: row.muted },
    now,
  );
}

/** The freshness decision of each pipeline named by id, now (read only: nothing is logged). */
export async function freshnessOf(pool: Pool, pipelineIds: readonly number[], now = new Date()): Promise<Map<number, FreshnessDecision>> {
  if (pipelineIds.length === 0) return new Map();
  const candidates = await freshnessCandidates(pool, pipelineIds);
  return new Map(candidates.rows.map((row) => [row.id, decideCandidate(row, now)]));
}

/** Run the freshness check now over every pipeline; log and return the new stale findings. */
export async function runFreshnessCheck(pool: Pool, now = new Date()): Promise<FreshnessReport> {
  const candidates = await freshnessCandidates(pool);
  let skipped = 0;
  const stale: Array<{ row: CandidateRow; decision: FreshnessEvaluation }> = [];
  for (const row of candidates.rows) {
    const decision = decideCandidate(row, now);
    if (decision.kind === 'skip') skipped++;
    else if (decision.kind === 'stale') stale.push({ row, decision });
  }
  if (stale.length === 0) return { status: 'completed', evaluated: candidates.rows.length - skipped, skipped, stale: 0, new_alerts: [] };

  // ON CONFLICT: a (pipeline, last_dml) already logged is not new, and concurrent runs log it once.
  const inserted = await pool.query<{ pipeline_id: number }>(
    `INSERT INTO freshness_pipeline_log (pipeline_id, last_dml_timestamp, evaluation_timestamp, freshness_number, freshness_datepart, used_child_config)
     SELECT * FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::datepart[], $6::bool[])
     ON CONFLICT (pipeline_id, last_dml_timestamp) DO NOTHING
     RETURNING pipeline_id`,
    [
      stale.map((s) => s.row.id),
      stale.map((s) => s.row.last_dml_text),
      stale.map(() => now),
      stale.map((s) => s.decision.threshold.number),
      stale.map((s) => s.decision.threshold.datepart),
      stale.map((s) => s.decision.threshold.usedChildConfig),
    ],
  );
  const newlyLogged = new Set(inserted.rows.map((r) => r.pipeline_id));
  return {
    status: 'completed',
    evaluated: candidates.rows.length - skipped,
    skipped,
    stale: stale.length,
    new_alerts: stale
      .filter((s) => newlyLogged.has(s.row.id))
      .map(({ row, decision }) => ({
        pipeline_id: row.id,
        pipeline_name: row.name,
        last_dml_timestamp: decision.lastDml.toISOString(),
        due_by: decision.dueBy.toISOString(),
        freshness_number: decision.threshold.number,
        freshness_datepart: decision.threshold.datepart,
        used_child_config: decision.threshold.usedChildConfig,
      })),
  };
}

interface LoggedRow {
  pipeline_id: number;
  name: string;
  last_dml_timestamp: Date;
  freshness_number: number;
  freshness_datepart: Datepart;
  used_child_config: boolean;
}

/**
 * The stale findings that a run evaluating at `evaluatedAt` logged. A retried run of the same
 * moment (its activity committed, then its worker died before reporting) finds them logged
 * already: this is how it still alerts them, so a crash never loses an alert.
 */
export async function freshnessAlertsLoggedAt(pool: Pool, evaluatedAt: Date): Promise<FreshnessAlert[]> {
  const rows = await pool.query<LoggedRow>(
    `SELECT l.pipeline_id, p.name, l.last_dml_timestamp, l.freshness_number, l.freshness_datepart, l.used_child_config
     FROM freshness_pipeline_log l JOIN pipeline p ON p.id = l.pipeline_id
     WHERE l.evaluation_timestamp = $1
     ORDER BY l.pipeline_id`,
    [evaluatedAt],
  );
  return rows.rows.map((r) => ({
    pipeline_id: r.pipeline_id,
    pipeline_name: r.name,
    last_dml_timestamp: r.last_dml_timestamp.toISOString(),
    due_by: addDatepart(r.last_dml_timestamp, r.freshness_number, r.freshness_datepart).toISOString(),
    freshness_number: r.freshness_number,
    freshness_datepart: r.freshness_datepart,
    used_child_config: r.used_child_config,
  }));
}
