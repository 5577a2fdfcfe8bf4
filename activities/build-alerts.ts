// The post-build workflow's activities (workflows/build-alerts.ts): a failed build's alerts with
// their Temporal UI links (only the worker knows the UI's address), and anomaly detection over the
// build's recorded executions with the alerts of what it flagged. Thin: the alerts are built in
// src/monitoring/build-alerts.ts, detection lives in src/monitoring/build-anomalies.ts.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureTypes } from '../src/contracts/status.js';
import type { Alert } from '../src/monitoring/alerts.js';
import { buildFailureAlerts, type BuildAlertsInput } from '../src/monitoring/build-alerts.js';
import { detectBuildAnomalies as detectInStore } from '../src/monitoring/build-anomalies.js';
import { anomalyAlert } from '../src/monitoring/check-alerts.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

/** The alerts of a failed build (none for one that passed), linked to the Temporal UI of this workflow's namespace. */
export async function prepareBuildAlerts(deps: ActivityDeps, input: BuildAlertsInput): Promise<Alert[]> {
  return buildFailureAlerts(input, { uiUrl: deps.uiUrl, namespace: Context.current().info.namespace });
}

export interface DetectBuildAnomaliesInput {
  /** The build's root execution key (recording's buildExecutionKey). */
  buildExecutionKey: string;
  /** The moment judged (ISO), fixed by the workflow: every attempt judges the same baseline. */
  asOf: string;
}

export interface DetectBuildAnomaliesResult {
  /** False without a metadata database: nothing was recorded, so nothing to judge. */
  recorded: boolean;
  checked: number;
  detected: number;
  alerts: Alert[];
}

export async function detectBuildAnomalies(deps: ActivityDeps, input: DetectBuildAnomaliesInput): Promise<DetectBuildAnomaliesResult> {
  const now = new Date(input.asOf);
  if (Number.isNaN(now.getTime())) throw ApplicationFailure.nonRetryable(`asOf: not a time: ${JSON.stringify(input.asOf)}`, FailureTypes.invalidInput);
  if (!deps.store) return { recorded: false, checked: 0, detected: 0, alerts: [] };
  let done = 0;
  const stop = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ detected: done }));
  try {
    const found = await detectInStore(deps.store, input.buildExecutionKey, now, () => void done++);
    return { recorded: true, checked: found.checked, detected: found.detected, alerts: found.anomalies.map((a) => anomalyAlert(a, input.asOf)) };
  } finally {
    stop();
  }
}
