// `watcher build` and `watcher status`: start a build, follow it live, print the per-node table.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BuildInputRaw } from '../contracts/build-input.js';
import { progressQuery, type BuildProgress } from '../contracts/messages.js';
import { buildWorkflowId } from '../contracts/names.js';
import { InvalidInputError } from '../contracts/validation.js';
import { startBuild, waitForBuild } from '../client.js';
import type { WatcherConfig } from '../config.js';
import { BuildProgressBar, renderCounts, renderNodeTable } from './render.js';

export function buildNodesUrl(config: Pick<WatcherConfig, 'uiUrl' | 'namespace'>, buildId: string): string | undefined {
  if (!config.uiUrl) return undefined;
  const query = encodeURIComponent(`WatcherBuildId="${buildId}"`);
  return `${config.uiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows?query=${query}`;
}

/** Show the `progress` query's answers until the build ends. */
async function follow(handle: WorkflowHandle, ended: Promise<unknown>, bar: BuildProgressBar): Promise<void> {
  let done = false;
  void ended.finally(() => (done = true));
  while (!done) {
    try {
      bar.update(await handle.query(progressQuery));
    } catch {
      // not queryable yet (no worker has picked it up) or just closed: try again
    }
    await Promise.race([ended, new Promise((r) => setTimeout(r, 500))]);
  }
}

export interface BuildCommandOptions {
  progress: boolean;
  json: boolean;
  out?: (text: string) => void;
}

/** Exit code: 0 when every node passed, 1 otherwise. */
export async function buildCommand(client: Client, config: WatcherConfig, raw: BuildInputRaw, options: BuildCommandOptions): Promise<number> {
  const out = options.out ?? ((text: string) => console.log(text));
  let started;
  try {
    started = await startBuild(client, raw, { taskQueue: config.taskQueue, trigger: 'cli' });
  } catch (err) {
    if (err instanceof InvalidInputError) {
      console.error(`watcher: ${err.message}`);
      return 1;
    }
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      console.error(`watcher: buildId: build ${raw.buildId ?? ''} already exists (workflow ${err.workflowId}); pick another buildId`);
      return 1;
    }
    throw err;
  }
  const { buildId, handle } = started;
  const url = buildNodesUrl(config, buildId);
  console.error(`watcher: build ${buildId} started (workflow ${buildWorkflowId(buildId)})${url ? `\nwatcher: nodes in the Temporal UI: ${url}` : ''}`);

  const bar = new BuildProgressBar(options.progress && process.stderr.isTTY === true);
  const ended = waitForBuild(handle);
  await follow(handle, ended, bar);
  bar.stop();
  const result = await ended;
  printResult(buildId, result.progress, result.ok, result.error, options.json, out);
  if (url) console.error(`watcher: nodes in the Temporal UI: ${url}`);
  return result.ok ? 0 : 1;
}

export function printResult(
  buildId: string,
  progress: BuildProgress | undefined,
  ok: boolean,
  error: string | undefined,
  json: boolean,
  out: (text: string) => void,
): void {
  if (json) {
    out(JSON.stringify({ buildId, ok, error, progress }, null, 2));
    return;
  }
  if (progress) {
    out(renderNodeTable(progress));
    out(`build ${buildId}: ${progress.phase}; ${progress.nodes.length} nodes: ${renderCounts(progress)}`);
  }
  if (!ok && error) out(`build ${buildId} failed: ${error}`);
}

/** `watcher status <buildId>`: the build's current (or final) per-node status. Exit code as for build. */
export async function statusCommand(client: Client, buildId: string, json: boolean): Promise<number> {
  const handle = client.workflow.getHandle(buildWorkflowId(buildId));
  const description = await handle.describe();
  const running = description.status.name === 'RUNNING';
  let progress: BuildProgress | undefined;
  let error: string | undefined;
  let ok = false;
  if (running) {
    progress = await handle.query(progressQuery);
  } else {
    const result = await waitForBuild(handle);
    progress = result.progress;
    error = result.error;
    ok = result.ok;
  }
  printResult(buildId, progress, ok || running, error, json, (t) => console.log(t));
  if (running) return 0;
  return ok ? 0 : 1;
}

/** `watcher cancel <buildId>`: request cancellation; by default wait until the build has closed. */
export async function cancelCommand(client: Client, buildId: string, wait: boolean): Promise<number> {
  const handle = client.workflow.getHandle(buildWorkflowId(buildId));
  const requested = Date.now();
  await handle.cancel();
  console.error(`watcher: cancellation of build ${buildId} requested`);
  if (!wait) return 0;
  await handle.result().catch(() => undefined);
  const { status } = await handle.describe();
  console.log(`build ${buildId}: ${status.name.toLowerCase()} after ${((Date.now() - requested) / 1000).toFixed(1)} s`);
  return status.name === 'CANCELLED' ? 0 : 1;
}
