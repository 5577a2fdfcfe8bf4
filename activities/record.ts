// Recording activities: thin wrappers over the store. They never fail a build: when Postgres
// is unreachable they throw a retryable error and Temporal retries them with backoff until it
// answers; anything else is a non-retryable RecordingError the producer logs and moves past.
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { AddressSpec } from '../src/contracts/messages.js';
import type { NodeConfig } from '../src/contracts/node-config.js';
import { FailureTypes } from '../src/contracts/status.js';
import { logFinishedLate, timelinessSettingsOf, type TimelinessSettings } from '../src/monitoring/timeliness.js';
import { buildExecutionKey, type ExecutionRecord } from '../src/recording/records.js';
import { isTransientDbError, withTransaction } from '../src/store/db.js';
import { endAbandonedBuild, ParentNotRecordedError, recordExecutions as storeExecutions } from '../src/store/executions.js';
import { syncLineage, type PipelineLineage } from '../src/store/lineage.js';
import { createDefaultAnomalyRules, DBT_DEFAULT_ANOMALY_METRICS, setNextWatermark, syncPipelines, takeWatermark } from '../src/store/pipelines.js';
import type { ActivityDeps } from './deps.js';

function classify(err: unknown): never {
  if (isTransientDbError(err) || err instanceof ParentNotRecordedError) throw err;
  throw ApplicationFailure.nonRetryable(`recording failed: ${err instanceof Error ? err.message : String(err)}`, FailureTypes.recording);
}

export interface RecordBuildStartInput {
  root: ExecutionRecord;
  nextWatermark?: string;
  nodePipelines: Array<{ name: string; type: string; config?: NodeConfig }>;
  /** Each node pipeline's lineage by address name; `addresses` holds each address once. */
  lineage: { addresses: Record<string, AddressSpec>; pipelines: Array<{ pipelineName: string; pipelineType: string; sources: string[]; targets: string[] }> };
}

export interface RecordBuildStartResult {
  recorded: boolean;
  /** The build pipeline's watermark before this run (for `(watermark, next_watermark]`). */
  watermark: string | null;
  pipelinesWritten: number;
  lineageChanged: number;
  /** The build pipeline's timeliness thresholds (its own, its type's), null when none or muted: the build's timer. */
  timeliness?: TimelinessSettings | null;
}

export async function recordBuildStart(deps: ActivityDeps, input: RecordBuildStartInput): Promise<RecordBuildStartResult> {
  const store = deps.store;
  if (!store) return { recorded: false, watermark: null, pipelinesWritten: 0, lineageChanged: 0 };
  try {
    const { watermark, written, timeliness } = await withTransaction(store, async (client) => {
      // A node without settings still gets its config synced (to the defaults): config as code.
      const synced = await syncPipelines(client, [
        { name: input.root.pipeline.name, type: input.root.pipeline.type, config: {} },
        ...input.nodePipelines.map((p) => ({ ...p, config: p.config ?? {} })),
      ]);
      // Node pipelines get the default anomaly rules they lack (never touching a user's rule).
      if (deps.dbtDefaultAnomalyRules !== false) {
        await createDefaultAnomalyRules(client, input.nodePipelines.map((p) => synced.ids.get(p.name)!), DBT_DEFAULT_ANOMALY_METRICS);
      }
      const current = await setNextWatermark(client, synced.ids.get(input.root.pipeline.name)!, input.nextWatermark);
      await storeExecutions(client, [{ ...input.root, watermark: current ?? undefined, nextWatermark: input.nextWatermark }]);
      const timeliness = await timelinessSettingsOf(client, input.root.pipeline);
      return { watermark: current, written: synced.written.length, timeliness };
    });
    const { addresses, pipelines } = input.lineage;
    const expanded: PipelineLineage[] = pipelines.map((p) => ({
      ...p,
      sources: p.sources.map((n) => addresses[n]!),
      targets: p.targets.map((n) => addresses[n]!),
    }));
    const lineage = await withTransaction(store, (client) => syncLineage(client, expanded));
    return { recorded: true, watermark, pipelinesWritten: written, lineageChanged: lineage.changedPipelines.length, timeliness };
  } catch (err) {
    return classify(err);
  }
}

export interface TakeBuildWatermarkInput {
  /** The build's root execution (recorded by recordBuildStart). */
  executionKey: string;
  nextWatermark: string;
}

/**
 * Once the build holds its target lock: the watermark its range starts from, read now (a build it
 * queued behind has promoted its own by then) and recorded on the build's root execution.
 */
export async function takeBuildWatermark(deps: ActivityDeps, input: TakeBuildWatermarkInput): Promise<{ watermark: string | null }> {
  const store = deps.store;
  if (!store) throw ApplicationFailure.nonRetryable('no metadata database is configured (DATABASE_URL)', FailureTypes.recording);
  let taken;
  try {
    taken = await withTransaction(store, (client) => takeWatermark(client, input.executionKey, input.nextWatermark));
  } catch (err) {
    return classify(err);
  }
  if (!taken) throw ApplicationFailure.nonRetryable(`the build's execution ${input.executionKey} is not recorded`, FailureTypes.recording);
  return taken;
}

/**
 * A timer's thresholds for one pipeline when its execution starts (the consumer's local activity):
 * what the check judges by, so a muted pipeline or type never alerts. No store: the node's own
 * `meta.watcher` settings.
 */
export async function timelinessOf(
  deps: ActivityDeps,
  pipeline: Parameters<typeof timelinessSettingsOf>[1],
): Promise<TimelinessSettings | null> {
  if (!deps.store) {
    const own = pipeline.fallback?.timeliness;
    return own && !pipeline.fallback?.muted ? { own, type: { number: null, datepart: null } } : null;
  }
  return timelinessSettingsOf(deps.store, pipeline);
}

export async function recordExecutions(deps: ActivityDeps, input: { records: ExecutionRecord[] }): Promise<{ recorded: boolean; written: number }> {
  const store = deps.store;
  if (!store) return { recorded: false, written: 0 };
  try {
    const result = await withTransaction(store, async (client) => {
      const stored = await storeExecutions(client, input.records);
      // Ends watched by a timer: a late success is logged now, once (the alert was its workflow's).
      const watched = input.records.filter((r) => r.timelinessWatched && r.endDate).map((r) => stored.ids.get(r.key)!);
      await logFinishedLate(client, watched);
      return stored;
    });
    return { recorded: true, written: result.written };
  } catch (err) {
    return classify(err);
  }
}

/**
 * A build closed without releasing its target (terminated, timed out): its records would stay
 * `running` forever. Ends them with Temporal's close time and what Temporal says happened.
 */
export async function reconcileClosedBuild(deps: ActivityDeps, input: { buildWorkflowId: string }): Promise<{ ended: number; status?: string }> {
  const store = deps.store;
  if (!store) return { ended: 0 };
  let description;
  try {
    description = await deps.client.workflow.getHandle(input.buildWorkflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { ended: 0 };
    throw err;
  }
  const workflowStatus = description.status.name;
  if (workflowStatus === 'RUNNING' || workflowStatus === 'COMPLETED' || workflowStatus === 'CONTINUED_AS_NEW') return { ended: 0, status: workflowStatus };
  const status = workflowStatus === 'TERMINATED' || workflowStatus === 'CANCELLED' ? 'canceled' : 'error';
  const key = buildExecutionKey(input.buildWorkflowId, description.runId);
  try {
    const ended = await withTransaction(store, (client) => endAbandonedBuild(client, key, status, description.closeTime ?? new Date(), `workflow ${workflowStatus.toLowerCase()}`));
    return { ended, status: workflowStatus };
  } catch (err) {
    classify(err);
  }
}
