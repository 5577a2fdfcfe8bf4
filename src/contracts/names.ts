// Names that are contracts: tests, docs, the Temporal CLI and users rely on them.
// Imported by workflow code, so this module must stay free of Node built-ins.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BUILD_WORKFLOW_TYPE = 'dbtBuild';
export const NODE_WORKFLOW_TYPE = 'dbtNode';
/** Starts and watches up to `groupSize` consumers of a build (shards big builds). */
export const NODE_GROUP_WORKFLOW_TYPE = 'dbtNodeGroup';
/** Holds a (project, target) while one build writes to it: see the README's overlap policy. */
export const TARGET_GUARD_WORKFLOW_TYPE = 'dbtTargetGuard';
/** After a build: its failure alerts and anomaly detection (see workflows/build-alerts.ts). */
export const BUILD_ALERTS_WORKFLOW_TYPE = 'dbtBuildAlerts';
export const DEFAULT_TASK_QUEUE = 'watcher';
export const DEFAULT_NAMESPACE = 'default';

/** Workflow ID of a build's producer. */
export function buildWorkflowId(buildId: string): string {
  return `watcher/${buildId}`;
}

/** Workflow ID of the consumer of one dbt node in one build. */
export function nodeWorkflowId(buildId: string, uniqueId: string): string {
  return `watcher/${buildId}/${uniqueId}`;
}

/** Workflow ID of a build's node group `n` (1-based); unique_ids always contain a dot, so no clash. */
export function nodeGroupWorkflowId(buildId: string, n: number): string {
  return `${nodeGroupWorkflowIdPrefix(buildId)}${n}`;
}

/** What every node group's workflow ID of a build starts with. */
export function nodeGroupWorkflowIdPrefix(buildId: string): string {
  return `watcher/${buildId}/group-`;
}

/** Workflow ID of the alerts a build found about its sources, delivered apart from it (no dot: no clash with unique_ids). */
export function sourceFreshnessAlertsWorkflowId(buildId: string): string {
  return `watcher/${buildId}/source-freshness-alerts`;
}

/** Workflow ID of a build's post-build workflow (alerts, anomaly detection): one per producer run. */
export function buildAlertsWorkflowId(buildId: string, runId: string): string {
  return `watcher-alerts/${buildId}/${runId}`;
}

/** Workflow ID of the guard of one (project, target): at most one build holds it. */
export function targetGuardWorkflowId(targetKey: string): string {
  return `watcher-lock/${targetKey}`;
}

/**
 * Workflow ID of the child that delivers one alert raised by a build's or node's own workflow
 * (its idempotency key names the event): a second start for the same event finds it started.
 */
export function alertWorkflowId(idempotencyKey: string): string {
  return `watcher-alert/${idempotencyKey}`;
}

/**
 * A build ID must be safe in workflow IDs, file paths and visibility queries: letters, digits
 * and `. _ -`. The one exception is the suffix a Temporal Schedule appends to the workflow ID of
 * each build it starts (`-` and the nominal time in RFC 3339, e.g. `-2026-12-02T02:00:00Z`), so
 * that a scheduled build's ID is still its workflow ID without `watcher/`: colons appear only
 * there, never anywhere a user picks them.
 */
export const BUILD_ID_PATTERN = /^(?=.{1,100}$)[A-Za-z0-9][A-Za-z0-9._-]*(?:-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)?$/;

/** ID of the Temporal Schedule named `name` (the UI lists it under Schedules). */
export function scheduleId(name: string): string {
  return `${SCHEDULE_ID_PREFIX}${name}`;
}
export const SCHEDULE_ID_PREFIX = 'watcher-schedule/';

/**
 * The workflow ID a schedule's action names: Temporal appends `-<nominal time>` to it, so its
 * builds are `watcher/<name>-2026-12-02T02:00:00Z` and their build ID is what follows `watcher/`.
 */
export function scheduledBuildWorkflowIdBase(name: string): string {
  return buildWorkflowId(name);
}

export const SearchAttributes = {
  buildId: defineSearchAttributeKey('WatcherBuildId', SearchAttributeType.KEYWORD),
  uniqueId: defineSearchAttributeKey('DbtUniqueId', SearchAttributeType.KEYWORD),
  resourceType: defineSearchAttributeKey('DbtResourceType', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('DbtStatus', SearchAttributeType.KEYWORD),
  /** The schedule that started a build (Temporal's own `TemporalScheduledById` holds its schedule ID). */
  schedule: defineSearchAttributeKey('WatcherSchedule', SearchAttributeType.KEYWORD),
} as const;

/** Every search attribute Watcher needs, as `Name=Type` for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_DEFINITIONS: ReadonlyArray<{ name: string; type: 'Keyword' }> = Object.values(
  SearchAttributes,
).map((key) => ({ name: key.name, type: 'Keyword' as const }));
