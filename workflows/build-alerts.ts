// The post-build workflow `dbtBuildAlerts`, started by dbtBuild once its records are stored (not
// when it was canceled) and abandoned by it, so a receiver that is down for minutes never holds
// the build open. It sends a failed build's alerts (build_failed, node_failed), then runs anomaly
// detection over the build's recorded executions and sends the anomalies it flagged, with the
// anomalyAlerts check's keys (so that check never sends them again). Everything is retried
// without a limit: a Postgres outage or a receiver that is down only delays the alerts.
import { proxyActivities } from '@temporalio/workflow';
import type { WatcherActivities } from '../activities/index.js';
import { FailureTypes } from '../src/contracts/status.js';
import type { BuildAlertsInput } from '../src/monitoring/build-alerts.js';
import { buildExecutionKey } from '../src/recording/records.js';
import { sendAlertBatches } from './send-alerts.js';

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [FailureTypes.invalidInput] };
// Pure work (the alerts and their links): a lost worker is noticed within a minute.
const { prepareBuildAlerts } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '1 minute', retry });
// One transaction per successful execution of the build: minutes for the largest builds; it heartbeats.
const { detectBuildAnomalies } = proxyActivities<WatcherActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute', retry });

export interface BuildAlertsSummary {
  /** Keys of the alerts handed to the notifier (each is delivered once per channel, whoever sends it). */
  alertKeys: string[];
  /** Successful executions of the build whose pipeline has an active anomaly rule. */
  anomalyChecked: number;
  anomalies: number;
  /** Why some alerts were not delivered (a channel answered 4xx, a bad channel config). */
  alertErrors?: string[];
}

export async function dbtBuildAlerts(input: BuildAlertsInput): Promise<BuildAlertsSummary> {
  // The workflow's clock, fixed in its history: every attempt of detection judges this moment.
  const asOf = new Date().toISOString();
  const failure = await prepareBuildAlerts(input);
  const alertErrors = await sendAlertBatches(failure);
  const detected = await detectBuildAnomalies({ buildExecutionKey: buildExecutionKey(input.workflowId, input.runId), asOf });
  alertErrors.push(...(await sendAlertBatches(detected.alerts)));
  return {
    alertKeys: [...failure, ...detected.alerts].map((a) => a.idempotencyKey),
    anomalyChecked: detected.checked,
    anomalies: detected.alerts.length,
    ...(alertErrors.length ? { alertErrors } : {}),
  };
}
