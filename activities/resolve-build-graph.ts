// Resolve the build's selected graph once, with dbt's own selection (`dbt ls`) and manifest.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import path from 'node:path';
import { planBuild } from '../src/build/plan.js';
import type { BuildInput } from '../src/contracts/build-input.js';
import type { BuildPlan } from '../src/contracts/messages.js';
import { jsonBytes, MAX_PLAN_BYTES, planTooLargeMessage } from '../src/contracts/payload-size.js';
import { FailureTypes } from '../src/contracts/status.js';
import { readManifest } from '../src/dbt/artifacts.js';
import { listArgs } from '../src/dbt/command.js';
import { DbtRun } from '../src/dbt/dbt-run.js';
import { uniqueIdOfListLine } from '../src/dbt/events.js';
import { buildWorkflowId } from '../src/contracts/names.js';
import { DEFAULT_KEEP_BUILD_DIRS, prepareInvocationPaths, pruneBuildWorkDirs, RESOLVE_INVOCATION } from '../src/dbt/invocation.js';
import { targetKeyOf } from '../src/dbt/target-key.js';
import { assertProjectDir, dbtRunFailure } from './dbt-failures.js';
import type { ActivityDeps } from './deps.js';
import { keepHeartbeating } from './heartbeat.js';

export interface ResolveBuildGraphInput {
  buildId: string;
  input: BuildInput;
}

export async function resolveBuildGraph(deps: ActivityDeps, { buildId, input }: ResolveBuildGraphInput): Promise<BuildPlan> {
  assertProjectDir(input.projectDir);
  const paths = await prepareInvocationPaths(input.projectDir, buildId, RESOLVE_INVOCATION);
  await pruneBuildDirs(deps, input.projectDir, buildId);
  // Every line of `dbt ls` is one selected node: none may be dropped, however many.
  const selected = new Set<string>();
  const onPlainLine = (line: string) => {
    const uniqueId = uniqueIdOfListLine(line);
    if (uniqueId) selected.add(uniqueId);
  };
  const run = DbtRun.start({ dbtBin: deps.dbtBin, args: listArgs(input, paths), cwd: input.projectDir, env: deps.dbtEnv, paths, onPlainLine });
  const outcome = await run.wait({
    signal: Context.current().cancellationSignal,
    stopGraceMs: deps.stopGraceMs,
    heartbeat: () => keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'dbt ls' })),
  });
  // The selection is whole only if `dbt ls` succeeded: exit 0 and nothing else.
  if (outcome.kind !== 'ok') throw dbtRunFailure(outcome);

  const manifest = await readManifest(paths.targetPath);
  if (!manifest) throw new Error(`dbt ls did not write ${path.join(paths.targetPath, 'manifest.json')}`);
  const plan: BuildPlan = { ...planBuild(manifest, selected), targetKey: targetKeyOf(input) };
  // A plan over Temporal's payload limit would fail the build's workflow task again and again: refuse it, saying why.
  const maxBytes = deps.maxPlanBytes ?? MAX_PLAN_BYTES;
  const bytes = jsonBytes(plan);
  if (bytes > maxBytes) throw ApplicationFailure.nonRetryable(planTooLargeMessage(plan.nodes.length, bytes, maxBytes), FailureTypes.planTooLarge);
  return plan;
}

/**
 * Each build, as it starts, removes the oldest build work dirs of its project past
 * deps.keepBuildDirs, never one whose build Temporal does not say is closed. Cleaning up never
 * fails a build: a problem is logged, and the next build tries again.
 */
async function pruneBuildDirs(deps: ActivityDeps, projectDir: string, buildId: string): Promise<void> {
  const isOpen = async (id: string) => {
    if (id === buildId) return true;
    try {
      return (await deps.client.workflow.getHandle(buildWorkflowId(id)).describe()).status.name === 'RUNNING';
    } catch (err) {
      return !(err instanceof WorkflowNotFoundError); // unknown: keep it
    }
  };
  // One describe per dir past the limit: many after an upgrade, so heartbeat meanwhile.
  const stopHeartbeats = keepHeartbeating(deps.heartbeatIntervalMs, () => ({ phase: 'remove old build dirs' }));
  try {
    await pruneBuildWorkDirs(projectDir, deps.keepBuildDirs ?? DEFAULT_KEEP_BUILD_DIRS, isOpen);
  } catch (err) {
    console.error(`watcher: build ${buildId}: could not remove old build dirs of ${projectDir}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    stopHeartbeats();
  }
}
