// Timeliness: did an execution take longer than its pipeline allows? Over executions started
// inside the lookback: threshold = start + N datepart; a running one past it is late
// ('running'), a successful one that ended past it is late ('completed'); failed ones are
// ignored. Each execution is logged at most once (the log's key is the execution id), so it
// alerts once. Notifying is not done here: the new findings are returned.
// Exact timeliness (workflows/timeliness-timer.ts) shares this module's decision: a build's or
// node's own workflow alerts at the due moment, and its execution is logged here when it ends
// (logFinishedLate). decideTimeliness and lateFinding are pure and workflow-safe (the store is
// imported as a type only).
import type { Pool, PoolClient } from '../store/db.js';
import { addDatepart, resolveThreshold, type CheckConfig, type Datepart, type Threshold } from './thresholds.js';

type Queryable = Pool | PoolClient;

export const DEFAULT_LOOKBACK_MINUTES = 60;

export interface TimelinessCandidate {
  startDate: Date;
  endDate: Date | null;
  completedSuccessfully: boolean | null;
  own: CheckConfig;
  type: CheckConfig;
}

export type LateDecision = Extract<TimelinessDecision, { kind: 'late' }>;

export type TimelinessDecision =
  | { kind: 'skip'; reason: 'failed' | 'no_threshold' }
  | { kind: 'on_time'; dueBy: Date; threshold: Threshold }
  | { kind: 'late'; status: 'running' | 'completed'; dueBy: Date; threshold: Threshold; durationSeconds: number; secondsThreshold: number };

export function decideTimeliness(c: TimelinessCandidate, now: Date): TimelinessDecision {
  if (c.endDate !== null && c.completedSuccessfully !== true) return { kind: 'skip', reason: 'failed' };
  const threshold = resolveThreshold(c.own, c.type);
  if (!threshold) return { kind: 'skip', reason: 'no_threshold' };
  const dueBy = addDatepart(c.startDate, threshold.number, threshold.datepart);
  const until = c.endDate ?? now;
  if (!(until > dueBy)) return { kind: 'on_time', dueBy, threshold };
  return {
    kind: 'late',
    status: c.endDate === null ? 'running' : 'completed',
    dueBy,
    threshold,
    durationSeconds: (until.getTime() - c.startDate.getTime()) / 1000,
    // the log's column is an integer: a threshold past 68 years is stored as the largest one
    secondsThreshold: Math.min(Math.round((dueBy.getTime() - c.startDate.getTime()) / 1000), 2_147_483_647),
  };
}

/** A late execution as an alert says it: by its natural key (the alert's identity), ids when recorded. */
export interface LateFinding {
  /** Absent on a timer's alert: a running node is recorded when it ends. */
  pipeline_execution_id?: number;
  pipeline_id?: number;
  /** pipeline_execution.execution_key: the alert's key, the same for the timer and the check. */
  execution_key: string;
  pipeline_name: string;
  execution_status: 'running' | 'completed';
  start_date: string;
  due_by: string;
  duration_seconds: number;
  seconds_threshold: number;
  timely_number: number;
  timely_datepart: Datepart;
  used_child_config: boolean;
}

/** What the check finds: a recorded execution. */
export interface TimelinessAlert extends LateFinding {
  pipeline_execution_id: number;
  pipeline_id: number;
}

/** The one way a late decision reads as a finding (the check, the timers, the end-of-run log). */
export function lateFinding(e: { executionKey: string; pipelineName: string; startDate: Date }, d: LateDecision): LateFinding {
  return {
    execution_key: e.executionKey,
    pipeline_name: e.pipelineName,
    execution_status: d.status,
    start_date: e.startDate.toISOString(),
    due_by: d.dueBy.toISOString(),
    duration_seconds: d.durationSeconds,
    seconds_threshold: d.secondsThreshold,
    timely_number: d.threshold.number,
    timely_datepart: d.threshold.datepart,
    used_child_config: d.threshold.usedChildConfig,
  };
}

export interface TimelinessReport {
  status: 'completed';
  lookback_minutes: number;
  evaluated: number;
  late: number;
  /** Late executions logged by this run (never logged before): what a notifier alerts on. */
  new_alerts: TimelinessAlert[];
}

interface CandidateRow {
  id: number;
  pipeline_id: number;
  execution_key: string;
  name: string;
  start_date: Date;
  end_date: Date | null;
  completed_successfully: boolean | null;
  own_number: number | null;
  own_datepart: Datepart | null;
  type_number: number | null;
  type_datepart: Datepart | null;
}

type Late = { row: CandidateRow; decision: LateDecision };

/** The candidate columns: the execution, its pipeline's and its type's thresholds. */
const CANDIDATE_COLUMNS = `e.id, e.pipeline_id, e.execution_key, p.name, e.start_date, e.end_date, e.completed_successfully,
            p.timeliness_number AS own_number, p.timeliness_datepart AS own_datepart,
            t.timeliness_number AS type_number, t.timeliness_datepart AS type_datepart
     FROM pipeline_execution e
     JOIN pipeline p ON p.id = e.pipeline_id
     JOIN pipeline_type t ON t.id = p.pipeline_type_id`;
const UNMUTED = 'NOT p.mute_timeliness_check AND NOT t.mute_timeliness_check';

function lateOf(rows: CandidateRow[], now: Date): Late[] {
  const late: Late[] = [];
  for (const row of rows) {
    const decision = decideTimeliness(
      {
        startDate: row.start_date,
        endDate: row.end_date,
        completedSuccessfully: row.completed_successfully,
        own: { number: row.own_number, datepart: row.own_datepart },
        type: { number: row.type_number, datepart: row.type_datepart },
      },
      now,
    );
    if (decision.kind === 'late') late.push({ row, decision });
  }
  return late;
}

/** One log row per execution (the first finding stays); returns the executions logged now. `at` null: the transaction's time. */
async function logLate(db: Queryable, late: Late[], at: Date | null): Promise<Set<number>> {
  if (late.length === 0) return new Set();
  const inserted = await db.query<{ pipeline_execution_id: number }>(
    `INSERT INTO timeliness_pipeline_execution_log (pipeline_execution_id, pipeline_id, duration_seconds, seconds_threshold, execution_status, timely_number, timely_datepart, used_child_config, created_at)
     SELECT u.*, coalesce($9::timestamptz, now()) FROM unnest($1::bigint[], $2::int[], $3::numeric[], $4::int[], $5::text[], $6::int[], $7::datepart[], $8::bool[]) AS u
     ON CONFLICT (pipeline_execution_id) DO NOTHING
     RETURNING pipeline_execution_id`,
    [
      late.map((l) => l.row.id),
      late.map((l) => l.row.pipeline_id),
      late.map((l) => l.decision.durationSeconds),
      late.map((l) => l.decision.secondsThreshold),
      late.map((l) => l.decision.status),
      late.map((l) => l.decision.threshold.number),
      late.map((l) => l.decision.threshold.datepart),
      late.map((l) => l.decision.threshold.usedChildConfig),
      at,
    ],
  );
  return new Set(inserted.rows.map((r) => r.pipeline_execution_id));
}

/** Run the timeliness check now over executions started in the last `lookbackMinutes`. */
export async function runTimelinessCheck(pool: Pool, lookbackMinutes = DEFAULT_LOOKBACK_MINUTES, now = new Date()): Promise<TimelinessReport> {
  // Unmuted, not failed, not logged yet; the threshold itself is decided below.
  const candidates = await pool.query<CandidateRow>(
    `SELECT ${CANDIDATE_COLUMNS}
     WHERE e.start_date >= $1::timestamptz - make_interval(mins => $2)
       AND ${UNMUTED}
       AND (e.end_date IS NULL OR e.completed_successfully)
       AND NOT EXISTS (SELECT 1 FROM timeliness_pipeline_execution_log l WHERE l.pipeline_execution_id = e.id)`,
    [now, lookbackMinutes],
  );
  const late = lateOf(candidates.rows, now);
  const report = { status: 'completed' as const, lookback_minutes: lookbackMinutes, evaluated: candidates.rows.length, late: late.length };
  if (late.length === 0) return { ...report, new_alerts: [] };
  // created_at is the evaluation moment, so a retried run of the same moment finds what it logged (timelinessAlertsLoggedAt).
  const newlyLogged = await logLate(pool, late, now);
  return {
    ...report,
    new_alerts: late
      .filter((l) => newlyLogged.has(l.row.id))
      .map(({ row, decision }) => ({
        pipeline_execution_id: row.id,
        pipeline_id: row.pipeline_id,
        ...lateFinding({ executionKey: row.execution_key, pipelineName: row.name, startDate: row.start_date }, decision),
      })),
  };
}

/**
 * When executions that a workflow's timer watched are recorded as ended (src/store/executions.ts):
 * log each one that succeeded past its threshold, unless muted, as `completed` (an execution
 * logged before, e.g. by the check while it ran, keeps its one row). Its alert is its workflow's
 * (the timer's, or its end's); the check no longer sees a logged execution, so it never alerts it
 * again. Returns how many rows were inserted.
 */
export async function logFinishedLate(db: Queryable, executionIds: number[]): Promise<number> {
  if (executionIds.length === 0) return 0;
  const rows = await db.query<CandidateRow>(
    `SELECT ${CANDIDATE_COLUMNS}
     WHERE e.id = ANY($1::bigint[]) AND e.end_date IS NOT NULL AND e.completed_successfully AND ${UNMUTED}`,
    [executionIds],
  );
  return (await logLate(db, lateOf(rows.rows, new Date()), null)).size;
}

/** The thresholds a workflow's timer uses for one pipeline: its own and its type's, or null (none, or muted). */
export interface TimelinessSettings {
  own: CheckConfig;
  type: CheckConfig;
}

/**
 * What the check will judge a pipeline's executions by, read when one starts: the pipeline's row
 * and its type's (thresholds and mutes). A pipeline not synced yet uses `fallback` (its
 * `meta.watcher` settings) as its own, and the type named.
 */
export async function timelinessSettingsOf(
  db: Queryable,
  pipeline: { name: string; type: string; fallback?: { timeliness?: { number: number; datepart: Datepart }; muted?: boolean } },
): Promise<TimelinessSettings | null> {
  const r = await db.query<{
    known: boolean;
    own_number: number | null;
    own_datepart: Datepart | null;
    own_mute: boolean | null;
    type_number: number | null;
    type_datepart: Datepart | null;
    type_mute: boolean | null;
  }>(
    `SELECT p.id IS NOT NULL AS known, p.timeliness_number AS own_number, p.timeliness_datepart AS own_datepart, p.mute_timeliness_check AS own_mute,
            t.timeliness_number AS type_number, t.timeliness_datepart AS type_datepart, t.mute_timeliness_check AS type_mute
     FROM (SELECT 1) one
     LEFT JOIN pipeline p ON p.name = $1
     LEFT JOIN pipeline_type t ON t.id = coalesce(p.pipeline_type_id, (SELECT id FROM pipeline_type WHERE name = $2))`,
    [pipeline.name, pipeline.type],
  );
  const row = r.rows[0]!;
  const fallback = pipeline.fallback;
  const own: CheckConfig = row.known
    ? { number: row.own_number, datepart: row.own_datepart }
    : { number: fallback?.timeliness?.number ?? null, datepart: fallback?.timeliness?.datepart ?? null };
  const muted = (row.known ? row.own_mute === true : fallback?.muted === true) || row.type_mute === true;
  const type: CheckConfig = { number: row.type_number, datepart: row.type_datepart };
  if (muted || !resolveThreshold(own, type)) return null;
  return { own, type };
}

interface LoggedRow {
  pipeline_execution_id: number;
  pipeline_id: number;
  execution_key: string;
  name: string;
  start_date: Date;
  duration_seconds: number;
  seconds_threshold: number;
  execution_status: 'running' | 'completed';
  timely_number: number;
  timely_datepart: Datepart;
  used_child_config: boolean;
}

/**
 * The late executions that a run evaluating at `evaluatedAt` logged: a retried run of the same
 * moment (its activity committed, then its worker died before reporting) finds them logged
 * already and no longer a candidate; this is how it still alerts them.
 */
export async function timelinessAlertsLoggedAt(pool: Pool, evaluatedAt: Date): Promise<TimelinessAlert[]> {
  const rows = await pool.query<LoggedRow>(
    `SELECT l.pipeline_execution_id, l.pipeline_id, e.execution_key, p.name, e.start_date, l.duration_seconds, l.seconds_threshold, l.execution_status,
            l.timely_number, l.timely_datepart, l.used_child_config
     FROM timeliness_pipeline_execution_log l
     JOIN pipeline_execution e ON e.id = l.pipeline_execution_id
     JOIN pipeline p ON p.id = l.pipeline_id
     WHERE l.created_at = $1
     ORDER BY l.pipeline_execution_id`,
    [evaluatedAt],
  );
  return rows.rows.map((r) => ({
    pipeline_execution_id: r.pipeline_execution_id,
    pipeline_id: r.pipeline_id,
    execution_key: r.execution_key,
    pipeline_name: r.name,
    execution_status: r.execution_status,
    start_date: r.start_date.toISOString(),
    due_by: addDatepart(r.start_date, r.timely_number, r.timely_datepart).toISOString(),
    duration_seconds: r.duration_seconds,
    seconds_threshold: r.seconds_threshold,
    timely_number: r.timely_number,
    timely_datepart: r.timely_datepart,
    used_child_config: r.used_child_config,
  }));
}
