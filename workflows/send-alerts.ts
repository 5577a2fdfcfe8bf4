// How workflows send alerts: in batches through the notifier's `sendAlerts` activity with its
// policy (retried without a limit, so a receiver that is down only delays them). Only a failure no
// retry can fix (a channel answered 4xx, a bad channel config) ends a batch: the caller still
// completes with what it found, and says why alerts are missing.
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { SEND_ALERTS_ACTIVITY_OPTIONS } from '../src/monitoring/delivery-policy.js';

const { sendAlerts } = proxyActivities<Pick<WatcherActivities, 'sendAlerts'>>(SEND_ALERTS_ACTIVITY_OPTIONS);

/** Alerts per sendAlerts call: keeps each activity's input and duration small. */
export const ALERT_BATCH = 50;

/** Send every alert, a batch at a time; returns why some were not delivered (empty when all were). */
export async function sendAlertBatches(alerts: Alert[]): Promise<string[]> {
  const errors: string[] = [];
  for (let i = 0; i < alerts.length; i += ALERT_BATCH) {
    try {
      await sendAlerts(alerts.slice(i, i + ALERT_BATCH));
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      errors.push(err.cause?.message ?? err.message);
    }
  }
  return errors;
}

/**
 * Alerts found during a build (its stale sources, a node past its timeliness threshold),
 * delivered apart from it: started as an ABANDONed child, so the build never waits for a
 * receiver, and this workflow outlives it until every alert is out.
 */
export async function deliverAlerts(alerts: Alert[]): Promise<{ alertsSent: number; alertKeys: string[]; alertErrors?: string[] }> {
  const alertErrors = await sendAlertBatches(alerts);
  return { alertsSent: alerts.length, alertKeys: alerts.map((a) => a.idempotencyKey), ...(alertErrors.length ? { alertErrors } : {}) };
}
