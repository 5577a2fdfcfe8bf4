// `deliverAlerts`: sends alerts raised by a build's or node's own workflow (its timeliness timer)
// through the notifier's `sendAlerts` activity, with the notifier's policy (retried without a
// limit: a receiver down for minutes still gets the alert, once per channel and key). Started as
// an ABANDONed child, so the workflow that raised the alert never waits for its delivery.
import { proxyActivities } from '@temporalio/workflow';
import type { SendAlertsResult, WatcherActivities } from '../activities/index.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { SEND_ALERTS_ACTIVITY_OPTIONS } from '../src/monitoring/delivery-policy.js';

const { sendAlerts } = proxyActivities<Pick<WatcherActivities, 'sendAlerts'>>(SEND_ALERTS_ACTIVITY_OPTIONS);

export async function deliverAlerts(alerts: Alert[]): Promise<SendAlertsResult> {
  return sendAlerts(alerts);
}
