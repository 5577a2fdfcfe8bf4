// The worker's activities, bound to their dependencies. Workflows import the *type* only.
import type { ActivityDeps } from './deps.js';
import { cleanupLogs, runCheck } from './checks.js';
import { sendAlerts } from './alerts.js';
import { detectBuildAnomalies, prepareBuildAlerts } from './build-alerts.js';
import { notifyConsumers, waitForConsumers, waitForWorkflowClose } from './consumers.js';
import { reconcileClosedBuild, recordBuildStart, recordExecutions, takeBuildWatermark, timelinessOf } from './record.js';
import { rerunNode } from './rerun-node.js';
import { resolveBuildGraph } from './resolve-build-graph.js';
import { runBuild } from './run-build.js';
import { checkSourceFreshness } from './source-freshness.js';

export function createActivities(deps: ActivityDeps) {
  return {
    resolveBuildGraph: resolveBuildGraph.bind(null, deps),
    runBuild: runBuild.bind(null, deps),
    checkSourceFreshness: checkSourceFreshness.bind(null, deps),
    rerunNode: rerunNode.bind(null, deps),
    notifyConsumers: notifyConsumers.bind(null, deps),
    waitForConsumers: waitForConsumers.bind(null, deps),
    waitForWorkflowClose: waitForWorkflowClose.bind(null, deps),
    recordBuildStart: recordBuildStart.bind(null, deps),
    reconcileClosedBuild: reconcileClosedBuild.bind(null, deps),
    recordExecutions: recordExecutions.bind(null, deps),
    takeBuildWatermark: takeBuildWatermark.bind(null, deps),
    timelinessOf: timelinessOf.bind(null, deps),
    runCheck: runCheck.bind(null, deps),
    cleanupLogs: cleanupLogs.bind(null, deps),
    sendAlerts: sendAlerts.bind(null, deps),
    prepareBuildAlerts: prepareBuildAlerts.bind(null, deps),
    detectBuildAnomalies: detectBuildAnomalies.bind(null, deps),
  };
}

export type WatcherActivities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps.js';
export type { ResolveBuildGraphInput } from './resolve-build-graph.js';
export type { RunBuildInput, RunBuildResult } from './run-build.js';
export type { CheckSourceFreshnessInput, SourceFreshnessCheck } from './source-freshness.js';
export type { RerunNodeInput, RerunNodeResult } from './rerun-node.js';
export type { NotifyConsumersInput, UpstreamOutcome } from './consumers.js';
export type { RecordBuildStartInput, RecordBuildStartResult, TakeBuildWatermarkInput } from './record.js';
export type { SendAlertsResult } from './alerts.js';
export type { DetectBuildAnomaliesInput, DetectBuildAnomaliesResult } from './build-alerts.js';
