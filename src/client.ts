// Drive Watcher from TypeScript: start a build, follow it, read its per-node summary.
import { ActivityFailure, ChildWorkflowFailure, Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { parseBuildInput, type BuildInput, type BuildInputRaw } from './contracts/build-input.js';
import { progressQuery, type BuildProgress } from './contracts/messages.js';
import { BUILD_WORKFLOW_TYPE, buildWorkflowId, SearchAttributes } from './contracts/names.js';
import { buildProgressOfFailure } from './contracts/status.js';
import { triggerMemo, type BuildTrigger } from './contracts/trigger.js';
import { connectionOptions, type WatcherConfig } from './config.js';

export interface WatcherClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectClient(config: WatcherConfig): Promise<WatcherClient> {
  const connection = await Connection.connect({ ...connectionOptions(config), connectTimeout: 10_000 });
  return { client: new Client({ connection, namespace: config.namespace }), close: () => connection.close() };
}

/** A short, sortable, readable build ID. */
export function newBuildId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Validate the input here, at the edge (a bad input never starts anything), then start
 * `dbtBuild` as `watcher/<buildId>`. `trigger` (what started it: the CLI, the HTTP API) goes in
 * its memo and so on its recorded root execution.
 */
export async function startBuild(
  client: Client,
  raw: BuildInputRaw,
  options: { taskQueue: string; trigger?: BuildTrigger },
): Promise<{ buildId: string; input: BuildInput; handle: WorkflowHandle }> {
  const withId = { ...raw, buildId: raw.buildId ?? newBuildId() };
  const input = parseBuildInput(withId);
  const buildId = input.buildId!;
  const handle = await client.workflow.start(BUILD_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue,
    workflowId: buildWorkflowId(buildId),
    // A build id names one build, ever (within the namespace's retention): a reused one would
    // have its reports meet the earlier build's closed consumers of the same ids.
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    args: [withId],
    ...(options.trigger !== undefined ? { memo: triggerMemo(options.trigger) } : {}),
    typedSearchAttributes: [
      { key: SearchAttributes.buildId, value: buildId },
      { key: SearchAttributes.resourceType, value: 'build' },
      { key: SearchAttributes.status, value: 'running' },
    ],
    staticSummary: `dbt build ${input.projectDir.split('/').pop()}${input.select ? ` --select ${input.select.join(' ')}` : ''}`,
  });
  return { buildId, input, handle };
}

export interface BuildResult {
  ok: boolean;
  progress?: BuildProgress;
  /** Why the build failed, when it failed before a per-node summary existed. */
  error?: string;
}

/** Wait for a build to end; its per-node summary comes back on success and on failure alike. */
export async function waitForBuild(handle: WorkflowHandle): Promise<BuildResult> {
  try {
    return { ok: true, progress: (await handle.result()) as BuildProgress };
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const cause = err.cause;
      return { ok: false, progress: buildProgressOfFailure(cause), error: (cause && reasonOf(cause)) ?? err.message };
    }
    throw err;
  }
}

/** A failed activity or child says only that it failed ("Activity task failed"): its cause says why. */
function reasonOf(failure: Error): string {
  let reason: Error = failure;
  while ((reason instanceof ActivityFailure || reason instanceof ChildWorkflowFailure) && reason.cause) reason = reason.cause;
  return reason.message;
}

export async function queryProgress(client: Client, buildId: string): Promise<BuildProgress> {
  return client.workflow.getHandle(buildWorkflowId(buildId)).query(progressQuery);
}
