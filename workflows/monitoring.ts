// The monitoring checks as workflows, one per check, started by their Schedules
// (src/monitoring/check-schedules.ts) or now by `watcher check`. Each runs its check activity,
// then hands the alerts to the notifier's `sendAlerts` activity. Both are retried without a
// limit: a Postgres outage or a receiver that is down only delays a check, and nothing found is
// lost (the findings are in this workflow's history until the alerts are out).
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import {
  checkInputSchema,
  logCleanupInputSchema,
  type CheckInputRaw,
  type CheckName,
  type CheckSummary,
  type LogCleanupInputRaw,
  type LogCleanupSummary,
} from '../src/contracts/checks.js';
import { FailureTypes } from '../src/contracts/status.js';
import { describeZodError } from '../src/contracts/validation.js';
import { sendAlertBatches } from './send-alerts.js';

// Unlimited attempts (no maximumAttempts): the check waits out a Postgres outage.
const checkRetry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [FailureTypes.invalidInput, 'NoMetadataStore'] };
// A check is a few queries: a lost worker is noticed within minutes, not after a long timeout.
const { runCheck } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '5 minutes', retry: checkRetry });
const { cleanupLogs } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '1 hour', retry: checkRetry });

function parseOrFail<T>(parse: () => { success: true; data: T } | { success: false; error: Parameters<typeof describeZodError>[0] }, what: string): T {
  const parsed = parse();
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid ${what} input: ${describeZodError(parsed.error)}`, FailureTypes.invalidInput);
  return parsed.data;
}

async function runAndAlert(check: CheckName, raw: Record<string, unknown>): Promise<CheckSummary> {
  // Validated here too, so a Schedule with bad arguments fails its run at once, naming the field.
  const input = parseOrFail(() => checkInputSchema().safeParse({ ...raw, check }), `${check} check`);
  // The workflow's clock, fixed in its history: every attempt of the check judges this moment.
  const { alerts, ...found } = await runCheck(input, { asOf: new Date().toISOString() });
  // A channel that refuses them does not fail the check: it completes with what it found.
  const alertErrors = await sendAlertBatches(alerts);
  return { ...found, alertsSent: alerts.length, alertKeys: alerts.map((a) => a.idempotencyKey), ...(alertErrors.length ? { alertErrors } : {}) };
}

type Without<K extends string> = Omit<Extract<CheckInputRaw, { check: K }>, 'check'>;

/** Stale pipelines: each stale DML value alerts once. */
export async function freshnessCheck(input: Without<'freshness'> = {}): Promise<CheckSummary> {
  return runAndAlert('freshness', input);
}

/** Executions running or finished past their timeliness threshold: once per execution. */
export async function timelinessCheck(input: Without<'timeliness'> = {}): Promise<CheckSummary> {
  return runAndAlert('timeliness', input);
}

/** Pipelines where more than N% of the window's executions failed: once per pipeline per window. */
export async function failureRateCheck(input: Without<'failures'> = {}): Promise<CheckSummary> {
  return runAndAlert('failures', input);
}

/** Anomalies detected lately (detection itself runs when an execution ends): once per result. */
export async function anomalyAlerts(input: Without<'anomalies'> = {}): Promise<CheckSummary> {
  return runAndAlert('anomalies', input);
}

/** Executions, closure rows and check logs older than the retention, in batches. */
export async function logCleanup(raw: LogCleanupInputRaw = {}): Promise<LogCleanupSummary> {
  const input = parseOrFail(() => logCleanupInputSchema().safeParse(raw), 'log cleanup');
  return cleanupLogs(input);
}
