// Workflow entry point for the worker's bundle: deterministic workflow code only.
export { dbtBuild } from './dbt-build.js';
export { dbtNode } from './dbt-node.js';
export { dbtTargetGuard } from './target-guard.js';
export { dbtNodeGroup } from './dbt-node-group.js';
export { dbtBuildAlerts } from './build-alerts.js';
export { anomalyAlerts, failureRateCheck, freshnessCheck, logCleanup, timelinessCheck } from './monitoring.js';
export { deliverAlerts } from './send-alerts.js';
