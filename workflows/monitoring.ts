// The monitoring checks as workflows, one per check, started by their Schedules
// (src/monitoring/check-schedules.ts) or now by `watcher check`. Each runs its check activity,
// then hands the alerts to the notifier's `sendAlerts` activity. Both are retried without a
// limit: a Postgres outage or a receiver that is down only delays a check, and nothing found is
// lost (the findings are in this workflow's history until the alerts are out).
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import {
  CheckInputSchema,
  LogCleanupInputSchema,
  type CheckInputRaw,
  type CheckName,
  type CheckSummary,
  type LogCleanupInputRaw,
  type LogCleanupSummary,
} from '../src/contracts/checks.js';
import { FailureTypes } from '../src/contracts/status.js';
import { describeZodError } from '../src/contracts/validation.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { SEND_ALERTS_ACTIVITY_OPTIONS } from '../src/monitoring/delivery-policy.js';

// Unlimited attempts (no maximumAttempts): the check waits out a Postgres outage.
const checkRetry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [FailureTypes.invalidInput, 'NoMetadataStore'] };
// A check is a few queries: a lost worker is noticed within minutes, not after a long timeout.
const { runCheck } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '5 minutes', retry: checkRetry });
const { cleanupLogs } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '1 hour', retry: checkRetry });
// The notifier's policy: unlimited retries, so a receiver down for hours still gets every alert.
const { sendAlerts } = proxyActivities<Pick<WatcherActivities, 'sendAlerts'>>(SEND_ALERTS_ACTIVITY_OPTIONS);

/** Alerts per sendAlerts call: keeps each activity's input and duration small. */
const ALERT_BATCH = 50;

function parseOrFail<T>(parse: () => { success: true; data: T } | { success: false; error: Parameters<typeof describeZodError>[0] }, what: string): T {
  const parsed = parse();
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid ${what} input: ${describeZodError(parsed.error)}`, FailureTypes.invalidInput);
  return parsed.data;
}

/** Send alerts in batches; returns why some could not be delivered (a failure no retry fixes). */
async function sendInBatches(alerts: Alert[]): Promise<string[]> {
  const alertErrors: string[] = [];
  for (let i = 0; i < alerts.length; i += ALERT_BATCH) {
    try {
      await sendAlerts(alerts.slice(i, i + ALERT_BATCH));
    } catch (err) {
      // Only a failure no retry can fix ends the activity (a channel answered 4xx, a bad channel
      // config): the caller still completes, and says why alerts are missing.
      if (!(err instanceof ActivityFailure)) throw err;
      alertErrors.push(err.cause?.message ?? err.message);
    }
  }
  return alertErrors;
}

async function runAndAlert(check: CheckName, raw: Record<string, unknown>): Promise<CheckSummary> {
  // Validated here too, so a Schedule with bad arguments fails its run at once, naming the field.
  const input = parseOrFail(() => CheckInputSchema.safeParse({ ...raw, check }), `${check} check`);
  // The workflow's clock, fixed in its history: every attempt of the check judges this moment.
  const { alerts, ...found } = await runCheck(input, { asOf: new Date().toISOString() });
  const alertErrors = await sendInBatches(alerts);
  return { ...found, alertsSent: alerts.length, alertKeys: alerts.map((a) => a.idempotencyKey), ...(alertErrors.length ? { alertErrors } : {}) };
}

/**
 * Alerts a build found (its stale sources), delivered apart from the build: a build never
 * waits for a receiver, and this workflow outlives it until every alert is out.
 */
export async function deliverAlerts(alerts: Alert[]): Promise<{ alertsSent: number; alertKeys: string[]; alertErrors?: string[] }> {
  const alertErrors = await sendInBatches(alerts);
  return { alertsSent: alerts.length, alertKeys: alerts.map((a) => a.idempotencyKey), ...(alertErrors.length ? { alertErrors } : {}) };
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
  const input = parseOrFail(() => LogCleanupInputSchema.safeParse(raw), 'log cleanup');
  return cleanupLogs(input);
}
