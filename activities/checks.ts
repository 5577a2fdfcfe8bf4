// The monitoring checks as activities: each runs its src/monitoring check against the store and
// returns what it found with the Alerts to send (the workflow sends them through the notifier's
// activity). Thin: deciding and querying live in src/monitoring and src/store.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { checkInputSchema, logCleanupInputSchema, type CheckFinding, type CheckInputRaw, type CheckResult, type LogCleanupInputRaw, type LogCleanupSummary } from '../src/contracts/checks.js';
import { FailureTypes } from '../src/contracts/status.js';
import { parseInput } from '../src/contracts/validation.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { anomalyAlert, failureRateAlert, freshnessAlert, timelinessAlert } from '../src/monitoring/check-alerts.js';
import { runFailureRateCheck } from '../src/monitoring/failure-rate.js';
import { freshnessAlertsLoggedAt, runFreshnessCheck, type FreshnessAlert } from '../src/monitoring/freshness.js';
import { recentAnomalies } from '../src/monitoring/recent-anomalies.js';
import { runTimelinessCheck, timelinessAlertsLoggedAt, type TimelinessAlert } from '../src/monitoring/timeliness.js';
import type { Pool } from '../src/store/db.js';
import { cleanupLogs as cleanupStoreLogs } from '../src/store/log-cleanup.js';
import type { ActivityDeps } from './deps.js';

/** Findings listed in a result at most: a workflow result stays far below Temporal's payload limit. */
export const MAX_LISTED_FINDINGS = 500;

function storeOf(deps: ActivityDeps): Pool {
  // Retrying cannot give a worker a database: fail the check at once, saying why.
  if (!deps.store) throw ApplicationFailure.nonRetryable('the worker has no metadata database (DATABASE_URL): checks read it', 'NoMetadataStore');
  return deps.store;
}

/** Bad input fails at once, naming the field; anything else (Postgres down) is retried by the workflow. */
function validated<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw ApplicationFailure.nonRetryable(err instanceof Error ? err.message : String(err), FailureTypes.invalidInput);
  }
}

function result(check: CheckResult['check'], evaluated: number, found: number, rows: CheckFinding[], alerts: Alert[]): CheckResult {
  return { check, evaluated, found, findings: rows.slice(0, MAX_LISTED_FINDINGS), truncated: rows.length > MAX_LISTED_FINDINGS, alerts };
}

export interface RunCheckOptions {
  /**
   * The moment the check evaluates at (ISO), fixed by its workflow: every attempt of the activity
   * judges the same moment, and a retry finds what an earlier attempt logged (see withLogged).
   */
  asOf?: string;
}

/**
 * The new findings of this attempt, plus, on a retry, those an earlier attempt of the same moment
 * logged: it may have committed and then lost its worker before reporting them, and its log rows
 * now keep this attempt from seeing them as new. Without this, that alert would be lost.
 */
async function withLogged<T>(found: T[], logged: () => Promise<T[]>, key: (t: T) => string | number): Promise<T[]> {
  if (Context.current().info.attempt <= 1) return found;
  const seen = new Set(found.map(key));
  return [...found, ...(await logged()).filter((t) => !seen.has(key(t)))];
}

export async function runCheck(deps: ActivityDeps, raw: CheckInputRaw, options: RunCheckOptions = {}): Promise<CheckResult> {
  const input = validated(() => parseInput(checkInputSchema(), raw, 'check'));
  const now = options.asOf === undefined ? new Date() : new Date(options.asOf);
  if (Number.isNaN(now.getTime())) throw ApplicationFailure.nonRetryable(`asOf: not a time: ${JSON.stringify(options.asOf)}`, FailureTypes.invalidInput);
  const pool = storeOf(deps);
  const at = now.toISOString();
  switch (input.check) {
    case 'freshness': {
      const report = await runFreshnessCheck(pool, now);
      const found = await withLogged<FreshnessAlert>(report.new_alerts, () => freshnessAlertsLoggedAt(pool, now), (f) => f.pipeline_id);
      // `stale` counts every stale pipeline; the log keeps each stale DML value once, so only new ones are listed and alerted.
      return result('freshness', report.evaluated, report.stale, found.map((f) => ({ ...f })), found.map((f) => freshnessAlert(f, at)));
    }
    case 'timeliness': {
      const report = await runTimelinessCheck(pool, input.lookbackMinutes, now);
      const found = await withLogged<TimelinessAlert>(report.new_alerts, () => timelinessAlertsLoggedAt(pool, now), (t) => t.pipeline_execution_id);
      return result('timeliness', report.evaluated, Math.max(report.late, found.length), found.map((t) => ({ ...t })), found.map((t) => timelinessAlert(t, at)));
    }
    case 'anomalies': {
      const found = await recentAnomalies(pool, input.lookbackMinutes, now);
      return result('anomalies', found.length, found.length, found.map((a) => ({ ...a })), found.map((a) => anomalyAlert(a, at)));
    }
    case 'failures': {
      const { check: _check, ...rule } = input;
      const report = await runFailureRateCheck(pool, rule, now);
      return result('failures', report.evaluated, report.failing.length, report.failing.map((f) => ({ ...f })), report.failing.map((f) => failureRateAlert(f, at)));
    }
  }
}

export async function cleanupLogs(deps: ActivityDeps, raw: LogCleanupInputRaw): Promise<LogCleanupSummary> {
  const input = validated(() => parseInput(logCleanupInputSchema(), raw, 'log cleanup'));
  const { cutoff, deleted } = await cleanupStoreLogs(storeOf(deps), input);
  return { retentionDays: input.retentionDays, cutoff: cutoff.toISOString(), deleted: { ...deleted } };
}
